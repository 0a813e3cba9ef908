//! One producer, two consumers, one thread: `just run lesson-01`.
//!
//! Try `just run lesson-01 --rounds 2 --consumers c1 c2 c3`.

use clap::Parser;
use lesson_01_generators::{consumer, producer};

/// A producer makes baozi and feeds them to consumers, which are generators
/// resumed with `send`.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many baozi the producer makes.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// The consumers' names.
    #[arg(long, num_args = 1.., default_values = ["c1", "c2"])]
    consumers: Vec<String>,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let mut consumers: Vec<_> = args.consumers.iter().map(|name| consumer(name)).collect();
    let receipts = producer(&mut consumers, args.rounds);
    for receipt in receipts {
        println!("[main] {} returned {receipt:?}", receipt.name);
    }
}
// ANCHOR_END: main
