//! Every list command of the notes, printed as it runs, ending with
//! blocking pops that a producer thread feeds: `just run lesson-19` (start
//! Redis first with `just up`).
//!
//! `--prefix demo` puts the keys under `demo:`; `--url redis://HOST:PORT/DB`
//! (or `REDIS_URL`) talks to another server.

use std::process::ExitCode;

use clap::Parser;
use support::redis::{KeyArgs, RedisArgs};

/// Redis lists: pushing and popping at both ends, inserting, trimming,
/// moving between lists, and blocking pops fed by a producer. Each command
/// is printed with the server's reply; the producer's lines start with
/// [producer].
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
    let result = args.redis.client().map_err(Into::into).and_then(|client| {
        support::redis::run_lesson(
            &args.redis,
            &args.keys,
            lesson_19_lists::DEFAULT_PREFIX,
            |con, keys| lesson_19_lists::tour(con, keys, &client),
        )
    });
    support::exit(result)
}
