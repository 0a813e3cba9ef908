//! Publishes one message with headers to a headers exchange, then exits.
//!
//! ```text
//! just run lesson-13 emit-log-headers -H format=pdf -H type=report "monthly report"
//! just run lesson-13 emit-log-headers -H format=zip "archive"
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::ExchangeKind;
use lapin::types::ShortString;
use lesson_13_routing::{
    DEFAULT_MESSAGE, HEADERS_EXCHANGE, Header, declare_exchange, emit_headers,
};
use support::amqp::{AmqpArgs, short_string};

/// Publish a message with headers, through a headers exchange.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The headers exchange.
    #[arg(long, default_value = HEADERS_EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
    /// A header of the message, NAME=VALUE; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE")]
    headers: Vec<Header>,
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
    declare_exchange(&session.channel, &args.exchange, ExchangeKind::Headers).await?;
    let message = args.message.join(" ");
    emit_headers(
        &session.channel,
        &args.exchange,
        &args.headers,
        message.as_bytes(),
    )
    .await?;
    let shown: Vec<String> = args.headers.iter().map(Header::to_string).collect();
    println!(" [x] Sent {{{}}}: {message:?}", shown.join(", "));
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
