//! Publishes one log message with a severity as its routing key, then exits.
//!
//! ```text
//! just run lesson-13 emit-log-direct                          # info: "Hello World!"
//! just run lesson-13 emit-log-direct error "Run. Run. Or it will explode."
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::ExchangeKind;
use lapin::types::ShortString;
use lesson_13_routing::{
    DEFAULT_MESSAGE, DEFAULT_SEVERITY, DIRECT_EXCHANGE, declare_exchange, emit_direct,
};
use support::amqp::{AmqpArgs, short_string};

/// Publish a log message with a severity, through a direct exchange.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The direct exchange.
    #[arg(long, default_value = DIRECT_EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
    /// The severity: the routing key (info, warning, error, or anything).
    #[arg(default_value = DEFAULT_SEVERITY, value_parser = short_string)]
    severity: ShortString,
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
    declare_exchange(&session.channel, &args.exchange, ExchangeKind::Direct).await?;
    let message = args.message.join(" ");
    emit_direct(
        &session.channel,
        &args.exchange,
        &args.severity,
        message.as_bytes(),
    )
    .await?;
    println!(" [x] Sent {}: {message:?}", args.severity);
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
