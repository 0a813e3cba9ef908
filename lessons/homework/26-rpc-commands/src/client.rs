//! The `rpc` side: send a task to many hosts, and collect their answers
//! into Redis.
//!
//! Sending ([`Client::run`]) and collecting are separate on purpose. `rpc
//! run` prints the task id and exits at once; the answers wait in the
//! namespace's reply queue, a plain named queue that outlives every `rpc`
//! process, until some `rpc` collects them: the interactive shell does so
//! all the time ([`Client::ensure_collector`]), a one-shot `check_task` or
//! `tasks` first takes whatever is waiting ([`Client::catch_up`]).
//!
//! Replies are collected **at least once**: one is acknowledged only after
//! it is stored, so an `rpc` killed halfway leaves it in the queue for the
//! next. Storing the same answer twice is harmless ([`Store::save`] keeps
//! the first), which is what makes at-least-once safe here, and why the
//! commands themselves are not treated that way (see [`crate::agent`]).
//!
//! Only replies that pass the checks of [`crate::auth`] are stored: one
//! that is too large, unsigned, signed with another key or published by
//! another broker user is dropped, and counted in Redis, where `check_task`
//! reports the count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Confirmation, Connection, Consumer};
use tokio::sync::{Mutex, OnceCell, broadcast};

use crate::auth::{Direction, Key, broker_user};
use crate::names::{HostName, Namespace};
use crate::protocol::{
    MAX_REPLY_BYTES, MAX_REQUEST_BYTES, Rejected, Reply, Request, check_signed, correlation_id,
    declare_exchange, parse_correlation_id, signed_properties,
};
use crate::store::{Answer, KEEP_FOR, Saved, Store, Task, TaskMeta};

/// Time for an answer to travel back and be stored, added to the deadline.
pub const REPLY_SLACK: Duration = Duration::from_secs(1);

/// How many replies one collector takes before acknowledging any.
const COLLECT_PREFETCH: u16 = 200;

/// The time limits of one task.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long the command may run on each host.
    pub timeout: Duration,
    /// How long it may wait in a host's queue for a busy agent before
    /// RabbitMQ drops it unrun (the message's `expiration`).
    pub queue_wait: Duration,
}

impl Timing {
    /// When an unanswered host counts as timed out: the command could wait
    /// `queue_wait`, run `timeout`, and its answer needs a moment to return.
    pub fn deadline_after(&self, sent_ms: u64) -> u64 {
        sent_ms + (self.queue_wait + self.timeout + REPLY_SLACK).as_millis() as u64
    }
}

/// What `run` reports at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The task id, from Redis.
    pub id: u64,
    /// The hosts the command went to (duplicates removed).
    pub hosts: Vec<HostName>,
    /// The hosts RabbitMQ returned the command for: nobody serves them.
    pub no_agent: Vec<HostName>,
}

/// Sent to subscribers ([`Client::subscribe`]) each time an answer reaches
/// Redis, so that waiting needs no polling.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Which task the answer belongs to.
    pub task: u64,
    /// Which host gave it.
    pub host: HostName,
    /// Whether it was new, a duplicate, or for an unknown task.
    pub saved: Saved,
    /// When it was stored, for latency measurements.
    pub at: Instant,
}

/// A connection to both brokers, for one namespace.
pub struct Client {
    /// Kept to open more channels (collector, catch-up) and to close cleanly.
    connection: Connection,
    /// The channel commands are published on, in confirm mode.
    publisher: Channel,
    /// One task publishes at a time: see [`Client::run`].
    publish_turn: Mutex<()>,
    /// Where tasks and answers are kept.
    store: Store,
    /// Which exchange, queues and keys are ours.
    namespace: Namespace,
    /// What requests are signed with, and replies checked against.
    trust: Trust,
    /// Every answer stored by this process, for whoever waits.
    collected: broadcast::Sender<Collected>,
    /// The background consumer of the reply queue, once started.
    collector: OnceCell<tokio::task::JoinHandle<()>>,
    /// Set by [`Client::close`], so the collector takes the end of its
    /// consumer for what it is and says nothing.
    closing: Arc<AtomicBool>,
}

