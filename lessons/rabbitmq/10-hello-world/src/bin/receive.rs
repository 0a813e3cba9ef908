//! Prints every message that arrives in the queue `hello`, until Ctrl-C.
//!
//! ```text
//! just run lesson-10 receive
//! ```
//!
//! Start it before or after `send`: messages wait in the queue until someone
//! takes them.

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_10_hello_world::{QUEUE, declare_queue, receive, text};
use support::amqp::{AmqpArgs, for_each_delivery, short_string};

/// Print every message that arrives in a queue, until Ctrl-C.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The queue to take messages from.
    #[arg(long, default_value = QUEUE, value_parser = short_string)]
    queue: ShortString,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_queue(&session.channel, &args.queue).await?;
    let consumer = receive(&session.channel, &args.queue).await?;
    println!(
        " [*] Waiting for messages in '{}'. To exit press CTRL+C",
        args.queue
    );
    for_each_delivery(consumer, |delivery| async move {
        println!(" [x] Received {:?}", text(&delivery.data));
        Ok(())
    })
    .await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
