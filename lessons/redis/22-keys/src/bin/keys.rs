//! Every command on keys of the notes, printed as it runs:
//! `just run lesson-22` (start Redis first with `just up`).
//!
//! `--prefix demo` puts the keys under `demo:`; `--url redis://HOST:PORT/DB`
//! (or `REDIS_URL`) talks to another server or database. MOVE sends a key
//! to database 1 (or 2, when the URL names database 1) and deletes it there.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Redis keys of any type: delete, exists, KEYS patterns, expiry, rename,
/// move to another database, random key, TYPE (and WRONGTYPE), and walking
/// the database with SCAN. Each command is printed with the server's reply.
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
        lesson_22_keys::DEFAULT_PREFIX,
        lesson_22_keys::tour,
    ))
}
