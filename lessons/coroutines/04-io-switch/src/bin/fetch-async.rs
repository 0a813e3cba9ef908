//! The same downloads one by one, then all at once, as tokio tasks with
//! reqwest: `just run lesson-04 fetch-async`.
//!
//! With no URLs it fetches three pages from a delay server it starts
//! itself, so it works offline. Real URLs can be given as arguments.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_04_io_switch::tasks::{all_at_once, client, one_by_one};
use lesson_04_io_switch::{Result, summary, urls_or_local_default};

/// Downloads URLs one by one, then concurrently, with tokio and reqwest.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// URLs to fetch (http or https). None: a local delay server's pages.
    urls: Vec<String>,
    /// How long one whole download may take, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = support::cli::positive_millis)]
    timeout_ms: u64,
}

// ANCHOR: main
/// One thread runs every task, as one thread runs every greenlet: the
/// `current_thread` runtime.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // `... | head -2` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    let args = Args::parse();
    // Some URL failed: its row says why, and the exit code says so.
    let verdict = |failed| match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    };
    support::exit(run(args).await.map(verdict))
}

/// Returns how many downloads failed.
async fn run(args: Args) -> Result<usize> {
    let urls = urls_or_local_default(args.urls)?;
    let client = client(Duration::from_millis(args.timeout_ms))?;

    println!("One by one, awaiting each:");
    let sequential = one_by_one(&client, &urls).await;
    println!("At once, one task per URL:");
    let concurrent = all_at_once(&client, &urls).await;

    println!();
    print!("{}", summary(&sequential, &concurrent));
    Ok(sequential.failures() + concurrent.failures())
}
// ANCHOR_END: main
