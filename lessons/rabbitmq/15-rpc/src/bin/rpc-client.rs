//! Asks an rpc-server for Fibonacci numbers, all calls at once, and prints
//! each result (or why there is none).
//!
//! ```text
//! just run lesson-15 rpc-client                # fib(30), as in the notes
//! just run lesson-15 rpc-client 1 2 30 93      # four calls in flight at once
//! just run lesson-15 rpc-client --timeout 2 10 # give up after 2 seconds
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lapin::types::ShortString;
use lesson_15_rpc::{RPC_QUEUE, RpcClient};
use support::amqp::{AmqpArgs, short_string};

/// Call fib(n) on an RPC server through RabbitMQ.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The queue the servers take requests from.
    #[arg(long, default_value = RPC_QUEUE, value_parser = short_string)]
    queue: ShortString,
    /// Seconds to wait for each reply.
    #[arg(long, default_value = "10", value_parser = seconds)]
    timeout: Duration,
    /// The numbers to ask for; all calls are sent at once. Anything that is
    /// not a number is sent as it is, to see the server's error reply
    /// (negative numbers too; but `--anything` is a flag, and a misspelt
    /// one is refused rather than sent).
    #[arg(default_value = "30", allow_negative_numbers = true)]
    requests: Vec<String>,
}

/// Parses a positive number of seconds, such as `10` or `0.5`.
fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("the timeout must be a positive number of seconds, not {text}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    let client = RpcClient::new(session.channel.clone(), args.queue.clone()).await?;
    let client = Arc::new(client);

    // Every call at once: each is a task waiting for its own reply.
    let mut calls = Vec::new();
    for request in &args.requests {
        println!(" [x] Requesting fib({request})");
        let client = Arc::clone(&client);
        let request = request.clone();
        calls.push(tokio::spawn(async move {
            client.call(&request, args.timeout).await
        }));
    }

    // The results, in the order asked: however the replies arrived, the
    // correlation ids brought each one to its own call.
    let mut failed = 0;
    for (request, call) in args.requests.iter().zip(calls) {
        match call.await? {
            Ok(result) => println!(" [.] fib({request}) = {result}"),
            Err(error) => {
                failed += 1;
                println!(" [!] fib({request}): {error}");
            }
        }
    }
    drop(client);
    session.close().await?;
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} calls failed",
        args.requests.len()
    );
    Ok(())
}
// ANCHOR_END: run
