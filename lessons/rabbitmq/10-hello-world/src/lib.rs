//! Lesson 10: the smallest RabbitMQ conversation: one program puts a message
//! in a queue, another takes it out.
//!
//! ```text
//!  send ──"Hello World!"──▶ (default exchange) ──routing key "hello"──▶ [hello] ──▶ receive
//! ```
//!
//! A producer never writes into a queue directly: it publishes to an
//! *exchange*, which decides which queues get a copy. This lesson uses the
//! *default exchange* (its name is the empty string), which delivers a
//! message to the queue whose name equals the message's routing key. So
//! "publish with routing key `hello`" reads as "put it in the queue `hello`".
//!
//! Run `just run lesson-10 receive` in one terminal and
//! `just run lesson-10 send` in another.
//!
//! [`bulk`] publishes many messages at once, for the benchmark.

use anyhow::Context;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Consumer};
use support::amqp::Acks;

pub mod bulk;

/// The queue of RabbitMQ's first tutorial, so that its Python `send.py` and
/// `receive.py` talk to these programs.
pub const QUEUE: &str = "hello";

/// What `send` sends when given no message.
pub const GREETING: &str = "Hello World!";

// ANCHOR: declare
/// Declares the queue: creates it if it does not exist, and does nothing if
/// it exists with the same settings.
///
/// Both programs declare it, so either may start first. (If `receive`
/// consumed from a queue that does not exist yet, the broker would refuse
/// with NOT_FOUND; if `send` published to a queue that does not exist, the
/// broker would drop the message without a word.)
pub async fn declare_queue(channel: &Channel, queue: &ShortString) -> anyhow::Result<()> {
    // Default options: not durable, not exclusive, not auto-deleted. Lesson
    // 11 explains each.
    channel
        .queue_declare(
            queue.clone(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the queue `{queue}`"))?;
    Ok(())
}
// ANCHOR_END: declare

// ANCHOR: send
/// Publishes `body` to the default exchange with `queue` as routing key,
/// which puts it in the queue of that name.
pub async fn send(channel: &Channel, queue: &ShortString, body: &[u8]) -> lapin::Result<()> {
    channel
        .basic_publish(
            "".into(), // the default exchange
            queue.clone(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default(),
        )
        // The first `.await` hands the message to the connection. It returns
        // a second future that would tell when the *broker* has it; without
        // publisher confirms (lesson 11) there is nothing to wait for.
        .await?;
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: receive
/// Starts consuming `queue`: from now on the broker pushes each message to
/// us as it arrives. Acks are automatic: the broker forgets a message as
/// soon as it has sent it (lesson 11 turns that off, and says why).
pub async fn receive(channel: &Channel, queue: &ShortString) -> lapin::Result<Consumer> {
    support::amqp::consume(channel, queue, Acks::Automatic).await
}
// ANCHOR_END: receive

/// A message body as text, for printing. Bodies are bytes; anything that
/// is not UTF-8 is shown with replacement characters, not refused.
pub fn text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(body)
}
