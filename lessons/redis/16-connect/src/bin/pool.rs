//! Many workers, few connections: `just run lesson-16 pool` (start Redis
//! first with `just up`).
//!
//! 32 workers each send 1,000 INCRs to one counter: through an r2d2 pool
//! (threads), over one shared multiplexed connection and through a bb8 pool
//! (tokio tasks), after a short run that opens a new connection for every
//! INCR, for comparison. Each run must end at exactly 32,000.
//!
//! Try `--workers 100 --size 4`, or `--only r2d2`.

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use lesson_16_connect::{Run, with_bb8, with_multiplexed, with_r2d2, without_pool};
use redis::Commands;
use support::redis::{Echo, KeyArgs, KeySpace, RedisArgs};

/// Shares a few Redis connections between many threads and tasks, and
/// checks that no increment is lost.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// How many threads (or tokio tasks) run at once
    #[arg(long, default_value_t = 32, value_parser = support::cli::at_least_one::<usize>)]
    workers: usize,
    /// How many INCRs each worker sends
    #[arg(long, default_value_t = 1000, value_parser = support::cli::at_least_one::<usize>)]
    incrs: usize,
    /// How many connections a pool may hold
    #[arg(long, default_value_t = 8, value_parser = support::cli::at_least_one::<u32>)]
    size: u32,
    /// How many INCRs each worker sends in the run without a pool (each one
    /// opens and closes a connection, so keep it small)
    #[arg(long, default_value_t = 20)]
    fresh_incrs: usize,
    /// Run only these ways (default: all, in this order)
    #[arg(long, value_enum, num_args = 1..)]
    only: Vec<Way>,
}

/// The ways of getting connections the program compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Way {
    NoPool,
    R2d2,
    Multiplexed,
    Bb8,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    let result = args.redis.client().map_err(Into::into).and_then(|client| {
        support::redis::run_lesson(
            &args.redis,
            &args.keys,
            lesson_16_connect::DEFAULT_PREFIX,
            |echo, keys| compare(&args, &client, echo, keys),
        )
    });
    support::exit(result)
}

/// Runs each way in turn on a fresh counter and prints what it measured.
fn compare(
    args: &Args,
    client: &redis::Client,
    echo: &mut Echo,
    keys: &KeySpace,
) -> redis::RedisResult<()> {
    let ways = if args.only.is_empty() {
        vec![Way::NoPool, Way::R2d2, Way::Multiplexed, Way::Bb8]
    } else {
        args.only.clone()
    };
    // The async ways need a runtime; this thread drives it with block_on.
    let runtime = tokio::runtime::Runtime::new()?;
    let counter = keys.key("counter");
    let (workers, incrs, size) = (args.workers, args.incrs, args.size);
    for way in ways {
        echo.section(&format!("{way:?}"));
        let _: usize = echo.del(&counter)?; // start from 0 (no key)
        let observer = echo.get_mut(); // the same connection, not printed
        let run: Run = match way {
            Way::NoPool => without_pool(client, observer, &counter, (workers, args.fresh_incrs))?,
            Way::R2d2 => with_r2d2(client, observer, keys, &counter, (workers, incrs, size))?,
            Way::Multiplexed => runtime.block_on(with_multiplexed(
                client,
                observer,
                keys,
                &counter,
                (workers, incrs),
            ))?,
            Way::Bb8 => runtime.block_on(with_bb8(
                client,
                observer,
                keys,
                &counter,
                (workers, incrs, size),
            ))?,
        };
        let _: i64 = echo.get(&counter)?;
        echo.note(&run.to_string());
        if run.counter != run.expected() {
            echo.note("LOST UPDATES: the counter is not what the workers sent");
        }
    }
    Ok(())
}
// ANCHOR_END: main
