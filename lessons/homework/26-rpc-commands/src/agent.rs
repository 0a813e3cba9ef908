//! The agent: consumes the commands meant for its host name, runs the
//! allowed ones, and answers every one of them.
//!
//! Run one per host name: `just run lesson-26 agent --host web-1`.
//!
//! ## Its queue is its presence
//!
//! The agent declares a queue of its own, `NS.agent.HOST`, *exclusive*:
//! it belongs to this connection and RabbitMQ deletes it, with its binding,
//! the moment the connection ends, cleanly or not. So the binding
//! `HOST → queue` exists exactly while an agent for `HOST` is alive, and a
//! command for a host without an agent matches no binding at all: `rpc`
//! publishes with the *mandatory* flag and gets it back at once. A second
//! agent with the same name is refused by RabbitMQ (the queue is locked).
//!
//! ## Only signed commands, only answered at home
//!
//! Before anything else, a command must be small ([`MAX_REQUEST_BYTES`]),
//! published by the namespace's broker user, signed with the namespace's
//! key, and ask for its answer in the namespace's own reply queue (see
//! [`crate::auth`]). One that is not is dropped, counted and logged, and
//! **not answered**: an answer would carry the sender's correlation id to
//! the sender's `reply_to`, and so could be made to look like the answer to
//! somebody else's task.
//!
//! ## At most once
//!
//! A command may have side effects, so running it twice is worse than not
//! running it: this runner delivers commands **at most once**.
//!
//! - If the agent dies mid-command, its exclusive queue dies with it,
//!   including the command it held: nobody will run it again. The task shows
//!   that host as timed out once its deadline passes.
//! - A message RabbitMQ marks `redelivered` (handed out before, never acked)
//!   might have run already; it is refused, not run.
//! - The ack is sent after the answer. With prefetch set to `--parallel`,
//!   the ack is what frees a slot, so RabbitMQ never hands this agent more
//!   commands than it runs at once: the others wait in the queue, where
//!   their `expiration` still applies, instead of in this process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, Consumer, ErrorKind};
use tokio::sync::Mutex;

use crate::allow::Policy;
use crate::auth::{Direction, Key};
use crate::exec::{self, Limits};
use crate::names::{HostName, Namespace};
use crate::protocol::{
    MAX_REPLY_BYTES, MAX_REQUEST_BYTES, Outcome, Output, Rejected, Reply, Request, check_signed,
    declare_exchange, parse_correlation_id, signed_properties,
};

/// How an agent is set up: who it is and what it may do.
#[derive(Debug, Clone)]
pub struct Config {
    /// The name commands are addressed to (`--host`).
    pub host: HostName,
    /// Which exchange, queues and keys to use.
    pub namespace: Namespace,
    /// Which commands it runs.
    pub policy: Policy,
    /// How many commands it runs at the same time (the prefetch count).
    pub parallel: u16,
    /// The longest timeout it accepts, whatever a request asks for.
    pub max_timeout: Duration,
    /// How many bytes of stdout and of stderr it sends back.
    pub max_output: usize,
    /// The namespace's secret: requests must be signed with it, and
    /// replies are.
    pub key: Key,
    /// The broker user this agent logs in as: its replies carry it as
    /// `user_id`, and requests must carry it too.
    pub user: String,
}

/// A connected agent, ready to serve.
pub struct Agent {
    /// What every command's task needs.
    shared: Arc<Shared>,
    /// The stream of commands from this agent's queue.
    consumer: Consumer,
    /// The queue's name, for the banner.
    queue: String,
}

/// The part of an agent that every command's task uses.
struct Shared {
    /// Who this agent is and what it may do.
    config: Config,
    /// To open a new channel for replies when one has failed.
    connection: Arc<Connection>,
    /// The channel replies go out on: a channel of its own, so that a
    /// publish the broker refuses (which closes the channel it was sent on)
    /// never stops the commands from coming. Reopened when it is closed.
    replies: Mutex<Option<Channel>>,
    /// How many messages were dropped for failing a check.
    dropped: AtomicU64,
}

