//! Exercise 11: make a work queue safe.
//!
//! `new-task` puts a task in a queue; `worker`s take tasks from it, one at
//! a time, and work on each for a while (every `.` in a task is one unit of
//! work). The programs, their arguments, what they print and how long a task
//! takes are all given. What makes the work queue *safe* is missing, in four
//! functions marked `todo!()`:
//!
//! 1. [`declare_task_queue`]: a queue that survives a broker restart.
//! 2. [`publish_task`]: a task that survives a broker restart.
//! 3. [`consume_tasks`]: fair dispatch (prefetch 1) and manual acks.
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
//! Lesson 11's chapter explains every idea you need; `just demo lesson-11`
//! shows what your programs should do.

use std::time::Duration;

use lapin::message::Delivery;
use lapin::types::ShortString;
use lapin::{Channel, Consumer};
use support::amqp::for_each_delivery;

/// The queue of the notes and of RabbitMQ's tutorial.
pub const TASK_QUEUE: &str = "task_queue";

/// What `new-task` sends when given no task.
pub const DEFAULT_TASK: &str = "Hello World!";

/// How long a `.` takes by default: one second, as in the notes.
pub const DEFAULT_MS_PER_DOT: u64 = 1000;

// ANCHOR: given
/// How long a task takes: `per_dot` for every `.` in it.
pub fn work_time(body: &[u8], per_dot: Duration) -> Duration {
    let dots = body.iter().filter(|&&byte| byte == b'.').count();
    per_dot.saturating_mul(u32::try_from(dots).unwrap_or(u32::MAX))
}

/// The worker: takes tasks from `queue` and works on each, until Ctrl-C.
///
/// It prints what the checker reads: a `Waiting` line once it consumes,
/// then a `Received` line when a task arrives and a `Done` line when the
/// task is finished.
pub async fn run_worker(
    channel: &Channel,
    queue: &ShortString,
    per_dot: Duration,
) -> anyhow::Result<()> {
    let consumer = consume_tasks(channel, queue).await?;
    println!(" [*] Waiting for messages. To exit press CTRL+C");

    for_each_delivery(consumer, |delivery| async move {
        let task = String::from_utf8_lossy(&delivery.data).into_owned();
        // The broker marks a task it has handed out before, to a worker
        // that never acked it.
        let note = if delivery.redelivered {
            " (redelivered: an earlier worker did not ack it)"
        } else {
            ""
        };
        println!(" [x] Received {task:?}{note}");
        work_on(&delivery, per_dot).await?;
        println!(" [x] Done");
        Ok(())
    })
    .await
}
// ANCHOR_END: given

// ANCHOR: todo
/// Declares the task queue, **durable**: its definition is written to disk,
/// and it comes back when the broker restarts. Both programs call this
/// first, so either may start first.
///
/// Hint: `channel.queue_declare(queue.clone(), options, FieldTable::default())`
/// with `QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() }`
/// (`lapin::options::QueueDeclareOptions`, `lapin::types::FieldTable`).
///
/// A queue keeps the settings it was first declared with: if you ran a
/// version that declared a queue not durable, the broker now refuses to
/// declare it durable (PRECONDITION_FAILED). Delete it first:
/// `just rabbitmqctl delete_queue task_queue`.
pub async fn declare_task_queue(channel: &Channel, queue: &ShortString) -> lapin::Result<()> {
    let _ = (channel, queue);
    todo!("declare the queue durable")
}

/// Publishes one task to `queue`, **persistent**, so that a task waiting
/// in a durable queue is still there after a broker restart.
///
/// A work queue uses the default exchange, whose name is the empty string:
/// it puts a message in the queue named by the routing key.
///
/// Hint: `channel.basic_publish("".into(), queue.clone(), BasicPublishOptions::default(), body, properties)`
/// with `BasicProperties::default().with_delivery_mode(2)` (2 is
/// "persistent"). `basic_publish(..).await?` hands the message over and
/// returns a publisher confirm, which you may drop.
pub async fn publish_task(
    channel: &Channel,
    queue: &ShortString,
    body: &[u8],
) -> lapin::Result<()> {
    let _ = (channel, queue, body);
    todo!("publish the task with delivery mode 2")
}

/// Sets up this worker's side of the deal with the broker, and starts
/// consuming `queue`:
///
/// - **prefetch 1** (fair dispatch): the broker gives this worker one
///   unacknowledged task at a time, so a busy worker is not handed more
///   while another one is idle;
/// - **manual acks**: the broker keeps each task it hands out until the
///   worker acks it, and gives it to another worker if this one dies first.
///
/// Hint: `channel.basic_qos(1, BasicQosOptions::default())` first; then
/// `support::amqp::consume(channel, queue, support::amqp::Acks::Manual)`
/// (or `channel.basic_consume` with `no_ack: false`).
pub async fn consume_tasks(channel: &Channel, queue: &ShortString) -> lapin::Result<Consumer> {
    let _ = (channel, queue);
    todo!("prefetch 1, then consume with manual acks")
}

/// Works on one task: waits [`work_time`] of its body, then acks it, which
/// tells the broker the task is done and may be forgotten.
///
/// The order is the point. A task acked before the work is finished is
/// lost if the worker dies in the middle of it; acked after, the broker
/// gives it to another worker.
///
/// Hint: `tokio::time::sleep(..).await` (never `std::thread::sleep` in async
/// code: it would stop everything else on this thread), then
/// `delivery.ack(BasicAckOptions::default()).await?`.
pub async fn work_on(delivery: &Delivery, per_dot: Duration) -> lapin::Result<()> {
    let _ = (delivery, per_dot);
    todo!("sleep for work_time(&delivery.data, per_dot), then ack")
}
// ANCHOR_END: todo

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dot_is_one_unit_of_work() {
        let unit = Duration::from_millis(10);
        assert_eq!(work_time(b"no dots", unit), Duration::ZERO);
        assert_eq!(work_time(b"three...", unit), 3 * unit);
    }
}
