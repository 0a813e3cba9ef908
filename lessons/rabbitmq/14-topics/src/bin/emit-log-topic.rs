//! Publishes one log message with a routing key of dot-separated words.
//!
//! ```text
//! just run lesson-14 emit-log-topic                                  # anonymous.info
//! just run lesson-14 emit-log-topic kern.critical "A critical kernel error"
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_14_topics::{DEFAULT_KEY, DEFAULT_MESSAGE, EXCHANGE, declare_exchange, emit};
use support::amqp::{AmqpArgs, short_string};

/// Publish a log message with a routing key such as `kern.critical`,
/// through a topic exchange.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The topic exchange.
    #[arg(long, default_value = EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
    /// The routing key: words separated by dots, e.g. <facility>.<severity>.
    #[arg(default_value = DEFAULT_KEY, value_parser = short_string)]
    routing_key: ShortString,
    /// The message (several words are joined with spaces).
    #[arg(default_value = DEFAULT_MESSAGE)]
    message: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_exchange(&session.channel, &args.exchange).await?;
    let message = args.message.join(" ");
    emit(
        &session.channel,
        &args.exchange,
        &args.routing_key,
        message.as_bytes(),
    )
    .await?;
    println!(" [x] Sent {}: {message:?}", args.routing_key);
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