impl Agent {
    // ANCHOR: start
    /// Declares the exchange and this agent's queue, binds the queue to its
    /// host name, and starts consuming. When this returns, commands for
    /// `config.host` reach this agent.
    pub async fn start(connection: Arc<Connection>, config: Config) -> crate::Result<Agent> {
        let channel = connection.create_channel().await?;
        // At most `parallel` unacknowledged commands: see the module docs.
        channel
            .basic_qos(config.parallel, BasicQosOptions::default())
            .await?;
        declare_exchange(&channel, &config.namespace).await?;

        let queue = config.namespace.agent_queue(&config.host);
        let exclusive = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        if let Err(error) = channel
            .queue_declare(queue.as_str().into(), exclusive, FieldTable::default())
            .await
        {
            return Err(explain_declare_error(error, &config, &queue));
        }
        // The routing key is the host name: `run ... --hosts web-1` sends
        // to routing key `web-1`, which this binding delivers here.
        channel
            .queue_bind(
                queue.as_str().into(),
                config.namespace.exchange().into(),
                config.host.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                format!("agent-{}", config.host).into(),
                BasicConsumeOptions::default(), // manual acks
                FieldTable::default(),
            )
            .await?;
        Ok(Agent {
            shared: Arc::new(Shared {
                config,
                connection,
                replies: Mutex::new(None),
                dropped: AtomicU64::new(0),
            }),
            consumer,
            queue,
        })
    }
    // ANCHOR_END: start

    /// The queue this agent reads.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    // ANCHOR: serve
    /// Handles commands until the connection ends. Each command runs in a
    /// task of its own; the prefetch count bounds how many run at once.
    /// One command that cannot be answered is logged, never the end.
    pub async fn serve(mut self) -> crate::Result<()> {
        while let Some(delivery) = self.consumer.next().await {
            let delivery = delivery.context("lost the connection to RabbitMQ")?;
            let shared = Arc::clone(&self.shared);
            tokio::spawn(async move {
                if let Err(error) = shared.handle(delivery).await {
                    tracing::error!("[{}] could not answer: {error:#}", shared.config.host);
                }
            });
        }
        anyhow::bail!("RabbitMQ cancelled this agent's consumer (was its queue deleted?)")
    }
    // ANCHOR_END: serve
}

impl Shared {
    // ANCHOR: handle
    /// One command: check, decide, run, answer, then acknowledge.
    async fn handle(&self, delivery: lapin::message::Delivery) -> crate::Result<()> {
        let config = &self.config;
        match admit(&config.key, &config.user, &config.namespace, &delivery) {
            Err(rejected) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                println!(
                    "[{}] dropped a message: {rejected} ({dropped} dropped so far)",
                    config.host
                );
            }
            Ok(correlation_id) => {
                let label = match parse_correlation_id(&correlation_id) {
                    Some((task, _host)) => format!("task {task}"),
                    None => "a message".to_string(),
                };
                let reply = answer(config, &delivery, &label).await;
                // Capped: whatever was asked or printed, the reply fits.
                let body = reply.to_body(MAX_REPLY_BYTES);
                let properties = signed_properties(
                    &config.key,
                    Direction::Reply,
                    &config.user,
                    &correlation_id,
                    &body,
                );
                if let Err(error) = self.publish_reply(&body, properties).await {
                    // Logged, not fatal: the next command gets a fresh channel.
                    println!(
                        "[{}] {label}: could not send the answer: {error:#}",
                        config.host
                    );
                }
            }
        }
        // Acknowledged in every case: an unacknowledged message would hold
        // one of the agent's `--parallel` slots forever.
        delivery.ack(BasicAckOptions::default()).await?;
        Ok(())
    }
    // ANCHOR_END: handle

    /// Publishes a reply to the namespace's reply queue (through the default
    /// exchange, which routes by queue name), on the reply channel, opening
    /// a new one if the last was closed.
    async fn publish_reply(&self, body: &[u8], properties: BasicProperties) -> crate::Result<()> {
        let channel = {
            let mut slot = self.replies.lock().await;
            match slot.as_ref() {
                Some(channel) if channel.status().connected() => channel.clone(),
                _ => {
                    let fresh = self.connection.create_channel().await?;
                    *slot = Some(fresh.clone());
                    fresh
                }
            }
        };
        channel
            .basic_publish(
                "".into(),
                self.config.namespace.replies_queue().into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await?;
        Ok(())
    }
}

