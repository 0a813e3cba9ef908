//! Three IO-bound tasks run synchronously, on threads and on an event
//! loop, each with a timeline: `just run lesson-06 three-models`.
//!
//! Every task computes, waits for IO, computes, waits, computes. Change the
//! mix with `--compute-ms`, `--io-ms`, `--ios` and `--tasks`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_06_event_loop::models::{Plan, event_loop, start_slow_service, synchronous, threaded};
use support::timeline::Timeline;

/// The notes' picture of the three programming models, measured.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many tasks.
    #[arg(long, default_value_t = 3, value_parser = support::cli::at_least_one::<usize>)]
    tasks: usize,
    /// IO waits per task.
    #[arg(long, default_value_t = 2)]
    ios: usize,
    /// Each piece of CPU work, in milliseconds.
    #[arg(long, default_value_t = 40)]
    compute_ms: u64,
    /// Each IO wait, in milliseconds.
    #[arg(long, default_value_t = 200)]
    io_ms: u64,
    /// Width of the timelines, in characters.
    #[arg(long, default_value_t = 60)]
    width: usize,
}

// ANCHOR: main
fn main() -> ExitCode {
    // `... | head -2` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    let args = Args::parse();
    let plan = Plan {
        tasks: args.tasks,
        ios: args.ios,
        compute: Duration::from_millis(args.compute_ms),
        io: Duration::from_millis(args.io_ms),
    };
    let service = match start_slow_service() {
        Ok(service) => service,
        Err(error) => {
            eprintln!("error: cannot start the slow service: {error}");
            return ExitCode::FAILURE;
        }
    };
    /// Each model runs the plan against the service and returns its timeline.
    type Model = fn(&Plan, SocketAddr) -> std::io::Result<Timeline>;
    let models: [(&str, Model); 3] = [
        ("synchronous", synchronous),
        ("threads", threaded),
        ("event loop", event_loop),
    ];
    let mut totals = Vec::new();
    for (name, model) in models {
        println!("== {name}");
        let timeline: Timeline = match model(&plan, service) {
            Ok(timeline) => timeline,
            Err(error) => {
                eprintln!("error: the {name} model failed: {error}");
                return ExitCode::FAILURE;
            }
        };
        print!("{}", timeline.render(args.width));
        println!("took {} ms\n", timeline.end().as_millis());
        totals.push((name, timeline.end()));
    }
    for (name, total) in totals {
        println!("{:<12} {:>6} ms", format!("{name}:"), total.as_millis());
    }
    ExitCode::SUCCESS
}
// ANCHOR_END: main
