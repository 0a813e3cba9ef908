//! Prints the messages whose headers match, until Ctrl-C.
//!
//! ```text
//! just run lesson-13 receive-logs-headers format=pdf type=report           # both (x-match all)
//! just run lesson-13 receive-logs-headers --match any format=pdf type=report  # either
//! ```

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lapin::ExchangeKind;
use lapin::types::ShortString;
use lesson_13_routing::{
    HEADERS_EXCHANGE, Header, XMatch, declare_exchange, show_headers, subscribe_headers,
};
use support::amqp::{AmqpArgs, for_each_delivery, short_string};

/// Print the messages of a headers exchange whose headers match all (or
/// any) of the given ones.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The headers exchange.
    #[arg(long, default_value = HEADERS_EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
    /// Whether a message needs all of the headers, or any one of them.
    #[arg(long = "match", value_enum, default_value = "all")]
    x_match: XMatch,
    /// The headers to look for, NAME=VALUE (e.g. format=pdf type=report).
    #[arg(required = true, value_name = "NAME=VALUE")]
    headers: Vec<Header>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_exchange(&session.channel, &args.exchange, ExchangeKind::Headers).await?;
    let (queue, consumer) = subscribe_headers(
        &session.channel,
        &args.exchange,
        args.x_match,
        &args.headers,
    )
    .await
    .context("binding a queue by headers")?;
    let wanted: Vec<String> = args.headers.iter().map(Header::to_string).collect();
    println!(
        " [*] Queue {queue} is bound to '{}' with x-match={}: {}",
        args.exchange,
        args.x_match.as_str(),
        wanted.join(", ")
    );
    println!(" [*] Waiting for logs. To exit press CTRL+C");
    for_each_delivery(consumer, |delivery| async move {
        let message = String::from_utf8_lossy(&delivery.data);
        println!(" [x] {}: {message:?}", show_headers(&delivery.properties));
        Ok(())
    })
    .await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
