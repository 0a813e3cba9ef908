//! Every set command of the notes, printed as it runs:
//! `just run lesson-20` (start Redis first with `just up`).
//!
//! `--prefix demo` puts the keys under `demo:`; `--url redis://HOST:PORT/DB`
//! (or `REDIS_URL`) talks to another server.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Redis sets: distinct members, differences, intersections and unions
/// computed on the server, random picks, and walking a big set with SSCAN.
/// Each command is printed with the server's reply.
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
        lesson_20_sets::DEFAULT_PREFIX,
        lesson_20_sets::tour,
    ))
}
