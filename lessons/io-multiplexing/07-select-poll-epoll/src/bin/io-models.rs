//! The five IO models, side by side: each reads one message from each of N
//! sockets, on one thread, and shows where it waited, what it did, and how
//! many system calls it made.
//!
//! ```text
//! just run lesson-07 io-models
//! just run lesson-07 io-models --sockets 8 --spread-ms 200 --model multiplexing
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_07_select_poll_epoll::models::{self, Model, ModelError, Outcome, Plan};
use support::cli::thousands;
use support::timeline::{Legend, format_duration};

/// Blocking, non-blocking, multiplexing, signal-driven and asynchronous IO,
/// each reading the same N late messages on one thread.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many sockets (one message each).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    sockets: u32,
    /// The messages arrive over this many milliseconds, the last socket's
    /// first and socket 0's last.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    spread_ms: u64,
    /// Run only these models (repeat the flag; default: all five).
    #[arg(long = "model", value_enum)]
    models: Vec<Model>,
    /// Width of the drawn timelines, in characters.
    #[arg(long, default_value_t = 60)]
    width: usize,
}

/// The words under each timeline: socket lanes and the thread's lane share
/// the three symbols.
const LEGEND: Legend = Legend {
    run: "copying / on the CPU",
    wait: "no data yet / asleep in the kernel",
    ready: "arrived, not yet in our buffer",
};

fn main() -> ExitCode {
    // `... | head` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    let args = Args::parse();
    support::exit(run(&args))
}

// ANCHOR: main
fn run(args: &Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let plan = Plan {
        sockets: args.sockets as usize,
        spread: Duration::from_millis(args.spread_ms),
    };
    // Two descriptors per socket pair, plus stdio, epoll and the ring.
    let wanted = 2 * plan.sockets as u64 + 32;
    support::fdlimit::raise_to(wanted)
        .map_err(|error| format!("{} sockets need {wanted} open files: {error}", plan.sockets))?;
    let chosen = if args.models.is_empty() {
        Model::ALL
    } else {
        &args.models[..]
    };
    println!(
        "Reading {} messages, one per socket, arriving over {} (socket {} first, socket 0 last).",
        plan.sockets,
        format_duration(plan.spread),
        plan.sockets - 1
    );
    let mut outcomes = Vec::new();
    for (number, &model) in chosen.iter().enumerate() {
        println!();
        println!("{}. {}: {}", number + 1, model.name(), model.how());
        match models::run(model, plan) {
            Ok(outcome) => {
                if plan.sockets <= 16 {
                    print!("{}", outcome.timeline.render_with(args.width, &LEGEND));
                }
                println!("   {}", calls_line(&outcome));
                outcomes.push(outcome);
            }
            Err(refused @ ModelError::Unsupported(..)) => println!("   skipped: {refused}"),
            Err(error) => return Err(format!("{}: {error}", model.name()).into()),
        }
    }
    println!();
    summary(&outcomes);
    Ok(())
}
// ANCHOR_END: main

/// What one model's thread did, in system calls.
fn calls_line(outcome: &Outcome) -> String {
    let c = outcome.calls;
    let mut parts = Vec::new();
    if c.submits > 0 {
        parts.push(format!(
            "{} submit carrying {} reads",
            c.submits, c.submitted_reads
        ));
    }
    if c.waits > 0 || outcome.model != models::Model::Blocking {
        parts.push(format!("{} waits", c.waits));
    }
    if c.reads > 0 || c.empty_reads > 0 {
        parts.push(format!("{} reads with data", c.reads));
    }
    if c.empty_reads > 0 {
        parts.push(format!(
            "{} reads that found nothing",
            thousands(c.empty_reads as f64)
        ));
    }
    format!(
        "system calls while reading: {} ({}); set-up before: {}",
        thousands(c.total() as f64),
        parts.join(", "),
        c.setup
    )
}

// ANCHOR: summary
/// One row per model: the counts the chapter compares.
fn summary(outcomes: &[Outcome]) {
    println!(
        "{:<16}{:>9}{:>13}{:>9}{:>10}{:>13}  order read",
        "model", "syscalls", "empty reads", "waits", "CPU", "worst delay"
    );
    for o in outcomes {
        let cpu_share = o.cpu.as_secs_f64() / o.elapsed.as_secs_f64().max(1e-9) * 100.0;
        let order: Vec<String> = o.order().iter().map(ToString::to_string).collect();
        println!(
            "{:<16}{:>9}{:>13}{:>9}{:>9.0}%{:>13}  {}",
            o.model.name(),
            thousands(o.calls.total() as f64),
            thousands(o.calls.empty_reads as f64),
            o.calls.waits,
            cpu_share.min(100.0),
            format_duration(o.worst_delay()),
            order.join(" ")
        );
    }
    println!();
    println!("CPU: the reading thread's own CPU time, as a share of the time it took.");
    println!("worst delay: the longest a message sat in the kernel before the program had it.");
}
// ANCHOR_END: summary
