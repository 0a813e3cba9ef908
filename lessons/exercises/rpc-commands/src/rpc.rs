//! The `rpc` side: a task is created in Redis, sent to its hosts, and its
//! answers are later collected into Redis, where any `rpc` process reads
//! them. Connecting, creating tasks and reading them are given; you write
//! [`Rpc::send`] and [`Rpc::collect`].
//!
//! ```text
//! rpc run ──▶ Redis: task N, every host pending
//!         ──▶ exchange NS.commands, one message per host (routing key = host name)
//!             ◀── returned: no queue bound to that name ──▶ Redis: "no agent"
//! agents  ──▶ queue NS.replies (correlation id "N/web-1")
//! rpc check_task N ──▶ collect: NS.replies ──▶ Redis ──▶ print task N
//! ```

use std::time::Duration;

use anyhow::Context;
use lapin::options::{ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};

use crate::auth::{Key, broker_user};
use crate::names::{HostName, Namespace};
use crate::protocol::{Request, declare_exchange};
use crate::store::{Answer, KEEP_FOR, Store, TaskMeta};

pub use lesson_26_rpc_commands::client::{Submitted, Timing};

// ANCHOR: given
/// A connection to both brokers, for one namespace.
pub struct Rpc {
    /// To open more channels (for collecting) and to close cleanly.
    connection: Connection,
    /// The channel commands are published on, in publisher-confirm mode.
    publisher: Channel,
    /// Where tasks and answers are kept.
    store: Store,
    /// Which exchange, queues and keys are ours.
    namespace: Namespace,
    /// The namespace's secret: requests are signed with it, replies checked.
    key: Key,
    /// Our broker user (from the AMQP URL): requests carry it as `user_id`,
    /// and replies must carry it too.
    user: String,
}

impl Rpc {
    /// Connects to Redis and RabbitMQ and declares what `rpc` needs: the
    /// commands exchange (agents declare it too) and the reply queue.
    pub async fn connect(
        amqp_url: &str,
        redis_url: &str,
        namespace: Namespace,
        key: Key,
    ) -> crate::Result<Rpc> {
        let user = broker_user(amqp_url)?;
        let redis = support::redis::connect_async(redis_url).await?;
        let connection = support::amqp::connect(amqp_url).await?;
        let publisher = connection.create_channel().await?;
        // Publisher confirms: the broker acknowledges every message, and a
        // mandatory message it could not route comes back *before* its ack.
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_exchange(&publisher, &namespace).await?;
        // A plain named queue, not exclusive: answers wait here after a
        // one-shot `rpc run` has exited. The same arguments as lesson 26's,
        // so both can share a namespace.
        let keep_ms = AMQPValue::LongLongInt(KEEP_FOR.as_millis() as i64);
        let mut arguments = FieldTable::default();
        arguments.insert("x-message-ttl".into(), keep_ms.clone());
        arguments.insert("x-expires".into(), keep_ms);
        let replies = namespace.replies_queue();
        publisher
            .queue_declare(
                replies.as_str().into(),
                QueueDeclareOptions::default(),
                arguments,
            )
            .await
            .with_context(|| format!("declaring the reply queue {replies}"))?;
        Ok(Rpc {
            connection,
            publisher,
            store: Store::new(redis, namespace.clone()),
            namespace,
            key,
            user,
        })
    }

    // ANCHOR: run
    /// Sends `argv` to every host as a new task and returns at once with the
    /// task id and the hosts that have no agent.
    pub async fn run(
        &self,
        argv: Vec<String>,
        hosts: &[HostName],
        timing: Timing,
    ) -> crate::Result<Submitted> {
        anyhow::ensure!(!argv.is_empty(), "the command is empty");
        let mut unique: Vec<HostName> = Vec::new();
        for host in hosts {
            if !unique.contains(host) {
                unique.push(host.clone());
            }
        }
        anyhow::ensure!(!unique.is_empty(), "no hosts given: add --hosts NAME...");
        // The task goes to Redis first, so that an answer, however fast,
        // finds its task there.
        let sent_ms = crate::now_ms();
        let meta = TaskMeta {
            command: shell_words::join(&argv),
            hosts: unique.iter().map(HostName::to_string).collect(),
            created_ms: sent_ms,
            deadline_ms: timing.deadline_after(sent_ms),
            timeout_ms: timing.timeout.as_millis() as u64,
        };
        let id = self.store.create(&meta).await?;
        let request = Request {
            argv,
            timeout_ms: meta.timeout_ms,
        };
        let no_agent = self.send(id, &request, &unique, timing.queue_wait).await?;
        for host in &no_agent {
            self.store.save(id, host, &Answer::NoAgent).await?;
        }
        Ok(Submitted {
            id,
            hosts: unique,
            no_agent,
        })
    }
    // ANCHOR_END: run

