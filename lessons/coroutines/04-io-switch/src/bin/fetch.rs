//! The same downloads one by one, then all at once, in may coroutines:
//! `just run lesson-04 fetch`.
//!
//! With no URLs it fetches three pages from a delay server it starts
//! itself, so it works offline. Real URLs can be given:
//! `just run lesson-04 fetch https://www.rust-lang.org/ https://crates.io/`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_04_io_switch::coroutine::{all_at_once, configure, one_by_one};
use lesson_04_io_switch::{Result, summary, urls_or_local_default};

/// Downloads URLs one by one, then concurrently, with may coroutines and a
/// blocking-style HTTP client whose reads switch coroutines.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// URLs to fetch (http or https). None: a local delay server's pages.
    urls: Vec<String>,
    /// Worker threads that run coroutines (gevent has one).
    #[arg(long, default_value_t = 1, value_parser = support::cli::workers)]
    workers: usize,
    /// How long connecting or one read may take, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = support::cli::positive_millis)]
    timeout_ms: u64,
}

// ANCHOR: main
fn main() -> ExitCode {
    // `... | head -2` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    let args = Args::parse();
    configure(args.workers);
    // Some URL failed: its row says why, and the exit code says so.
    let verdict = |failed| match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    };
    support::exit(run(args).map(verdict))
}

/// Returns how many downloads failed.
fn run(args: Args) -> Result<usize> {
    let urls = urls_or_local_default(args.urls)?;
    let timeout = Duration::from_millis(args.timeout_ms);

    println!("One by one, in one coroutine:");
    let sequential = one_by_one(&urls, timeout)?;
    println!("At once, one coroutine per URL:");
    let concurrent = all_at_once(&urls, timeout)?;

    println!();
    print!("{}", summary(&sequential, &concurrent));
    Ok(sequential.failures() + concurrent.failures())
}
// ANCHOR_END: main
