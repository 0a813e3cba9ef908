//! Exercise 11's `worker`: works on tasks, one at a time, until Ctrl-C.
//!
//! ```text
//! cargo run -q -p exercise-11-work-queues --bin exercise-11-worker -- --ms-per-dot 200
//! ```
//!
//! Given: it calls your `declare_task_queue`, then `run_worker`, which
//! calls your `consume_tasks` and, for each task, your `work_on`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use exercise_11_work_queues::{DEFAULT_MS_PER_DOT, TASK_QUEUE, declare_task_queue, run_worker};
use lapin::types::ShortString;
use support::amqp::{AmqpArgs, short_string};

/// Work on tasks from a work queue: each `.` in a task is one unit of work.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The work queue.
    #[arg(long, default_value = TASK_QUEUE, value_parser = short_string)]
    queue: ShortString,
    /// Milliseconds of work for each `.` in a task.
    #[arg(long, default_value_t = DEFAULT_MS_PER_DOT)]
    ms_per_dot: u64,
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
    run_worker(
        &session.channel,
        &args.queue,
        Duration::from_millis(args.ms_per_dot),
    )
    .await?;
    session.close().await?;
    Ok(())
}
