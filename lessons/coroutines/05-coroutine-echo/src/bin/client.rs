//! An interactive echo client: `just run lesson-05 client`, then type lines.
//!
//! Each line goes to the server and comes back; Ctrl-D (end of input) quits.
//! Input can be piped too: `printf 'hi\nthere\n' | just run lesson-05 client`.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;

use clap::Parser;
use lesson_05_coroutine_echo::{DEFAULT_ADDR, Result};

/// Sends each line you type to the echo server and prints what comes back.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The echo server's address.
    #[arg(long, default_value = DEFAULT_ADDR)]
    server: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    support::exit(run(&args.server))
}

// ANCHOR: run
/// A plain blocking client: it talks to one server, so one thread and
/// ordinary `std::net` are all it needs. Only the server needs coroutines.
fn run(server: &str) -> Result<()> {
    let mut stream = TcpStream::connect(server).map_err(|error| {
        format!(
            "could not connect to {server}: {error}\n  Is the server running? \
             Start it in another terminal with: just run lesson-05 server"
        )
    })?;
    let interactive = io::stdin().is_terminal();
    if interactive {
        eprintln!("connected to {server}; type lines, Ctrl-D to quit");
    }
    let mut stdin = io::stdin().lock();
    let mut line = String::new();
    loop {
        if interactive {
            eprint!(">> ");
        }
        line.clear();
        if stdin.read_line(&mut line)? == 0 {
            break; // end of input
        }
        let message = line.trim_end_matches(['\r', '\n']);
        if message.is_empty() {
            continue; // nothing to send; the notes' client would hang here
        }
        stream.write_all(message.as_bytes())?;
        // The echo can arrive in pieces: read exactly what was sent.
        let mut echo = vec![0u8; message.len()];
        stream.read_exact(&mut echo).map_err(|error| {
            if error.kind() == io::ErrorKind::UnexpectedEof {
                "the server closed the connection".to_string()
            } else {
                format!("reading the echo: {error}")
            }
        })?;
        println!("echo: {}", String::from_utf8_lossy(&echo));
    }
    // Say goodbye properly: the server sees a zero-byte read and finishes.
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}
// ANCHOR_END: run
