//! Puts one message in the queue `hello`, then exits.
//!
//! ```text
//! just run lesson-10 send                     # sends "Hello World!"
//! just run lesson-10 send good morning        # sends "good morning"
//! just run lesson-10 send --url amqp://hhh:hhh1234@127.0.0.1:5672/%2f
//! ```

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lapin::types::ShortString;
use lesson_10_hello_world::{GREETING, QUEUE, declare_queue, send, send_many};
use support::amqp::{AmqpArgs, short_string};

/// Send one message to a queue through the default exchange.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The queue to put the message in.
    #[arg(long, default_value = QUEUE, value_parser = short_string)]
    queue: ShortString,
    /// How many copies of the message to send (try 100000, then look at the
    /// queue with `just rabbitmqctl list_queues`).
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// The message (several words are joined with spaces).
    #[arg(default_value = GREETING)]
    message: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::amqp::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_queue(&session.channel, &args.queue)
        .await
        .with_context(|| format!("declaring the queue `{}`", args.queue))?;
    let message = args.message.join(" ");
    if args.count == 1 {
        send(&session.channel, &args.queue, message.as_bytes()).await?;
        println!(" [x] Sent {message:?}");
    } else {
        let copies = std::iter::repeat_n(message.as_bytes(), args.count);
        send_many(&session.channel, &args.queue, copies).await?;
        println!(" [x] Sent {message:?} {} times", args.count);
    }
    // Close politely: the broker handles what we sent before it answers.
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
