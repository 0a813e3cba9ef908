//! Puts one message in the queue `hello`, then exits.
//!
//! ```text
//! just run lesson-10 send                     # sends "Hello World!"
//! just run lesson-10 send good morning        # sends "good morning"
//! just run lesson-10 send --url amqp://hhh:hhh1234@127.0.0.1:5672/%2f
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_10_hello_world::{GREETING, QUEUE, declare_queue, send};
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
    /// The message (several words are joined with spaces).
    #[arg(default_value = GREETING)]
    message: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_queue(&session.channel, &args.queue).await?;
    let message = args.message.join(" ");
    send(&session.channel, &args.queue, message.as_bytes()).await?;
    println!(" [x] Sent {message:?}");
    // Close politely: the broker handles what we sent before it answers.
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