    /// What `check_task N` prints: the answers waiting in the reply queue
    /// are stored first, then task N is read from Redis.
    pub async fn check_task(&self, id: u64) -> crate::Result<String> {
        self.collect().await?;
        let Some(task) = self.store.load(id).await? else {
            anyhow::bail!("no task {id} in namespace `{}`", self.namespace);
        };
        Ok(crate::report::task(&task, crate::now_ms()))
    }

    /// Closes the connection politely.
    pub async fn close(self) -> crate::Result<()> {
        self.connection.close(200, "bye".into()).await?;
        Ok(())
    }
}
// ANCHOR_END: given

// ANCHOR: todo
impl Rpc {
    /// Publishes `request` (as JSON) once per host, and returns the hosts
    /// RabbitMQ returned it for: those have no agent.
    ///
    /// Each message goes on `self.publisher` to the exchange
    /// `self.namespace.exchange()`, with the host name as routing key, and:
    ///
    /// - `BasicPublishOptions { mandatory: true, .. }`: a message that
    ///   matches no binding comes back instead of vanishing;
    /// - properties: [`crate::protocol::signed_properties`]`(&self.key,
    ///   Direction::Request, &self.user, &correlation_id, &body)` (the
    ///   content type, the `correlation_id`, here
    ///   [`crate::protocol::correlation_id`]`(id, host)`, the broker user,
    ///   and the signature agents check), then `.with_reply_to(...)` =
    ///   `self.namespace.replies_queue()`, and `.with_expiration(...)` =
    ///   `queue_wait` in milliseconds, as a string: how long it may wait for
    ///   a busy agent.
    ///
    /// `basic_publish` returns a confirmation to await. Publish to every host
    /// first, then await them all (one round trip, not one per host). A
    /// confirmation is `Confirmation::Ack(returned)`; `returned` holds a
    /// message the broker sent back, *but not necessarily the one this
    /// confirmation is for*: gather them all and match each to its host by
    /// `message.routing_key`. A `Nack` is an error.
    pub async fn send(
        &self,
        id: u64,
        request: &Request,
        hosts: &[HostName],
        queue_wait: Duration,
    ) -> crate::Result<Vec<HostName>> {
        let _ = (&self.publisher, &self.key, &self.user);
        let _ = (id, request, hosts, queue_wait);
        todo!(
            "Rpc::send: one mandatory message per host with reply_to and correlation_id; which came back?"
        )
    }

    /// Stores every answer waiting in the reply queue in Redis, and returns
    /// how many it stored.
    ///
    /// 1. On a channel of its own (`self.connection.create_channel()`),
    ///    take messages from `self.namespace.replies_queue()` one by one
    ///    with `basic_get` until it returns `None` (the queue is empty).
    /// 2. Drop (acknowledge, do not store) a reply that fails
    ///    [`crate::protocol::check_signed`]`(&self.key, Direction::Reply,
    ///    &self.user, &delivery.properties, &delivery.data)`: anyone on the
    ///    broker can put a message in the reply queue, only an agent with
    ///    the key can sign it. The check returns the correlation id.
    /// 3. The message's `correlation_id` property names the task and host:
    ///    [`crate::protocol::parse_correlation_id`]. The body is a JSON
    ///    [`crate::protocol::Reply`]. A message that is not one of ours is
    ///    acknowledged and dropped.
    /// 4. `self.store.save(task, &host, &Answer::Replied { reply,
    ///    received_ms: crate::now_ms() })`, and acknowledge the message only
    ///    *after* it is stored: if Redis fails, the answer stays in the
    ///    queue for the next `rpc`. Saving twice is harmless (the first
    ///    answer stands), so "at least once" is safe here.
    pub async fn collect(&self) -> crate::Result<usize> {
        let _ = &self.connection;
        todo!("Rpc::collect: basic_get every reply, store it in Redis, then ack it")
    }
}
// ANCHOR_END: todo
