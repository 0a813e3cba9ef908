//! Exercise 08's client, given complete: the notes' select client, to try
//! your server with. It opens two sockets and sends a message in three
//! parts, each part on both sockets, then reads each socket's reply.
//!
//! ```text
//! cargo run -p exercise-08-select-server --bin exercise-08-client
//! cargo run -p exercise-08-select-server --bin exercise-08-client -- --sockets 5 "hello " world
//! ```

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use exercise_08_select_server::DEFAULT_ADDR;

/// The notes' message, in three parts.
const PARTS: [&str; 3] = ["This is the message. ", "It will be sent ", "in parts."];

/// How long to wait for a reply before giving up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends a message in parts on several sockets and prints each reply.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server's address.
    #[arg(long, default_value = DEFAULT_ADDR)]
    connect: String,
    /// How many sockets to open.
    #[arg(long, default_value_t = 2)]
    sockets: usize,
    /// The parts of the message (default: the notes' three parts).
    parts: Vec<String>,
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.parts.is_empty() {
        args.parts = PARTS.iter().map(|part| part.to_string()).collect();
    }
    support::exit(run(&args))
}

fn run(args: &Args) -> anyhow::Result<()> {
    println!("connecting {} sockets to {}", args.sockets, args.connect);
    let mut sockets = Vec::new();
    for _ in 0..args.sockets {
        let stream = TcpStream::connect(&args.connect).with_context(|| {
            format!(
                "cannot connect to {} (is your server running?)",
                args.connect
            )
        })?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        sockets.push((stream.local_addr()?, stream));
    }
    for part in &args.parts {
        for (me, stream) in &mut sockets {
            println!("{me}: sending \"{}\"", part.escape_debug());
            stream.write_all(part.as_bytes())?;
        }
        for (me, stream) in &mut sockets {
            let reply = read_reply(stream, part.len())
                .with_context(|| format!("{me}: waiting for the reply"))?;
            println!("{me}: received \"{}\"", reply.escape_ascii());
            if reply.len() < part.len() {
                bail!("{me}: the server closed the connection");
            }
        }
    }
    println!("closing {} sockets", args.sockets);
    Ok(())
}

/// Reads until `len` bytes came (a reply is as long as its message) or the
/// server closes the connection: TCP may deliver one reply in pieces.
fn read_reply(stream: &mut TcpStream, len: usize) -> io::Result<Vec<u8>> {
    let mut reply = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match stream.read(&mut reply[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            // The read timeout ran out (Linux says WouldBlock, others TimedOut).
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no reply within {} s", REPLY_TIMEOUT.as_secs()),
                ));
            }
            Err(error) => return Err(error),
        }
    }
    reply.truncate(got);
    Ok(reply)
}
