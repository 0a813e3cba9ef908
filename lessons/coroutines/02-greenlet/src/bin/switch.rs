//! Two greenlets switching by hand: `just run lesson-02` prints 12, 56, 34, 78.
//!
//! `just run lesson-02 --trace` also shows each switch and, at the end, where
//! each greenlet was left.

use std::process::ExitCode;

use clap::Parser;
use lesson_02_greenlet::{Greenlets, test1, test2};

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
    let outcome = greenlets.run("gr1");
    if outcome.is_ok() && args.trace {
        for (name, state) in greenlets.states() {
            println!("    {name}: {state:?}");
        }
    }
    support::exit(outcome)
}
// ANCHOR_END: main
