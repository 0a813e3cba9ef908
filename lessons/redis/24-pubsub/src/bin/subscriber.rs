//! Listens to a channel and prints every message: in one terminal,
//! `just run lesson-24 subscriber`; then, in another,
//! `just run lesson-24 publisher hello`.
//!
//! `--pattern 'fm*'` listens to every channel whose name matches as well
//! (a message on fm104.5 then arrives twice: once for the channel, once for
//! the pattern). `--count N` stops after N messages; Ctrl-C stops it too.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use lesson_24_pubsub::{CHANNEL, RedisHelper};
use support::redis::RedisArgs;

/// Subscribes to channels (and channel patterns) and prints each message
/// as it arrives.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    /// Channels to listen to (repeat the flag for several)
    #[arg(long = "channel", default_value = CHANNEL)]
    channels: Vec<String>,
    /// Channel patterns to listen to as well, e.g. 'fm*'
    #[arg(long = "pattern")]
    patterns: Vec<String>,
    /// Stop after this many messages
    #[arg(long)]
    count: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: main
async fn run(args: Args) -> Result<(), support::redis::Error> {
    let helper = RedisHelper::connect(&args.redis.url, &args.channels[0]).await?;
    let channels: Vec<&str> = args.channels.iter().map(String::as_str).collect();
    let patterns: Vec<&str> = args.patterns.iter().map(String::as_str).collect();
    let mut subscription = helper.listen(&channels, &patterns).await?;

    // The first line says we are tuned in: anything published from now on
    // will arrive. (Flushed, so that a program reading our output can wait
    // for it before it publishes.)
    let mut names = channels.clone();
    names.extend(&patterns);
    println!("subscribed to {} (Ctrl-C to stop)", names.join(", "));
    let _ = std::io::stdout().flush();

    let mut received = 0;
    while args.count != Some(received) {
        tokio::select! {
            message = subscription.next_message() => {
                let Some(message) = message else {
                    let closed = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the server closed the subscription",
                    );
                    return Err(redis::RedisError::from(closed).into());
                };
                println!("{message}");
                received += 1;
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("received {received} message(s)");
    Ok(())
}
// ANCHOR_END: main
