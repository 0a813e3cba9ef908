//! Publishes one task to `task_queue`, persistent, then exits.
//!
//! ```text
//! just run lesson-11 new-task "A task with three dots..."
//! just run lesson-11 new-task --confirm "safe on the broker's disk."
//! just run lesson-11 new-task --queue hello "x"     # PRECONDITION_FAILED: see the chapter
//! ```

use std::process::ExitCode;

use clap::Parser;
use lapin::types::ShortString;
use lesson_11_work_queues::{
    DEFAULT_TASK, Durability, TASK_QUEUE, declare_task_queue, enable_confirms, publish_task,
    wait_for_confirm,
};
use support::amqp::{AmqpArgs, short_string};

/// Publish a task to a work queue: each `.` in it is one second of work.
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
    /// Wait until the broker confirms it has the task (publisher confirms).
    #[arg(long)]
    confirm: bool,
    /// The task (several words are joined with spaces).
    #[arg(default_value = DEFAULT_TASK)]
    task: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    let session = args.amqp.session().await?;
    let channel = &session.channel;
    declare_task_queue(channel, &args.queue, args.durability).await?;
    if args.confirm {
        enable_confirms(channel).await?;
    }
    let task = args.task.join(" ");
    let confirm = publish_task(channel, &args.queue, task.as_bytes(), args.durability).await?;
    if args.confirm {
        wait_for_confirm(confirm).await?;
        println!(" [x] Sent {task:?} (confirmed: the broker has it)");
    } else {
        println!(" [x] Sent {task:?}");
    }
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
