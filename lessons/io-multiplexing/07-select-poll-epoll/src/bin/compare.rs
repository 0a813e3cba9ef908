//! Times one readiness wait with select(2), poll(2) and epoll(7) among 10,
//! 100, 1,000 and 10,000 idle sockets, then shows level vs edge triggering.
//!
//! ```text
//! just run lesson-07 compare
//! just run lesson-07 compare --sizes 10,1000,15000 --budget-ms 500
//! just run lesson-07 compare --sizes 10,30,100,300,1000,3000,10000 --plot waits.svg
//! ```
//!
//! `--plot FILE` also draws the table as a chart (log-log, select's wall at
//! 1,024 marked).
//!
//! It raises its open-file limit as far as the largest size needs, and says
//! so. Build it optimised (`cargo run --release -p lesson-07-select-poll-epoll`)
//! for numbers closer to what a real server sees.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lesson_07_select_poll_epoll::{Backend, Fixture, MeasureError, Timing, measure};
use support::cli::thousands;

/// select, poll and epoll: one wait written three ways, timed as idle sockets grow.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many idle sockets to watch, besides the readable one.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000,10000")]
    sizes: Vec<usize>,
    /// How long to keep timing each call at each size, in milliseconds.
    #[arg(long, default_value_t = 200)]
    budget_ms: u64,
    /// Also draw the table as an SVG chart into FILE.
    #[arg(long, value_name = "FILE")]
    plot: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    // `... | head -2` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    support::exit(run(Args::parse()))
}

// ANCHOR: run
fn run(args: Args) -> anyhow::Result<()> {
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    // Each idle socket is one descriptor; add room for the readable pair,
    // stdin/stdout/stderr, and the epoll instance.
    let raised = support::fdlimit::raise_to(largest as u64 + 64)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("making room for the sockets")?;
    println!(
        "{raised}: enough for {} idle sockets.",
        thousands(largest as f64)
    );
    println!();
    println!("One wait for the readable socket among N idle ones (median of many waits):");
    println!();
    print!("{:>13}", "idle sockets");
    for backend in Backend::ALL {
        print!("{:>15}", backend.name());
    }
    println!("{:>15}", "poll ÷ epoll");

    let mut refusals = Vec::new();
    let mut setups = Vec::new();
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let fixture = Fixture::new(size).context("opening the sockets")?;
        print!("{:>13}", thousands(size as f64));
        let mut timings = Vec::new();
        for &backend in Backend::ALL {
            match measure(backend, &fixture, Duration::from_millis(args.budget_ms)) {
                Ok(timing) => {
                    print!("{:>15}", micros(timing.per_wait));
                    timings.push((backend, timing));
                }
                Err(MeasureError::TooHigh(error)) => {
                    print!("{:>15}", "refused ¹");
                    refusals.push(error);
                }
                Err(error) => return Err(error).context(backend.name()),
            }
        }
        println!("{:>15}", ratio(&timings));
        if let Some((_, timing)) = timings.last() {
            setups.push((size, timing.setup));
        }
        rows.push((size, timings));
    }
    if let Some(path) = &args.plot {
        chart(&rows, args.budget_ms).write(path)?;
        println!("chart: {}", path.display());
    }

    if cfg!(any(target_os = "linux", target_os = "android")) {
        println!();
        println!("epoll's one-time setup, one epoll_ctl(2) per socket:");
        for (size, setup) in setups {
            println!("  {:>8} sockets: {}", thousands(size as f64), micros(setup));
        }
    }
    if let Some(first) = refusals.first() {
        println!();
        print!("{}", wrap(&format!("¹ {first}"), 78));
    }
    print_level_vs_edge()
}
// ANCHOR_END: run

/// The table as a chart: the cost of one wait against the idle sockets
/// watched, one line per system call, on log-log axes, with the line
/// select(2) cannot cross.
fn chart(rows: &[(usize, Vec<(Backend, Timing)>)], budget_ms: u64) -> support::chart::Figure {
    use support::chart::{Axis, Figure, Lines};
    let mut lines = Lines::new(
        "One wait for the readable socket among N idle ones",
        Axis::log("idle sockets watched"),
        Axis::log("µs per wait (median)"),
    );
    for &backend in Backend::ALL {
        let points = rows.iter().filter_map(|(size, timings)| {
            let (_, timing) = timings.iter().find(|(b, _)| *b == backend)?;
            Some((*size as f64, timing.per_wait.as_secs_f64() * 1e6))
        });
        lines = lines.series(backend.name(), points);
    }
    let build = if cfg!(debug_assertions) {
        "unoptimised build"
    } else {
        "optimised build"
    };
    Figure::new("What one readiness wait costs: select, poll and epoll")
        .lines(lines.mark(
            lesson_07_select_poll_epoll::FD_SETSIZE as f64,
            &format!(
                "select's wall: FD_SETSIZE {}",
                thousands(lesson_07_select_poll_epoll::FD_SETSIZE as f64)
            ),
        ))
        .note(&format!("{budget_ms} ms of waits per point, {build}"))
}

/// How many times cheaper an epoll wait is than a poll wait.
fn ratio(timings: &[(Backend, Timing)]) -> String {
    let of = |name| {
        timings
            .iter()
            .find(|(backend, _)| backend.name() == name)
            .map(|(_, timing)| timing.per_wait.as_secs_f64())
    };
    match (of("poll(2)"), of("epoll_wait(2)")) {
        (Some(poll), Some(epoll)) if epoll > 0.0 => match poll / epoll {
            times if times < 100.0 => format!("{times:.1}×"),
            times => format!("{}×", thousands(times)),
        },
        _ => "-".to_string(),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn print_level_vs_edge() -> anyhow::Result<()> {
    println!();
    println!(
        "Level vs edge triggering: one socket, epoll asked (without waiting) after each step:"
    );
    println!();
    println!(
        "  {:<30}{:>17}{:>17}",
        "step", "level-triggered", "edge-triggered"
    );
    for step in lesson_07_select_poll_epoll::level_vs_edge()? {
        let word = |readable| if readable { "readable" } else { "-" };
        println!(
            "  {:<30}{:>17}{:>17}",
            step.what,
            word(step.level),
            word(step.edge)
        );
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn print_level_vs_edge() -> anyhow::Result<()> {
    println!();
    println!("(epoll is Linux-only: the level vs edge demo needs it.)");
    Ok(())
}

/// Breaks `text` into lines of at most `width` columns, at spaces.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if line > 0 && line + 1 + len > width {
            out.push('\n');
            line = 0;
        }
        if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += len;
    }
    out.push('\n');
    out
}

/// A duration in microseconds, with enough digits to compare.
fn micros(duration: Duration) -> String {
    let us = duration.as_secs_f64() * 1e6;
    match us {
        us if us < 10.0 => format!("{us:.2} µs"),
        us if us < 1_000.0 => format!("{us:.1} µs"),
        us => format!("{:.2} ms", us / 1000.0),
    }
}
