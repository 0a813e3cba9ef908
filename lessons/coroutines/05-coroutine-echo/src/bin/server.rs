//! The coroutine echo server: `just run lesson-05 server`.
//!
//! It prints `listening on ADDR` first (tests and benchmarks pass
//! `--listen 127.0.0.1:0` and read the port back), then serves until
//! Ctrl-C. Add `--verbose` to see every connection and message.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lesson_05_coroutine_echo::{DEFAULT_ADDR, configure, serve};
use support::net::{BACKLOG, bind};

/// An echo server with one coroutine per connection, on one worker thread
/// unless told otherwise.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
    /// Worker threads that run the coroutines.
    #[arg(long, default_value_t = 1, value_parser = support::cli::workers)]
    workers: usize,
    /// Show every connection and every message (slow under load).
    #[arg(long)]
    verbose: bool,
}

// ANCHOR: main
fn main() -> ExitCode {
    support::exit(run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    configure(args.workers);
    support::cli::show_events(args.verbose);
    let listener = bind(args.listen, BACKLOG)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    // The first line of output, flushed at once: whoever started us may be
    // waiting for it to learn the port.
    println!("listening on {}", listener.local_addr()?);
    let _ = std::io::stdout().flush();
    eprintln!(
        "echo server: {} worker thread(s), one coroutine per connection; Ctrl-C stops it",
        args.workers
    );
    serve(listener).context("the server stopped")
}
// ANCHOR_END: main
