//! Many clients at once: `just run lesson-05 stress` opens 100 connections
//! to the echo server, sends 10 messages on each, and checks every echo.
//!
//! Try `--connections 2000 --messages 50` against a server with
//! `--workers 1` and then `--workers 2`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_05_coroutine_echo::stress::{self, StressPlan};
use lesson_05_coroutine_echo::{DEFAULT_ADDR, configure};

/// Opens N connections at once, sends M messages on each, checks every echo
/// byte for byte, and reports round trips per second and latencies.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The echo server's address.
    #[arg(long, default_value = DEFAULT_ADDR)]
    server: SocketAddr,
    /// Connections open at the same time.
    #[arg(long, short = 'c', default_value_t = 100, value_parser = support::cli::at_least_one::<usize>)]
    connections: usize,
    /// Messages sent on each connection, one after another.
    #[arg(long, short = 'm', default_value_t = 10, value_parser = support::cli::at_least_one::<usize>)]
    messages: usize,
    /// Bytes per message.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    size: u32,
    /// Worker threads for the client's coroutines.
    #[arg(long, default_value_t = 1, value_parser = support::cli::workers)]
    workers: usize,
    /// How long one echo may take, in milliseconds, before its connection
    /// counts as failed.
    #[arg(long, default_value_t = 10_000, value_parser = support::cli::positive_millis)]
    timeout_ms: u64,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    configure(args.workers);
    let plan = StressPlan {
        server: args.server,
        connections: args.connections,
        messages: args.messages,
        size: args.size as usize,
        timeout: Duration::from_millis(args.timeout_ms),
    };
    println!(
        "{} connections x {} messages of {} bytes to {}",
        plan.connections, plan.messages, plan.size, plan.server
    );
    let report = stress::run(&plan);
    let expected = plan.connections * plan.messages;
    println!(
        "connected at once: {} of {}",
        report.connected, plan.connections
    );
    println!(
        "echoes matched:    {} of {expected} byte for byte ({} different)",
        report.matched, report.mismatches
    );
    println!(
        "round trips:       {} in {:.3} s = {:.0} per second",
        report.latencies.len(),
        report.elapsed.as_secs_f64(),
        report.round_trips_per_second()
    );
    let micros = |d: Duration| d.as_micros();
    println!(
        "latency (µs):      p50 {}  p90 {}  p99 {}  max {}",
        micros(report.percentile(50.0)),
        micros(report.percentile(90.0)),
        micros(report.percentile(99.0)),
        micros(report.percentile(100.0)),
    );
    for error in report.errors.iter().take(10) {
        eprintln!("error: {error}");
    }
    if report.errors.len() > 10 {
        eprintln!("... and {} more errors", report.errors.len() - 10);
    }
    if report.all_matched() {
        println!("ok: every echo came back exactly");
        ExitCode::SUCCESS
    } else {
        println!("FAILED: not every echo came back exactly");
        ExitCode::FAILURE
    }
}
// ANCHOR_END: main
