//! Exercise 11: make a work queue safe.
//!
//! `new-task` puts a task in a queue; `worker`s take tasks from it, one at
//! a time, and work on each for a while (every `.` in a task is one unit of
//! work). The programs, their arguments, what they print, the worker's loop
//! (`worker.rs`) and publisher confirms (`confirms.rs`) are lesson 11's own
//! code, compiled into this crate. What makes the work queue *safe* is
//! yours, in four functions marked `todo!()`:
//!
//! 1. [`declare_task_queue`]: a queue that survives a broker restart.
//! 2. [`publish_task`]: a task that survives a broker restart.
//! 3. [`consume_tasks`]: fair dispatch (prefetch) and manual acks.
//! 4. [`work_on`]: do the work, *then* ack.
//!
//! Check your work with `just check work-queues`. Try it by hand, each in a
//! terminal of its own:
//!
//! ```text
//! cargo run -q -p exercise-11-work-queues --bin exercise-11-worker -- --ms-per-dot 200
//! cargo run -q -p exercise-11-work-queues --bin exercise-11-worker -- --ms-per-dot 200
//! cargo run -q -p exercise-11-work-queues --bin exercise-11-new-task -- "A task with dots..."
//! ```
//!
//! A queue keeps the settings it was first declared with: if a version of
//! yours declared `task_queue` not durable, the broker refuses to declare it
//! durable (PRECONDITION_FAILED) until you delete it:
//! `just rabbitmqctl delete_queue task_queue`. Lesson 11's chapter explains
//! every idea you need; `just demo lesson-11` shows what your programs
//! should do.
//!
//! Written by `just exercises` from the lesson's own code,
//! `lessons/rabbitmq/11-work-queues/src/lib.rs`,
//! with the bodies you write replaced by `todo!()`.
// Until you write the todo!() bodies, their parameters, what they
// would import and the given code they would call are unused.
#![allow(unused_variables, unused_imports, dead_code)]

use std::time::Duration;

use anyhow::Context;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicPublishOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Consumer, PublisherConfirm};
use support::amqp::{Acks, consume};

#[path = "../../../../lessons/rabbitmq/11-work-queues/src/confirms.rs"]
mod confirms;
#[path = "../../../../lessons/rabbitmq/11-work-queues/src/worker.rs"]
mod worker;

pub use confirms::{enable_confirms, wait_for_confirm};
pub use worker::{DEFAULT_MS_PER_DOT, WorkerConfig, run_worker, work_time};

/// The queue of RabbitMQ's second tutorial (and of the notes), so that its
/// Python `new_task.py` and `worker.py` work with these programs.
pub const TASK_QUEUE: &str = "task_queue";

/// What `new-task` sends when given no message.
pub const DEFAULT_TASK: &str = "Hello World!";

// ANCHOR: durability
/// Whether a queue and its messages outlive a broker restart.
///
/// Both halves are needed: a durable queue comes back after a restart, but
/// only with the messages that were *persistent*; a persistent message in a
/// queue that is not durable is lost with its queue.
///
/// Both programs take it as `--durability durable|transient` (clap reads
/// the variants' names); the two must agree, or the broker refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// Durable queue, persistent messages (delivery mode 2): on disk.
    Durable,
    /// Neither: kept in memory, gone when the broker stops.
    Transient,
}

/// Declares the task queue, durable or not.
///
/// A queue's settings are fixed when it is first declared. Declaring it
/// again with other settings (durable instead of not, say) is refused by the
/// broker with PRECONDITION_FAILED, which closes the channel; the error
/// then says which queue and which settings were asked for.
pub async fn declare_task_queue(
    channel: &Channel,
    queue: &ShortString,
    durability: Durability,
) -> anyhow::Result<()> {
    todo!("declare the queue, durable when durability says so")
}
// ANCHOR_END: durability

// ANCHOR: publish
/// Publishes one task to the queue. Persistent if `durability` is
/// [`Durability::Durable`].
///
/// Returns the broker's confirmation to come. It only means something on a
/// channel where [`enable_confirms`] was called; see [`wait_for_confirm`].
pub async fn publish_task(
    channel: &Channel,
    queue: &ShortString,
    body: &[u8],
    durability: Durability,
) -> lapin::Result<PublisherConfirm> {
    todo!(
        "publish the task through the default exchange, persistent (delivery mode 2) when durable"
    )
}
// ANCHOR_END: publish

// ANCHOR: consume
/// Sets up this worker's side of the deal with the broker, and starts
/// consuming `queue`:
///
/// - **prefetch** (`prefetch` 1 is fair dispatch): the broker gives this
///   worker that many unacknowledged tasks at a time, so a busy worker is
///   not handed more while another one is idle (0: no limit, the broker's
///   default);
/// - **manual acks**: the broker keeps each task it hands out until the
///   worker acks it, and gives it to another worker if this one dies first.
///
/// `channel.basic_qos` with `BasicQosOptions::default()` sets the
/// first; `support::amqp::consume(channel, queue, Acks::Manual)` the second.
pub async fn consume_tasks(
    channel: &Channel,
    queue: &ShortString,
    prefetch: u16,
) -> lapin::Result<Consumer> {
    todo!("set the prefetch, then consume with manual acks")
}
// ANCHOR_END: consume

// ANCHOR: work_on
/// Works on one task: waits [`work_time`] of its body, then acks it, which
/// tells the broker the task is done and may be forgotten.
///
/// The order is the point. A task acked before the work is finished is
/// lost if the worker dies in the middle of it; acked after, the broker
/// gives it to another worker.
pub async fn work_on(delivery: &Delivery, per_dot: Duration) -> lapin::Result<()> {
    todo!("sleep for work_time(&delivery.data, per_dot) without blocking the thread, then ack")
}
// ANCHOR_END: work_on
