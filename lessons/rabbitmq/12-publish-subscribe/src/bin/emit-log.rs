//! Publishes one log message to the fanout exchange `logs`, then exits.
//!
//! ```text
//! just run lesson-12 emit-log                    # "info: Hello World!"
//! just run lesson-12 emit-log "warning: disk almost full"
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_12_publish_subscribe::{DEFAULT_MESSAGE, EXCHANGE, declare_exchange, emit};
use support::amqp::{AmqpArgs, short_string};

/// Publish a log message to every subscriber, through a fanout exchange.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The fanout exchange.
    #[arg(long, default_value = EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
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
    emit(&session.channel, &args.exchange, message.as_bytes()).await?;
    println!(" [x] Sent {message:?}");
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
