//! Exercise 11's `new-task`: publishes one task, then exits.
//!
//! ```text
//! cargo run -q -p exercise-11-work-queues --bin exercise-11-new-task -- "A task with dots..."
//! ```
//!
//! Given: it calls your `declare_task_queue` and `publish_task`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use exercise_11_work_queues::{DEFAULT_TASK, TASK_QUEUE, declare_task_queue, publish_task};
use lapin::types::ShortString;
use support::amqp::{AmqpArgs, short_string};

/// Publish a task to a work queue: each `.` in it is one unit of work.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The work queue.
    #[arg(long, default_value = TASK_QUEUE, value_parser = short_string)]
    queue: ShortString,
    /// The task (several words are joined with spaces).
    #[arg(default_value = DEFAULT_TASK)]
    task: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_task_queue(&session.channel, &args.queue)
        .await
        .with_context(|| format!("declaring the queue `{}`", args.queue))?;
    let task = args.task.join(" ");
    publish_task(&session.channel, &args.queue, task.as_bytes()).await?;
    println!(" [x] Sent {task:?}");
    // Close politely: the broker handles what we sent before it answers.
    session.close().await?;
    Ok(())
}
