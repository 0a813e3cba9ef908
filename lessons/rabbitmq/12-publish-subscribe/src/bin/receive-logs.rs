//! Prints every log message published to `logs` while it runs, until Ctrl-C.
//!
//! ```text
//! just run lesson-12 receive-logs
//! ```
//!
//! Messages published while no receiver runs are lost: an exchange stores
//! nothing, and this receiver's queue exists only while it runs.

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_12_publish_subscribe::{EXCHANGE, declare_exchange, subscribe};
use support::amqp::{AmqpArgs, for_each_delivery, short_string};

/// Print every message published to a fanout exchange while this runs.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The fanout exchange.
    #[arg(long, default_value = EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_exchange(&session.channel, &args.exchange).await?;
    let (queue, consumer) = subscribe(&session.channel, &args.exchange).await?;
    println!(" [*] Queue {queue} is bound to '{}'", args.exchange);
    println!(" [*] Waiting for logs. To exit press CTRL+C");
    for_each_delivery(consumer, |delivery| async move {
        println!(" [x] {:?}", String::from_utf8_lossy(&delivery.data));
        Ok(())
    })
    .await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
