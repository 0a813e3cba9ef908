//! Round trips vs pipelines vs MULTI/EXEC, and WATCH: `just run lesson-23`
//! (start Redis first with `just up`).
//!
//! Try `just run lesson-23 --sets 50000`, or `--workers 16` for a rougher
//! race. This runs a debug build: `just bench redis` measures optimised.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Sends the same SETs one by one, pipelined and in a transaction, timing
/// each; then lets clients race to move money between two accounts, with
/// and without WATCH.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// How many SETs to send each way
    #[arg(long, default_value_t = 10_000)]
    sets: usize,
    /// How many clients transfer money at the same time
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// How many transfers each client makes
    #[arg(long, default_value_t = 250)]
    transfers: usize,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    let result = args.redis.client().map_err(Into::into).and_then(|client| {
        support::redis::run_lesson(
            &args.redis,
            &args.keys,
            lesson_23_pipeline::DEFAULT_PREFIX,
            |con, keys| {
                lesson_23_pipeline::notes_transaction(con, keys)?;
                lesson_23_pipeline::compare(con, keys, args.sets)?;
                lesson_23_pipeline::race(con, keys, &client, (args.workers, args.transfers))
            },
        )
    });
    support::exit(result)
}
// ANCHOR_END: main
