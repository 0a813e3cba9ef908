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
use std::time::Duration;

use anyhow::Context;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, Consumer, ErrorKind};

use crate::allow::Policy;
use crate::exec::{self, Limits};
use crate::names::{HostName, Namespace};
use crate::protocol::{
    CONTENT_TYPE, Outcome, Output, Reply, Request, declare_exchange, parse_correlation_id,
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
}

/// A connected agent, ready to serve.
pub struct Agent {
    /// Shared with every command's task.
    config: Arc<Config>,
    /// For answers and acks; lapin channels are cheap to clone.
    channel: Channel,
    /// The stream of commands from this agent's queue.
    consumer: Consumer,
    /// The queue's name, for the banner.
    queue: String,
}

impl Agent {
    // ANCHOR: start
    /// Declares the exchange and this agent's queue, binds the queue to its
    /// host name, and starts consuming. When this returns, commands for
    /// `config.host` reach this agent.
    pub async fn start(connection: &Connection, config: Config) -> crate::Result<Agent> {
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
            config: Arc::new(config),
            channel,
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
    pub async fn serve(mut self) -> crate::Result<()> {
        while let Some(delivery) = self.consumer.next().await {
            let delivery = delivery.context("lost the connection to RabbitMQ")?;
            let channel = self.channel.clone();
            let config = Arc::clone(&self.config);
            tokio::spawn(async move {
                if let Err(error) = handle(&channel, &config, delivery).await {
                    tracing::error!("[{}] could not answer: {error:#}", config.host);
                }
            });
        }
        anyhow::bail!("RabbitMQ cancelled this agent's consumer (was its queue deleted?)")
    }
    // ANCHOR_END: serve
}

// ANCHOR: handle
/// One command: decide, run, answer, then acknowledge.
async fn handle(
    channel: &Channel,
    config: &Config,
    delivery: lapin::message::Delivery,
) -> crate::Result<()> {
    let properties = &delivery.properties;
    let correlation = properties
        .correlation_id()
        .as_ref()
        .map(|id| id.to_string());
    let label = match correlation.as_deref().and_then(parse_correlation_id) {
        Some((task, _host)) => format!("task {task}"),
        None => "a message".to_string(),
    };
    let reply = answer(config, &delivery, &label).await;

    match properties.reply_to() {
        Some(reply_to) => {
            let mut reply_properties =
                BasicProperties::default().with_content_type(CONTENT_TYPE.into());
            if let Some(id) = correlation {
                reply_properties = reply_properties.with_correlation_id(id.into());
            }
            // The default exchange ("") routes by queue name: straight to reply_to.
            channel
                .basic_publish(
                    "".into(),
                    reply_to.clone(),
                    BasicPublishOptions::default(),
                    &serde_json::to_vec(&reply)?,
                    reply_properties,
                )
                .await?;
        }
        None => tracing::warn!(
            "[{}] {label} has no reply_to: nobody to answer",
            config.host
        ),
    }
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
}

/// The reply to one delivery: refused, or the result of running it.
async fn answer(config: &Config, delivery: &lapin::message::Delivery, label: &str) -> Reply {
    let started_ms = crate::now_ms();
    let host = &config.host;
    let refuse = |reason: String| {
        println!("[{host}] {label}: refused: {reason}");
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
    let shown = shell_words::join(&request.argv);
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
// ANCHOR_END: handle

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
