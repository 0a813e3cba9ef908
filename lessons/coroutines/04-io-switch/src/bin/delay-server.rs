//! The slow local web server: `just run lesson-04 delay-server`.
//!
//! Then, in another terminal:
//! `curl http://127.0.0.1:8004/delay/800/bytes/200000 | wc -c`, or
//! `just run lesson-04 fetch http://127.0.0.1:8004/delay/800/bytes/200000`.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

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
    let args = Args::parse();
    let listener = match TcpListener::bind(args.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: {}", support::cli::listen_error(args.listen, &error));
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
    // Hints go to stderr: whoever reads our stdout may stop after the
    // first line.
    eprintln!("try: curl http://{addr}/delay/800/bytes/200000 | wc -c");
    match serve(listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
