//! Lesson 12: publish/subscribe: every subscriber gets every message.
//!
//! ```text
//!                                     ┌──▶ [amq.gen-A] ──▶ receive-logs (1)
//!  emit-log ──▶ (logs: fanout) ───────┤
//!                                     └──▶ [amq.gen-B] ──▶ receive-logs (2)
//! ```
//!
//! Until now each message went to one queue and one consumer. Here the
//! producer publishes to a *fanout* exchange named `logs`, which puts a copy
//! of every message in every queue bound to it, whatever the routing key.
//! Each subscriber binds a queue of its own: a fresh, exclusive queue whose
//! name the broker makes up, and which disappears when the subscriber goes.
//!
//! Run `just run lesson-12 receive-logs` in two terminals and
//! `just run lesson-12 emit-log` in a third.

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Consumer, ExchangeKind};
use support::amqp::Binding;

/// The exchange of RabbitMQ's third tutorial (and of the notes).
pub const EXCHANGE: &str = "logs";

/// What `emit-log` sends when given no message.
pub const DEFAULT_MESSAGE: &str = "info: Hello World!";

// ANCHOR: declare
/// Declares the fanout exchange; both sides do, so either may start first.
///
/// Default options (not durable, not auto-deleted) are what the tutorials'
/// Python programs use; an exchange declared with other options would be
/// refused to them with PRECONDITION_FAILED.
pub async fn declare_exchange(channel: &Channel, exchange: &ShortString) -> anyhow::Result<()> {
    channel
        .exchange_declare(
            exchange.clone(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the fanout exchange `{exchange}`"))
}
// ANCHOR_END: declare

// ANCHOR: emit
/// Publishes one log message to the exchange. A fanout exchange ignores the
/// routing key, so it is empty.
///
/// If no queue is bound, the exchange drops the message: nobody was
/// listening, and an exchange stores nothing.
pub async fn emit(channel: &Channel, exchange: &ShortString, message: &[u8]) -> lapin::Result<()> {
    channel
        .basic_publish(
            exchange.clone(),
            "".into(),
            BasicPublishOptions::default(),
            message,
            BasicProperties::default(),
        )
        .await?;
    Ok(())
}
// ANCHOR_END: emit

// ANCHOR: subscribe
/// Binds a new exclusive queue to the exchange and consumes it. Returns the
/// queue's name (`amq.gen-...`) and the consumer.
pub async fn subscribe(
    channel: &Channel,
    exchange: &ShortString,
) -> lapin::Result<(ShortString, Consumer)> {
    // One binding with an empty key: a fanout exchange looks at no key.
    support::amqp::subscribe(channel, exchange, &[Binding::default()]).await
}
// ANCHOR_END: subscribe
