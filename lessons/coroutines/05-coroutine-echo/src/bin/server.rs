//! The coroutine echo server: `just run lesson-05 server`.
//!
//! It prints `listening on ADDR` first (tests and benchmarks pass
//! `--listen 127.0.0.1:0` and read the port back), then serves until
//! Ctrl-C. Add `--verbose` to see every connection and message.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use lesson_05_coroutine_echo::{DEFAULT_ADDR, Log, bind, configure, serve};

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
    /// Print every connection and every message (slow under load).
    #[arg(long)]
    verbose: bool,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    configure(args.workers);
    let listener = match bind(args.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: {}", support::cli::listen_error(args.listen, &error));
            return ExitCode::FAILURE;
        }
    };
    // The first line of output, flushed at once: whoever started us may be
    // waiting for it to learn the port.
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    eprintln!(
        "echo server: {} worker thread(s), one coroutine per connection; Ctrl-C stops it",
        args.workers
    );
    let log = if args.verbose {
        Log::Verbose
    } else {
        Log::Quiet
    };
    match serve(listener, log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: main
