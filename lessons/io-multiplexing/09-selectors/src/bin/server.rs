//! The mio echo server: `just run lesson-09` listens on 127.0.0.1:10000 and
//! sends every byte back.
//!
//! ```text
//! just run lesson-09                                # prints each connection and echo
//! just run lesson-09 --listen 127.0.0.1:0 --quiet   # any free port, prints only that
//! ```
//!
//! Try it with `nc 127.0.0.1 10000`, or with lesson 08's client:
//! `just run lesson-08 client` (its replies come back unchanged here).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lesson_09_selectors::{DEFAULT_ADDR, Verbosity, echo_server};
use support::fdlimit::{self, Raised};

/// A mio echo server where each registration carries its callback (accept, echo).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to listen (port 0: any free port; the first line says which).
    #[arg(long, default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
    /// Print only the `listening on` line and errors.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: main
fn run(args: Args) -> anyhow::Result<()> {
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let listener = support::net::bind(args.listen, support::net::BACKLOG)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    // Every connection is a descriptor: take all the hard limit allows (as
    // Redis does), so ten thousand clients fit where the soft limit is 1,024.
    let raised = fdlimit::raise_to_hard(1 << 20);
    let addr = listener.local_addr()?;
    let mut selector = echo_server(listener, verbosity)?;
    println!("listening on {addr}");
    match raised {
        Ok(raised @ Raised::Raised { .. }) => println!("{raised}"),
        Ok(Raised::AlreadyEnough(_)) => {}
        Err(error) => println!("note: {error}"),
    }
    std::io::stdout().flush()?;
    selector.run().context("the event loop failed")
}
// ANCHOR_END: main
