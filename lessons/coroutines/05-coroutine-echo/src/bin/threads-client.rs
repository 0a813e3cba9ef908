//! The notes' client: N OS threads (100 by default), each with its own
//! blocking socket to the echo server, each printing its thread id with
//! what it sent and got back.
//!
//! ```text
//! just run lesson-05 server            # terminal 1
//! just run lesson-05 threads-client    # terminal 2
//! ```
//!
//! Compare its footprint (printed at the end) with the server's, which
//! holds the same connections on one worker thread.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use lesson_05_coroutine_echo::{DEFAULT_ADDR, threads};

/// A hundred OS threads, a blocking connection each: the notes' client.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The echo server's address.
    #[arg(long, default_value = DEFAULT_ADDR)]
    server: SocketAddr,
    /// How many threads (one connection each).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    threads: u32,
}

fn main() -> ExitCode {
    // `... | head` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    support::exit(run(Args::parse()))
}

/// Runs the threads and says whether every echo came back exactly.
fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    let count = args.threads as usize;
    // One descriptor per connection, plus a few for stdio.
    support::fdlimit::raise_to(count as u64 + 32)
        .map_err(|error| format!("{count} threads need {} open files: {error}", count + 32))?;
    let printed = |echo: &threads::Echo| {
        let verdict = if echo.got == echo.sent {
            "ok"
        } else {
            "MISMATCH"
        };
        println!(
            "thread {}: sent {:?}, got {:?} {verdict}",
            echo.thread, echo.sent, echo.got
        );
    };
    let (echoes, footprint) = threads::run(args.server, count, printed)?;
    let matched = echoes.iter().filter(|e| e.got == e.sent).count();
    println!();
    println!("{count} threads, {matched} of {count} echoes matched.");
    println!(
        "This client, with all {count} connections open: {} threads, {:.1} MiB of \
         address space reserved (stacks, per-thread malloc arenas), {:.1} MiB resident.",
        footprint.threads,
        footprint.virtual_kib as f64 / 1024.0,
        footprint.resident_kib as f64 / 1024.0
    );
    Ok(if matched == count {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
