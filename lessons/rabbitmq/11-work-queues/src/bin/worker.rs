//! Works on tasks from `task_queue`, one at a time, acking each when done.
//!
//! ```text
//! just run lesson-11 worker                     # a second per dot
//! just run lesson-11 worker --ms-per-dot 100    # ten times faster
//! just run lesson-11 worker --prefetch 0        # no fair dispatch: see the chapter
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lapin::types::ShortString;
use lesson_11_work_queues::{
    DEFAULT_MS_PER_DOT, Durability, TASK_QUEUE, WorkerConfig, declare_task_queue, run_worker,
};
use support::amqp::{AmqpArgs, short_string};

/// Work on tasks from a work queue: each `.` in a task is one second of work.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The work queue.
    #[arg(long, default_value = TASK_QUEUE, value_parser = short_string)]
    queue: ShortString,
    /// durable: the queue and its tasks survive a broker restart; transient:
    /// neither does (to see a task lost). Sender and workers must agree.
    #[arg(long, value_enum, default_value_t = Durability::Durable)]
    durability: Durability,
    /// Milliseconds of work for each `.` in a task.
    #[arg(long, default_value_t = DEFAULT_MS_PER_DOT)]
    ms_per_dot: u64,
    /// How many unacked tasks the broker may give this worker at once
    /// (0: no limit).
    #[arg(long, default_value_t = 1)]
    prefetch: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    declare_task_queue(&session.channel, &args.queue, args.durability).await?;
    let config = WorkerConfig {
        per_dot: Duration::from_millis(args.ms_per_dot),
        prefetch: args.prefetch,
    };
    run_worker(&session.channel, &args.queue, config).await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
