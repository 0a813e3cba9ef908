//! A known-wrong select-server (the checker self-test puts it in place of
//! lesson 08's `server` program): it answers in upper case, keeps replies
//! in order and holds back a client that never reads (a blocked write stops
//! its reading), so it passes every check about what clients see. But it
//! spawns a thread per client: no select(2), no single loop.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let listen = args
        .iter()
        .position(|arg| arg == "--listen")
        .and_then(|at| args.get(at + 1))
        .map_or("127.0.0.1:10000", String::as_str);
    let listener = TcpListener::bind(listen)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream));
    }
    Ok(())
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        let upper = buffer.to_ascii_uppercase();
        let n = upper.len();
        reader.consume(n);
        writer.write_all(&upper)?;
    }
}
