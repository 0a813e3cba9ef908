//! Exercise 23's program: `cargo run -p exercise-23-pipeline` (start Redis
//! first with `just up`).
//!
//! It takes the same flags as lesson 23's `pipeline`, so that `just check
//! pipeline` can drive both: try `--sets 1000`, or `--workers 16` for a
//! rougher race.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Sends the same SETs one by one, in a pipeline and in a transaction,
/// timing each; then lets clients race to move money between two accounts,
/// without and with WATCH.
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
    let client = match args.redis.client() {
        Ok(client) => client,
        Err(error) => return support::exit::<(), _>(Err(error)),
    };
    // Claims the prefix, runs the two parts, and deletes every key they
    // made under the prefix at the end.
    let result = support::redis::run_lesson(
        &args.redis,
        &args.keys,
        exercise_23_pipeline::DEFAULT_PREFIX,
        |con, keys| {
            exercise_23_pipeline::compare(con, keys, args.sets)?;
            exercise_23_pipeline::race(con, keys, &client, (args.workers, args.transfers))
        },
    );
    support::exit(result)
}
// ANCHOR_END: main
