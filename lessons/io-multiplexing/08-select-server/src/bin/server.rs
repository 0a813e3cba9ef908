//! The select(2) server: `just run lesson-08 server` listens on
//! 127.0.0.1:10000 and answers every message in upper case.
//!
//! ```text
//! just run lesson-08 server                     # prints each connection and message
//! just run lesson-08 server --verbose           # also each turn of the select loop
//! just run lesson-08 server --listen 127.0.0.1:0 --quiet
//! ```
//!
//! Try it with `just run lesson-08 client`, or by hand with `nc 127.0.0.1 10000`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lesson_08_select_server::{DEFAULT_ADDR, FD_SETSIZE, Server, Verbosity};
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
    /// Also print every turn of the select loop.
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    support::exit(run(Args::parse()))
}

// ANCHOR: main
fn run(args: Args) -> anyhow::Result<()> {
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let listener = support::net::bind(args.listen, support::net::BACKLOG)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    let mut server = Server::new(listener, verbosity)?;
    // Room for a few descriptors past FD_SETSIZE, so that connections
    // beyond select's limit can be accepted and told why they are refused,
    // instead of waiting unanswered in the listen queue.
    let raised = fdlimit::raise_to(FD_SETSIZE as u64 + 64);
    println!("listening on {}", server.local_addr()?);
    match raised {
        Ok(raised @ Raised::Raised { .. }) => {
            println!("{raised}, to refuse connections past select's {FD_SETSIZE} politely")
        }
        Ok(Raised::AlreadyEnough(_)) => {}
        Err(error) => println!("note: {error}"),
    }
    std::io::stdout().flush()?;
    server.run().context("the select loop failed")
}
// ANCHOR_END: main
