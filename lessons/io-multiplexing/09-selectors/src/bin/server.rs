//! The mio echo server: `just run lesson-09` listens on 127.0.0.1:10000 and
//! sends every byte back.
//!
//! ```text
//! just run lesson-09                                # prints the address it listens on
//! just run lesson-09 --verbose                      # and each connection and echo
//! just run lesson-09 --listen 127.0.0.1:0           # any free port: the first line says which
//! ```
//!
//! Try it with `nc 127.0.0.1 10000`, or with lesson 08's client:
//! `just run lesson-08 client` (its replies come back unchanged here).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lesson_09_selectors::{DEFAULT_ADDR, echo_server};
use support::fdlimit::{self, Raised};

/// A mio echo server where each registration carries its callback (accept, echo).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to listen (port 0: any free port; the first line says which).
    #[arg(long, default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
    /// Show every connection and every echo, as the notes' server prints
    /// them (slow under load).
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    support::exit(run(Args::parse()))
}

// ANCHOR: main
fn run(args: Args) -> anyhow::Result<()> {
    support::cli::show_events(args.verbose);
    let listener = support::net::bind(args.listen, support::net::BACKLOG)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    // Every connection is a descriptor: take all the hard limit allows (as
    // Redis does), so ten thousand clients fit where the soft limit is 1,024.
    let raised = fdlimit::raise_to_hard(1 << 20);
    let addr = listener.local_addr()?;
    let mut selector = echo_server(listener)?;
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
