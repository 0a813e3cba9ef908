//! The select(2) server: `just run lesson-08 server` listens on
//! 127.0.0.1:10000 and answers every message in upper case.
//!
//! ```text
//! just run lesson-08 server                     # prints each connection and message
//! just run lesson-08 server --verbose           # also each turn of the select loop
//! just run lesson-08 server --listen 127.0.0.1:0 --quiet
//! ```
//!
//! The server reports what it does as `tracing` events; this program
//! prints them, plainly, one a line: `info` (connections, messages) unless
//! `--quiet`, and `debug` (each turn) with `--verbose`.
//!
//! Try it with `just run lesson-08 client`, or by hand with `nc 127.0.0.1 10000`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lesson_08_select_server::{DEFAULT_ADDR, FD_SETSIZE, Server};
use tracing::level_filters::LevelFilter;

/// A select(2) server with a message queue per connection, answering in upper case.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to listen (port 0: any free port; the first line says which).
    #[arg(long, default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
    /// Print only the `listening on` line and errors.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print every turn of the select loop.
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    support::exit(run(Args::parse()))
}

// ANCHOR: main
fn run(args: Args) -> anyhow::Result<()> {
    let level = match (args.quiet, args.verbose) {
        (true, _) => LevelFilter::WARN,
        (_, true) => LevelFilter::DEBUG,
        _ => LevelFilter::INFO,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .init();
    let listener = support::net::bind(args.listen, support::net::BACKLOG)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    let mut server = Server::new(listener)?;
    // Room for a few descriptors past FD_SETSIZE, so that connections
    // beyond select's limit can be accepted and told why they are refused,
    // instead of waiting unanswered in the listen queue.
    let why = format!("to refuse connections past select's {FD_SETSIZE} politely");
    let raised = support::fdlimit::raise_for(FD_SETSIZE as u64 + 64, &why);
    println!("listening on {}", server.local_addr()?);
    if let Some(raised) = raised {
        println!("{raised}");
    }
    std::io::stdout().flush()?;
    server.run().context("the select loop failed")
}
// ANCHOR_END: main
