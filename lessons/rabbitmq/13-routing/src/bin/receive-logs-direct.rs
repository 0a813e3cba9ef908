//! Prints the log messages whose severity is one of those given, until Ctrl-C.
//!
//! ```text
//! just run lesson-13 receive-logs-direct error               # errors only
//! just run lesson-13 receive-logs-direct info warning error  # all three
//! ```

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lapin::ExchangeKind;
use lapin::types::ShortString;
use lesson_13_routing::{DIRECT_EXCHANGE, declare_exchange, subscribe_direct};
use support::amqp::{AmqpArgs, for_each_delivery, short_string};

/// Print the messages of a direct exchange whose routing key is one of the
/// given severities.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The direct exchange.
    #[arg(long, default_value = DIRECT_EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
    /// The severities to receive: one binding each (e.g. info warning error).
    #[arg(required = true, value_parser = short_string)]
    severities: Vec<ShortString>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_exchange(&session.channel, &args.exchange, ExchangeKind::Direct).await?;
    let (queue, consumer) = subscribe_direct(&session.channel, &args.exchange, &args.severities)
        .await
        .context("binding a queue for each severity")?;
    let keys: Vec<&str> = args.severities.iter().map(ShortString::as_str).collect();
    println!(
        " [*] Queue {queue} is bound to '{}' with keys: {}",
        args.exchange,
        keys.join(", ")
    );
    println!(" [*] Waiting for logs. To exit press CTRL+C");
    for_each_delivery(consumer, |delivery| async move {
        let message = String::from_utf8_lossy(&delivery.data);
        println!(" [x] {}: {message:?}", delivery.routing_key);
        Ok(())
    })
    .await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
