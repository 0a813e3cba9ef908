//! Exercise 08's server: once the loop in src/lib.rs is written, it listens
//! on 127.0.0.1:10000 and answers every message in upper case.
//!
//! ```text
//! cargo run -p exercise-08-select-server --bin exercise-08-server
//! cargo run -p exercise-08-select-server --bin exercise-08-server -- --listen 127.0.0.1:0 --quiet
//! ```
//!
//! This file is given: the work is in src/lib.rs. `just check select-server`
//! runs this program on a free port and talks to it.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use exercise_08_select_server::{DEFAULT_ADDR, FD_SETSIZE, Server, Verbosity};
use support::fdlimit::{self, Raised};

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
    /// Also print every turn of the select loop (if your loop does).
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    support::exit(run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let listener = support::net::bind(args.listen, support::net::BACKLOG)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    let mut server = Server::new(listener, verbosity)?;
    // A little room past FD_SETSIZE, so that connections select(2) cannot
    // watch are accepted and told why, instead of waiting unanswered.
    let raised = fdlimit::raise_to(FD_SETSIZE as u64 + 64);
    // The first line, flushed at once: whoever started us may be waiting
    // for it to learn the port.
    println!("listening on {}", server.local_addr()?);
    match raised {
        Ok(raised @ Raised::Raised { .. }) => println!("{raised}"),
        Ok(Raised::AlreadyEnough(_)) => {}
        Err(error) => println!("note: {error}"),
    }
    std::io::stdout().flush()?;
    server.run().context("the select loop failed")
}
