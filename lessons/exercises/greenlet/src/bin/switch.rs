//! Exercise 02's program: once the trampoline works it prints 12, 56, 34, 78.
//!
//! `cargo run -p exercise-02-greenlet -- --trace` also shows each switch and, at the end, where
//! each greenlet was left.

use std::process::ExitCode;

use clap::Parser;
use exercise_02_greenlet::{Greenlets, test1, test2};

/// Explicit switching between two stackful coroutines, as Python's greenlet does.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Show every switch, and each greenlet's state at the end.
    #[arg(long)]
    trace: bool,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    let mut greenlets = Greenlets::new();
    greenlets.trace = args.trace;
    greenlets.spawn("gr1", test1);
    greenlets.spawn("gr2", test2);
    if let Err(error) = greenlets.run("gr1") {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    if args.trace {
        for (name, state) in greenlets.states() {
            println!("    {name}: {state:?}");
        }
    }
    ExitCode::SUCCESS
}
// ANCHOR_END: main
