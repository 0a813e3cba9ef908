//! Publishes messages on a channel: `just run lesson-24 publisher hello`
//! (with `just run lesson-24 subscriber` listening in another terminal).
//!
//! `--count 5` publishes "message 1" to "message 5"; `--channel` picks
//! another channel than the notes' fm104.5.

use std::process::ExitCode;

use clap::Parser;
use lesson_24_pubsub::{CHANNEL, RedisHelper};
use support::redis::RedisArgs;

/// Publishes each message on the channel and says to how many
/// subscriptions Redis delivered it (a client listening to the channel and
/// to a matching pattern counts twice).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    /// The channel to publish on
    #[arg(long, default_value = CHANNEL)]
    channel: String,
    /// Publish "message 1" .. "message N" instead of MESSAGES
    #[arg(long, conflicts_with = "messages")]
    count: Option<usize>,
    /// The messages to publish, in order
    #[arg(default_value = "hello")]
    messages: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: main
async fn run(args: Args) -> Result<(), support::redis::Error> {
    let mut helper = RedisHelper::connect(&args.redis.url, &args.channel).await?;
    let messages = match args.count {
        Some(n) => (1..=n).map(|i| format!("message {i}")).collect(),
        None => args.messages,
    };
    let mut unheard = 0;
    for message in &messages {
        let receivers = helper.publish(message).await?;
        println!(
            "PUBLISH {} {message:?} -> delivered to {receivers} subscription(s)",
            helper.channel()
        );
        if receivers == 0 {
            unheard += 1;
        }
    }
    if unheard > 0 {
        println!(
            "{unheard} message(s) reached nobody, and are gone: pub/sub keeps nothing \
             for subscribers that are not listening yet."
        );
    }
    Ok(())
}
// ANCHOR_END: main
