//! Every hash command of the notes, printed as it runs:
//! `just run lesson-18` (start Redis first with `just up`).
//!
//! `--prefix demo` puts the keys under `demo:`; `--url redis://HOST:PORT/DB`
//! (or `REDIS_URL`) talks to another server.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Redis hashes: fields and values under one key, counters inside a hash,
/// and walking a big hash with HSCAN. Each command is printed with the
/// server's reply.
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
        lesson_18_hashes::DEFAULT_PREFIX,
        lesson_18_hashes::tour,
    ))
}
