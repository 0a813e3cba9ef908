//! One connection to Redis: `just run lesson-16 connect` (start Redis first
//! with `just up`).
//!
//! `--url redis://HOST:PORT/DB` (or `REDIS_URL`) talks to another server;
//! try a port where nothing listens to see the error you get when Redis is
//! down. `--prefix demo` puts the key under `demo:`.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Opens one connection, sets and gets the notes' `foo`, and asks the
/// server what it knows about the connection. Each command is printed with
/// the server's reply.
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
    println!("connecting to {}", support::redact(&args.redis.url));
    support::exit(support::redis::run_lesson(
        &args.redis,
        &args.keys,
        lesson_16_connect::DEFAULT_PREFIX,
        lesson_16_connect::one_connection,
    ))
}
// ANCHOR_END: main
