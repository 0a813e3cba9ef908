//! The slow local web server: `just run lesson-04 delay-server`.
//!
//! Then, in another terminal:
//! `curl http://127.0.0.1:8004/delay/800/bytes/200000 | wc -c`, or
//! `just run lesson-04 fetch http://127.0.0.1:8004/delay/800/bytes/200000`.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lesson_04_io_switch::delay_server::serve;

/// Where the delay server listens unless told otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:8004";

/// An HTTP server that answers GET /delay/MS/bytes/N after MS
/// milliseconds with N bytes.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    support::exit(run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
    // Hints go to stderr: whoever reads our stdout may stop after the
    // first line.
    eprintln!("try: curl http://{addr}/delay/800/bytes/200000 | wc -c");
    serve(listener).context("the server stopped")
}