/// What a reply must show to be believed: a signature made with the
/// namespace's key, and the namespace's broker user as its publisher.
#[derive(Debug, Clone)]
struct Trust {
    /// The namespace's secret.
    key: Key,
    /// The broker user of this namespace: ours, from the AMQP URL.
    user: String,
}

impl Client {
    // ANCHOR: connect
    /// Connects to Redis and RabbitMQ, and declares what `rpc` needs: the
    /// commands exchange (as agents do) and the namespace's reply queue.
    /// `key` signs the requests and checks the replies.
    pub async fn connect(
        amqp_url: &str,
        redis_url: &str,
        namespace: Namespace,
        key: Key,
    ) -> crate::Result<Client> {
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

        // Not exclusive, not auto-delete: answers must wait here after a
        // one-shot `rpc run` has exited. Unread answers, and the queue
        // itself once unused, expire when the tasks in Redis do.
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

        Ok(Client {
            connection,
            publisher,
            publish_turn: Mutex::new(()),
            store: Store::new(redis, namespace.clone()),
            namespace,
            trust: Trust { key, user },
            collected: broadcast::channel(4096).0,
            collector: OnceCell::new(),
            closing: Arc::new(AtomicBool::new(false)),
        })
    }
    // ANCHOR_END: connect

    /// The namespace this client works in.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Where tasks are kept.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Tells about every answer this process stores from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Collected> {
        self.collected.subscribe()
    }

    // ANCHOR: run
    /// Sends `argv` to every host in `hosts` as task N, and returns N at once,
    /// with the hosts that have no agent.
    pub async fn run(
        &self,
        argv: Vec<String>,
        hosts: &[HostName],
        timing: Timing,
    ) -> crate::Result<Submitted> {
        anyhow::ensure!(!argv.is_empty(), "the command is empty");
        let mut unique: Vec<HostName> = Vec::with_capacity(hosts.len());
        for host in hosts {
            if !unique.contains(host) {
                unique.push(host.clone());
            }
        }
        anyhow::ensure!(!unique.is_empty(), "no hosts given: add --hosts NAME...");

        // 1. The task goes to Redis first, so that an answer, however fast,
        //    always finds its task there.
        let sent_ms = crate::now_ms();
        let meta = TaskMeta {
            command: shell_words::join(&argv),
            hosts: unique.iter().map(HostName::to_string).collect(),
            created_ms: sent_ms,
            deadline_ms: timing.deadline_after(sent_ms),
            timeout_ms: timing.timeout.as_millis() as u64,
        };
        let id = self.store.create(&meta).await?;

        // 2. One message per host, routed by host name, mandatory, signed.
        let body = serde_json::to_vec(&Request {
            argv,
            timeout_ms: meta.timeout_ms,
        })?;
        anyhow::ensure!(
            body.len() <= MAX_REQUEST_BYTES,
            "task {id} not sent: the command is {} bytes, and agents take at most {MAX_REQUEST_BYTES}",
            body.len()
        );
        let returned = {
            // The broker returns an unroutable message before confirming it,
            // and lapin hands it to whichever confirmation it resolves next,
            // which need not be that message's own when acks are batched.
            // So tasks take turns, and a returned message is recognised by
            // its routing key (its host), not by the confirmation it came with.
            let _turn = self.publish_turn.lock().await;
            let mut confirms = Vec::with_capacity(unique.len());
            for host in &unique {
                let properties = signed_properties(
                    &self.trust.key,
                    Direction::Request,
                    &self.trust.user,
                    &correlation_id(id, host),
                    &body,
                )
                .with_reply_to(self.namespace.replies_queue().into())
                .with_expiration(timing.queue_wait.as_millis().to_string().into());
                let mandatory = BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                };
                let confirm = self
                    .publisher
                    .basic_publish(
                        self.namespace.exchange().into(),
                        host.as_str().into(),
                        mandatory,
                        &body,
                        properties,
                    )
                    .await
                    .with_context(|| format!("sending task {id} to {host}"))?;
                confirms.push((host, confirm));
            }
            // 3. Wait for every confirmation: one round trip for them all.
            let mut returned = Vec::new();
            for (host, confirm) in confirms {
                match confirm
                    .await
                    .with_context(|| format!("sending task {id} to {host}"))?
                {
                    Confirmation::Ack(message) => returned.extend(message),
                    Confirmation::Nack(_) => anyhow::bail!(
                        "RabbitMQ could not take task {id} for {host} (it answered nack); \
                         that host will show as timed out"
                    ),
                    Confirmation::NotRequested => anyhow::bail!("publisher confirms are off"),
                }
            }
            returned
        };

        // 4. Returned means unroutable: no queue is bound to that host name,
        //    so no agent is running for it. Say so now, not at the deadline.
        let mut no_agent = Vec::new();
        for message in returned {
            if let Some(host) = unique
                .iter()
                .find(|h| h.as_str() == message.routing_key.as_str())
            {
                self.store_answer(id, host, &Answer::NoAgent).await?;
                no_agent.push(host.clone());
            }
        }
        Ok(Submitted {
            id,
            hosts: unique,
            no_agent,
        })
    }
    // ANCHOR_END: run

    /// Starts the background collector if it is not running yet: a consumer
    /// of the reply queue that stores every answer as it arrives.
    pub async fn ensure_collector(&self) -> crate::Result<()> {
        self.collector
            .get_or_try_init(|| async {
                let channel = self.connection.create_channel().await?;
                channel
                    .basic_qos(COLLECT_PREFETCH, BasicQosOptions::default())
                    .await?;
                let consumer = channel
                    .basic_consume(
                        self.namespace.replies_queue().into(),
                        "".into(), // let the broker name this consumer
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .context("consuming the reply queue")?;
                let store = self.store.clone();
                let collected = self.collected.clone();
                let trust = self.trust.clone();
                let closing = Arc::clone(&self.closing);
                anyhow::Ok(tokio::spawn(collect(
                    consumer, store, collected, trust, closing,
                )))
            })
            .await?;
        Ok(())
    }

    // ANCHOR: catch_up
    /// Stores the answers waiting in the reply queue, if no collector runs
    /// in this process. One-shot commands call this before reading Redis.
    pub async fn catch_up(&self) -> crate::Result<usize> {
        if self.collector.initialized() {
            return Ok(0);
        }
        let channel = self.connection.create_channel().await?;
        let mut stored = 0;
        while let Some(message) = channel
            .basic_get(
                self.namespace.replies_queue().into(),
                BasicGetOptions::default(),
            )
            .await
            .context("reading the reply queue")?
        {
            let delivery = &message.delivery;
            if accept(&self.store, &self.collected, &self.trust, delivery)
                .await?
                .is_some()
            {
                stored += 1;
            }
            delivery.ack(BasicAckOptions::default()).await?;
        }
        channel.close(200, "caught up".into()).await?;
        Ok(stored)
    }
    // ANCHOR_END: catch_up

    // ANCHOR: wait
    /// Waits until task `id` is settled (every host answered, or the deadline
    /// passed) and returns it; `None` if there is no such task.
    pub async fn wait_for(&self, id: u64) -> crate::Result<Option<Task>> {
        self.ensure_collector().await?;
        // Subscribe before looking, so no answer slips between the two.
        let mut collected = self.subscribe();
        loop {
            let Some(task) = self.store.load(id).await? else {
                return Ok(None);
            };
            let now = crate::now_ms();
            if task.is_settled(now) {
                return Ok(Some(task));
            }
            let deadline =
                tokio::time::Instant::now() + Duration::from_millis(task.meta.deadline_ms - now);
            let news_for_this_task = async {
                loop {
                    match collected.recv().await {
                        Ok(event) if event.task == id => return,
                        Ok(_) => continue,
                        // Missed some events: look at Redis again to be sure.
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                    }
                }
            };
            tokio::select! {
                () = news_for_this_task => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
    // ANCHOR_END: wait

    /// Closes the connection politely, so the broker need not notice a
    /// vanished client by itself.
    pub async fn close(self) -> crate::Result<()> {
        // Not by aborting the collector: that would drop its channel, which
        // lapin then starts closing on its own, racing the close below.
        self.closing.store(true, Ordering::Relaxed);
        self.connection.close(200, "bye".into()).await?;
        Ok(())
    }

    async fn store_answer(
        &self,
        id: u64,
        host: &HostName,
        answer: &Answer,
    ) -> crate::Result<Saved> {
        let saved = self.store.save(id, host, answer).await?;
        let _ = self.collected.send(Collected {
            task: id,
            host: host.clone(),
            saved,
            at: Instant::now(),
        });
        Ok(saved)
    }
}

// ANCHOR: collect
/// The collector: stores every reply, then acknowledges it.
async fn collect(
    mut consumer: Consumer,
    store: Store,
    collected: broadcast::Sender<Collected>,
    trust: Trust,
    closing: Arc<AtomicBool>,
) {
    while let Some(delivery) = consumer.next().await {
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(_) if closing.load(Ordering::Relaxed) => return,
            Err(error) => {
                eprintln!("error: lost the reply queue: {error}");
                return;
            }
        };
        match accept(&store, &collected, &trust, &delivery).await {
            Ok(_) => {
                if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
                    // While `rpc` closes, an ack can meet the channel
                    // closing. Nothing is lost: the answer is in Redis, and
                    // the next collector, given it again, finds a duplicate.
                    if !closing.load(Ordering::Relaxed) {
                        eprintln!("error: could not acknowledge a reply: {error}");
                    }
                    return;
                }
            }
            Err(error) => {
                // Not acknowledged: the reply stays in RabbitMQ for the next
                // `rpc` to collect, once Redis is back.
                eprintln!(
                    "error: {error:#}\n  Answers wait in RabbitMQ until an rpc can store them."
                );
                return;
            }
        }
    }
}

/// Stores one reply, if it passes the checks. `Ok(None)` for a message
/// that is not a believable reply to one of our tasks: it is dropped, and
/// if it failed a check, counted. `Err` only when Redis fails.
async fn accept(
    store: &Store,
    collected: &broadcast::Sender<Collected>,
    trust: &Trust,
    delivery: &lapin::message::Delivery,
) -> crate::Result<Option<Collected>> {
    // Checked before a byte of the body is parsed.
    let bytes = delivery.data.len();
    let checked = if bytes > MAX_REPLY_BYTES {
        Err(Rejected::TooLarge {
            bytes,
            limit: MAX_REPLY_BYTES,
        })
    } else {
        check_signed(
            &trust.key,
            Direction::Reply,
            &trust.user,
            &delivery.properties,
            &delivery.data,
        )
    };
    let id = match checked {
        Ok(id) => id,
        Err(rejected) => {
            let total = store.count_dropped().await?;
            eprintln!(
                "warning: dropped a reply that failed the check: {rejected} \
                 ({total} dropped in this namespace)"
            );
            return Ok(None);
        }
    };
    let Some((task, host)) = parse_correlation_id(&id) else {
        tracing::warn!("dropped a reply with correlation id {id:?}: not one of ours");
        return Ok(None);
    };
    let reply: Reply = match serde_json::from_slice(&delivery.data) {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!("dropped the reply of {host} to task {task}: {error}");
            return Ok(None);
        }
    };
    let answer = Answer::Replied {
        reply,
        received_ms: crate::now_ms(),
    };
    let saved = store.save(task, &host, &answer).await?;
    if saved == Saved::Unknown {
        tracing::warn!("dropped the reply of {host} to task {task}: no such task (expired?)");
    }
    let event = Collected {
        task,
        host,
        saved,
        at: Instant::now(),
    };
    let _ = collected.send(event.clone()); // nobody listening is fine
    Ok(Some(event))
}
// ANCHOR_END: collect
