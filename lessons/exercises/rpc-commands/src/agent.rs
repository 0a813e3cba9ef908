//! The agent: consumes the commands sent to its host name and answers each
//! one. Connecting, declaring its queue and the consume loop are given; you
//! write [`handle`], what happens to one command.
//!
//! The agent's queue, `NS.agent.HOST`, is *exclusive*: RabbitMQ deletes it,
//! with its binding to the host name, when the agent's connection ends. So a
//! command for a host nobody serves matches no binding, and `rpc`, which
//! publishes with the mandatory flag, gets it back at once ([`crate::rpc`]).
//!
//! Only signed commands reach [`handle`]: the consume loop (given) drops a
//! message that is too large, unsigned, signed with another key, or that
//! wants its answer anywhere but the namespace's reply queue (lesson 26's
//! [`lesson_26_rpc_commands::agent::admit`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer};

use crate::allow::Policy;
use crate::auth::Key;
use crate::exec::Ran;
use crate::names::{HostName, Namespace};
use crate::protocol::{Outcome, Output, Reply, declare_exchange};

// ANCHOR: given
/// How an agent is set up: who it is and what it may do.
#[derive(Debug, Clone)]
pub struct Config {
    /// The name commands are addressed to (`--host`): the routing key.
    pub host: HostName,
    /// Which exchange and queues to use.
    pub namespace: Namespace,
    /// Which commands it runs (`--allow`, `--allow-any`, or the default list).
    pub policy: Policy,
    /// How many commands may run at once: the prefetch count.
    pub parallel: u16,
    /// The longest timeout it accepts, whatever a request asks for.
    pub max_timeout: Duration,
    /// How many bytes of stdout, and of stderr, go back in a reply.
    pub max_output: usize,
    /// The namespace's secret: requests are checked with it, and replies
    /// must be signed with it.
    pub key: Key,
    /// The broker user this agent logs in as, which its replies carry as
    /// `user_id`.
    pub user: String,
}

/// A connected agent, ready to serve.
pub struct Agent {
    /// Shared with every command's task.
    config: Arc<Config>,
    /// For replies and acks; lapin channels are cheap to clone.
    channel: Channel,
    /// The stream of commands from this agent's queue.
    consumer: Consumer,
}

impl Agent {
    /// Declares the exchange and this agent's exclusive queue, binds the
    /// queue to the host name, and starts consuming with manual acks.
    pub async fn start(connection: &Connection, config: Config) -> crate::Result<Agent> {
        let channel = connection.create_channel().await?;
        // At most `parallel` commands unacknowledged, so running, at once.
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
        channel
            .queue_declare(queue.as_str().into(), exclusive, FieldTable::default())
            .await
            .with_context(|| {
                format!("declaring {queue} (does another agent serve this host name?)")
            })?;
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
                BasicConsumeOptions::default(), // no_ack: false, so manual acks
                FieldTable::default(),
            )
            .await?;
        Ok(Agent {
            config: Arc::new(config),
            channel,
            consumer,
        })
    }

    /// Handles commands until the connection ends, each in a task of its
    /// own, so that a slow command does not hold up the others.
    pub async fn serve(mut self) -> crate::Result<()> {
        while let Some(delivery) = self.consumer.next().await {
            let delivery = delivery.context("lost the connection to RabbitMQ")?;
            let config = &self.config;
            if let Err(rejected) = lesson_26_rpc_commands::agent::admit(
                &config.key,
                &config.user,
                &config.namespace,
                &delivery,
            ) {
                // Not answered: a forged request must not get a signed answer.
                println!("[{}] dropped a message: {rejected}", config.host);
                delivery.ack(BasicAckOptions::default()).await?;
                continue;
            }
            let channel = self.channel.clone();
            let config = Arc::clone(&self.config);
            tokio::spawn(async move {
                if let Err(error) = handle(&channel, &config, delivery).await {
                    eprintln!("[{}] could not answer: {error:#}", config.host);
                }
            });
        }
        anyhow::bail!("RabbitMQ cancelled this agent's consumer (was its queue deleted?)")
    }
}

// ANCHOR: helpers
/// The reply for a command the agent will not run, and says why.
pub fn refusal(config: &Config, reason: String, started_ms: u64) -> Reply {
    Reply {
        agent: config.host.to_string(),
        outcome: Outcome::Refused { reason },
        stdout: Output::default(),
        stderr: Output::default(),
        started_ms,
        duration_ms: 0,
    }
}

/// The reply for a command that ran (or tried to).
pub fn reply_of(config: &Config, ran: Ran, started_ms: u64) -> Reply {
    Reply {
        agent: config.host.to_string(),
        outcome: ran.outcome,
        stdout: ran.stdout,
        stderr: ran.stderr,
        started_ms,
        duration_ms: ran.duration.as_millis() as u64,
    }
}
// ANCHOR_END: helpers
// ANCHOR_END: given

// ANCHOR: todo
/// One command: decide, run, answer, then acknowledge. Every command gets
/// an answer, a refused one too: silence would look like a dead agent.
///
/// 1. Decide. A delivery with `delivery.redelivered` set was handed out
///    before and may have run: refuse it (commands run at most once). The
///    body is a JSON [`crate::protocol::Request`] (`serde_json::from_slice`):
///    refuse what does not parse. `config.policy.check(&request.argv)` gives
///    the reason to refuse a command that is not allowed.
/// 2. Run it with [`crate::exec::run`], with the timeout the request asks
///    for (`request.timeout_ms`) but never more than `config.max_timeout`,
///    and `config.max_output`. Print a line or two about it, for the
///    person watching the agent: `[web-1] task 4: running df -h`.
/// 3. Answer: publish the [`Reply`] as JSON (`reply.to_body(
///    crate::protocol::MAX_REPLY_BYTES)`, which caps its size) to the
///    *default* exchange `""` with the request's `reply_to` as routing key
///    (the default exchange routes by queue name), and the request's
///    `correlation_id` in the reply's properties. That id is how `rpc`
///    knows which task and host the answer is for. The properties come from
///    `crate::protocol::signed_properties(&config.key, Direction::Reply,
///    &config.user, &correlation_id, &body)`: `rpc` drops an unsigned reply.
/// 4. Acknowledge the delivery (`delivery.ack(BasicAckOptions::default())`)
///    only now: the ack frees a prefetch slot for the next command.
///
/// [`refusal`] and [`reply_of`] build the reply; [`crate::now_ms`] gives
/// its `started_ms`.
pub async fn handle(channel: &Channel, config: &Config, delivery: Delivery) -> crate::Result<()> {
    let _ = (channel, config, delivery);
    todo!(
        "agent::handle: refuse or run the command, reply to reply_to with its correlation_id, ack"
    )
}
// ANCHOR_END: todo
