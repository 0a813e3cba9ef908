//! Answers Fibonacci requests from `rpc_queue`, until Ctrl-C.
//!
//! ```text
//! just run lesson-15 rpc-server        # run it in two terminals: they share the work
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_15_rpc::{RPC_QUEUE, declare_request_queue, serve};
use support::amqp::{AmqpArgs, short_string};

/// Answer RPC requests: the body is n, the reply is fib(n), both as text.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The queue requests arrive in.
    #[arg(long, default_value = RPC_QUEUE, value_parser = short_string)]
    queue: ShortString,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_request_queue(&session.channel, &args.queue).await?;
    serve(&session.channel, &args.queue).await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
