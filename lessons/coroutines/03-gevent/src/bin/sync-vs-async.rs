//! Ten tasks that each wait half a second, first one after another, then all
//! at once: `just run lesson-03 sync-vs-async`.
//!
//! `--tasks` and `--delay-ms` change the numbers; the last lines give the
//! two times and their ratio. `--svg FILE` also draws both timelines as a
//! picture.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_03_gevent::{Result, asynchronous, configure, synchronous};
use support::timeline::{format_duration, to_svg};

/// The same waiting tasks run one by one and concurrently, timed.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many tasks.
    #[arg(long, default_value_t = 10, value_parser = support::cli::at_least_one::<usize>)]
    tasks: usize,
    /// How long each task waits, in milliseconds.
    #[arg(long, default_value_t = 500)]
    delay_ms: u64,
    /// Worker threads that run coroutines (gevent has one).
    #[arg(long, default_value_t = 1, value_parser = support::cli::workers)]
    workers: usize,
    /// Width of the timelines, in characters.
    #[arg(long, default_value_t = 60)]
    width: usize,
    /// Also draw both timelines into this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    configure(args.workers);
    support::exit(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let delay = Duration::from_millis(args.delay_ms);
    let n = args.tasks;

    println!("Synchronous: {n} tasks, one after another");
    let (sequential, one_by_one) = synchronous(n, delay)?;
    println!("  all done in {}\n", format_duration(sequential));
    print!("{}", one_by_one.render(args.width));

    println!("\nAsynchronous: {n} tasks spawned at once, then joined");
    let (concurrent, at_once) = asynchronous(n, delay)?;
    println!("  all done in {}\n", format_duration(concurrent));
    print!("{}", at_once.render(args.width));

    println!();
    println!("sequential: {} ms", sequential.as_millis());
    println!("concurrent: {} ms", concurrent.as_millis());
    println!(
        "sequential / concurrent = {:.2} (at most {n}: the waits no longer add up)",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
    println!(
        "concurrent / one delay  = {:.2} (at least 1: all the waits overlap)",
        concurrent.as_secs_f64() / delay.as_secs_f64().max(f64::EPSILON)
    );
    if let Some(path) = &args.svg {
        let alt = format!(
            "{n} tasks that each wait {} ms: one after another they take {} ms, \
             spawned at once {} ms, their waits overlapping",
            delay.as_millis(),
            sequential.as_millis(),
            concurrent.as_millis()
        );
        let svg = to_svg(
            &alt,
            &[("synchronous", &one_by_one), ("asynchronous", &at_once)],
        );
        std::fs::write(path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("timelines drawn in {}", path.display());
    }
    Ok(())
}
// ANCHOR_END: main