// ANCHOR: admit
/// The checks a message passes before anything in it is read: its size, who
/// published it, its signature, and where its answer would go. Returns its
/// correlation id. `key`, `user` and `namespace` are the agent's own.
pub fn admit(
    key: &Key,
    user: &str,
    namespace: &Namespace,
    delivery: &lapin::message::Delivery,
) -> Result<String, Rejected> {
    let bytes = delivery.data.len();
    if bytes > MAX_REQUEST_BYTES {
        return Err(Rejected::TooLarge {
            bytes,
            limit: MAX_REQUEST_BYTES,
        });
    }
    let properties = &delivery.properties;
    let correlation_id = check_signed(key, Direction::Request, user, properties, &delivery.data)?;
    let reply_to = properties.reply_to().as_ref().map(|q| q.to_string());
    if reply_to.as_deref() != Some(namespace.replies_queue().as_str()) {
        return Err(Rejected::ForeignReplyTo { reply_to });
    }
    Ok(correlation_id)
}
// ANCHOR_END: admit

/// The reply to one delivery: refused, or the result of running it.
async fn answer(config: &Config, delivery: &lapin::message::Delivery, label: &str) -> Reply {
    let started_ms = crate::now_ms();
    let host = &config.host;
    let refuse = |reason: String| {
        let reason = crate::protocol::clip(&reason, crate::protocol::MAX_REASON_CHARS);
        println!(
            "[{host}] {label}: refused: {}",
            crate::report::visible(&reason)
        );
        Reply {
            agent: host.to_string(),
            outcome: Outcome::Refused { reason },
            stdout: Output::default(),
            stderr: Output::default(),
            started_ms,
            duration_ms: 0,
        }
    };
    if delivery.redelivered {
        return refuse(
            "not run: it was delivered before and may have run already (at-most-once)".into(),
        );
    }
    let request: Request = match serde_json::from_slice(&delivery.data) {
        Ok(request) => request,
        Err(error) => return refuse(format!("not a command this agent understands: {error}")),
    };
    if let Err(reason) = config.policy.check(&request.argv) {
        return refuse(reason);
    }
    let limits = Limits {
        timeout: Duration::from_millis(request.timeout_ms).min(config.max_timeout),
        max_output: config.max_output,
    };
    // Shown through `visible`: the words come from the sender, and must not
    // drive the terminal of whoever watches the agent.
    let shown = crate::report::visible(&shell_words::join(&request.argv));
    println!("[{host}] {label}: running {shown}");
    let ran = exec::run(&request.argv, limits).await;
    println!(
        "[{host}] {label}: {}",
        crate::report::outcome_line(&ran.outcome, ran.duration)
    );
    Reply {
        agent: host.to_string(),
        outcome: ran.outcome,
        stdout: ran.stdout,
        stderr: ran.stderr,
        started_ms,
        duration_ms: ran.duration.as_millis() as u64,
    }
}

/// Turns "the queue is locked" into the sentence a student needs.
fn explain_declare_error(error: lapin::Error, config: &Config, queue: &str) -> anyhow::Error {
    // 405 RESOURCE_LOCKED: an exclusive queue owned by another connection.
    let locked = matches!(error.kind(), ErrorKind::ProtocolError(amqp) if amqp.get_id() == 405);
    if locked {
        return anyhow::anyhow!(
            "another agent already serves host `{}` in namespace `{}` (its queue {queue} is taken).\n  \
             Stop that agent, or give this one another --host name.",
            config.host,
            config.namespace
        );
    }
    anyhow::Error::new(error).context(format!("declaring the queue {queue}"))
}
