//! Three IO-bound tasks run synchronously, on threads and on an event
//! loop, each with a timeline: `just run lesson-06 three-models`.
//!
//! Every task computes, waits for IO, computes, waits, computes. Change the
//! mix with `--compute-ms`, `--io-ms`, `--ios` and `--tasks`; `--svg FILE`
//! also draws the three timelines as one picture.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lesson_06_event_loop::models::{Plan, event_loop, start_slow_service, synchronous, threaded};
use support::timeline::{Timeline, to_svg};

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
    /// Also draw the three timelines, on one time scale, into this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

// ANCHOR: main
fn main() -> ExitCode {
    // `... | head -2` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    support::exit(run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let plan = Plan {
        tasks: args.tasks,
        ios: args.ios,
        compute: Duration::from_millis(args.compute_ms),
        io: Duration::from_millis(args.io_ms),
    };
    let service = start_slow_service().context("cannot start the slow service")?;
    /// Each model runs the plan against the service and returns its timeline.
    type Model = fn(&Plan, SocketAddr) -> std::io::Result<Timeline>;
    let models: [(&str, Model); 3] = [
        ("synchronous", synchronous),
        ("threads", threaded),
        ("event loop", event_loop),
    ];
    let mut timelines = Vec::new();
    for (name, model) in models {
        println!("== {name}");
        let timeline = model(&plan, service).with_context(|| format!("the {name} model failed"))?;
        print!("{}", timeline.render(args.width));
        println!("took {} ms\n", timeline.end().as_millis());
        timelines.push((name, timeline));
    }
    for (name, timeline) in &timelines {
        println!(
            "{:<12} {:>6} ms",
            format!("{name}:"),
            timeline.end().as_millis()
        );
    }
    if let Some(path) = &args.svg {
        let took: Vec<String> = timelines
            .iter()
            .map(|(name, timeline)| format!("{name} {} ms", timeline.end().as_millis()))
            .collect();
        let alt = format!(
            "{} tasks, each computing and waiting for IO, run three ways on one time axis: {}",
            plan.tasks,
            took.join(", ")
        );
        let panels: Vec<(&str, &Timeline)> = timelines.iter().map(|(n, t)| (*n, t)).collect();
        std::fs::write(path, to_svg(&alt, &panels))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("timelines drawn in {}", path.display());
    }
    Ok(())
}
// ANCHOR_END: main
