//! Three coroutines that sleep and yield: `just run lesson-03 spawn`.
//!
//! Each line is stamped with the time since the start. Try `--unit-ms 200`
//! for a quicker run, or `--workers 2` to see the first lines lose their
//! fixed order once two threads run coroutines at the same time.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lesson_03_gevent::{Stage, configure, spawn_three};
use support::timeline::Timeline;

/// gevent.spawn and gevent.joinall with may coroutines: foo sleeps two
/// units, bar one, func3 only yields.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How long one unit of sleep lasts, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    unit_ms: u64,
    /// Worker threads that run coroutines (gevent has one).
    #[arg(long, default_value_t = 1, value_parser = support::cli::workers)]
    workers: usize,
    /// Width of the timeline, in characters.
    #[arg(long, default_value_t = 60)]
    width: usize,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    configure(args.workers);
    let stage = Stage {
        timeline: Arc::new(Timeline::new().with_lanes(["foo", "bar", "func3"])),
        unit: Duration::from_millis(args.unit_ms),
    };
    let outcome = spawn_three(&stage);
    if outcome.is_ok() {
        println!();
        print!("{}", stage.timeline.render(args.width));
    }
    support::exit(outcome)
}
// ANCHOR_END: main
