//! Every string command of the notes, printed as it runs:
//! `just run lesson-17` (start Redis first with `just up`).
//!
//! `just run lesson-17 --prefix demo` puts the keys under `demo:` instead;
//! `--url redis://HOST:PORT/DB` (or `REDIS_URL`) talks to another server.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Redis strings: SET and its options, bits, counters, the online-users
/// bitmap. Each command is printed with the server's reply.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    #[command(flatten)]
    keys: KeyArgs,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    support::exit(support::redis::run_lesson(
        &args.redis,
        &args.keys,
        lesson_17_strings::DEFAULT_PREFIX,
        lesson_17_strings::tour,
    ))
}
// ANCHOR_END: main
