//! Every sorted-set command of the notes, printed as it runs:
//! `just run lesson-21` (start Redis first with `just up`).
//!
//! `--prefix demo` puts the keys under `demo:`; `--url redis://HOST:PORT/DB`
//! (or `REDIS_URL`) talks to another server.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Redis sorted sets: a leaderboard kept in score order, ranks, ranges by
/// position and by score, combining sets with SUM/MIN/MAX, and walking a
/// big sorted set with ZSCAN. Each command is printed with the server's
/// reply.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    #[command(flatten)]
    keys: KeyArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    support::exit(support::redis::run_lesson(
        &args.redis,
        &args.keys,
        lesson_21_sorted_sets::DEFAULT_PREFIX,
        lesson_21_sorted_sets::tour,
    ))
}
