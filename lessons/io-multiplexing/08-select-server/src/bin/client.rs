//! The notes' select client: two sockets, one message sent in three parts,
//! each reply printed per socket.
//!
//! ```text
//! just run lesson-08 client                       # to 127.0.0.1:10000
//! just run lesson-08 client --sockets 5 "hello " "world"
//! ```

use std::process::ExitCode;

use clap::Parser;
use lesson_08_select_server::{DEFAULT_ADDR, NOTES_MESSAGES, run_client};

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
    messages: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let messages = if args.messages.is_empty() {
        NOTES_MESSAGES.iter().map(|m| m.to_string()).collect()
    } else {
        args.messages
    };
    support::exit(run_client(
        &args.connect,
        args.sockets,
        &messages,
        &mut std::io::stdout(),
    ))
}
