//! The chaos run: a producer and a consumer stream messages through one
//! queue while a "chaos monkey" kills -9 the node that holds it, and at the
//! end the two sides' counts are put next to each other.
//!
//! - With a **quorum queue** the monkey kills the queue's *leader* several
//!   times, restarting each victim before the next kill (three nodes
//!   survive one loss at a time: a majority is two).
//! - With a **classic queue** it kills the queue's only node once, keeps it
//!   down a few seconds, and starts it again.
//!
//! The clients never learn about the kills except through their broken
//! connections: everything they do is in [`crate::produce`] and
//! [`crate::consume`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use support::testkit::RabbitCluster;

use crate::nodes::{leader, new_leader, short};
use crate::{Consumed, Expected, Produced, ProducerControl, QueueKind, consume, produce};

/// How a run is paced.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Confirmed messages between two kills (and before the first, and
    /// after the last).
    pub between: u64,
    /// Messages per publish batch.
    pub batch: usize,
    /// Pause between two batches.
    pub pause: Duration,
    /// How long the classic queue's node stays down.
    pub outage: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            between: 200,
            batch: 20,
            pause: Duration::from_millis(50),
            outage: Duration::from_secs(5),
        }
    }
}

/// One kill of the monkey.
#[derive(Debug, Clone)]
pub struct Kill {
    /// The node killed (the queue's leader, for a quorum queue).
    pub node: String,
    /// Messages confirmed when it died.
    pub at_confirmed: u64,
    /// The node that leads the queue afterwards (quorum queues only).
    pub new_leader: Option<String>,
    /// How long until the new leader was seen.
    pub election: Option<Duration>,
}

/// What a run measured: both sides' counts and the kills.
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: QueueKind,
    pub queue: String,
    pub kills: Vec<Kill>,
    pub produced: Produced,
    pub consumed: Consumed,
}

impl Report {
    /// Confirmed by the broker, never consumed: what the broker lost.
    pub fn lost(&self) -> BTreeSet<u64> {
        self.produced
            .confirmed
            .difference(&self.consumed.ids)
            .copied()
            .collect()
    }

    /// Consumed although never confirmed: published, but the confirm died
    /// with a connection (the producer sent it again, or gave up on it).
    pub fn unconfirmed_but_kept(&self) -> usize {
        self.consumed
            .ids
            .difference(&self.produced.confirmed)
            .count()
    }
}

// ANCHOR: report
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.produced;
        let c = &self.consumed;
        let lost = self.lost();
        writeln!(
            f,
            "{} queue `{}`, {} kill(s):",
            self.kind,
            self.queue,
            self.kills.len()
        )?;
        writeln!(
            f,
            "  confirmed by the broker (acknowledged): {}",
            p.confirmed.len()
        )?;
        writeln!(
            f,
            "  consumed, distinct ids (recovered):     {}",
            c.ids.len()
        )?;
        writeln!(
            f,
            "  confirmed but never consumed (lost):    {}",
            lost.len()
        )?;
        if let (Some(first), Some(last)) = (lost.first(), lost.last()) {
            writeln!(f, "    lost ids {first}..={last}")?;
        }
        writeln!(
            f,
            "  deliveries {}, duplicates {} (flagged redelivered {})",
            c.deliveries, c.duplicates, c.redelivered
        )?;
        writeln!(
            f,
            "  producer: {} resent ({} nacked, {} confirm timeouts), {} reconnects; consumer: {} reconnects",
            p.resent, p.nacked, p.timed_out, p.reconnects, c.reconnects
        )?;
        if let Some(first) = c.refusals.first() {
            // The broker's own words, once.
            let words = first
                .rfind("NOT_FOUND - ")
                .map_or(first.as_str(), |at| &first[at..]);
            writeln!(f, "  consume refused {} time(s): {words}", c.refusals.len())?;
        }
        Ok(())
    }
}
// ANCHOR_END: report

/// The cluster, handed to the monkey's thread and back.
type Monkey = tokio::task::JoinHandle<anyhow::Result<(RabbitCluster, Vec<Kill>)>>;

// ANCHOR: quorum_run
/// Streams through a quorum queue while its leader is killed `kills` times.
pub async fn quorum_run(
    cluster: RabbitCluster,
    queue: &str,
    kills: usize,
    pace: Pace,
) -> anyhow::Result<(RabbitCluster, Report)> {
    let urls = cluster.urls();
    // Declared through rabbit-1, which usually makes it the first leader.
    {
        let (connection, _) = crate::connect_any(&urls, 0).await?;
        let channel = connection.create_channel().await?;
        crate::declare_queue(&channel, queue, QueueKind::Quorum).await?;
        let _ = connection.close(200, "declared".into()).await;
    }
    let (producer, consumer, control, expected) =
        start_clients(&urls, queue, QueueKind::Quorum, pace);
    let progress = control.progress.clone();
    let name = queue.to_string();
    let monkey: Monkey = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        let mut done = Vec::new();
        for round in 1..=kills as u64 {
            wait_for_progress(&progress, round * pace.between)?;
            let victim = leader(&mut cluster, &name)?.context("the queue has no leader")?;
            let at_confirmed = progress.load(Ordering::SeqCst);
            let pid = cluster.pid(victim).unwrap_or(0);
            cluster.kill(victim);
            let (elected, took) = new_leader(&mut cluster, &name, victim, Duration::from_secs(60))?;
            println!(
                "kill {round}: kill -9 {} (pid {pid}), the leader, at {at_confirmed} confirmed; \
                 new leader {} after {} ms",
                short(&cluster, victim),
                short(&cluster, elected),
                took.as_millis()
            );
            done.push(Kill {
                node: short(&cluster, victim),
                at_confirmed,
                new_leader: Some(short(&cluster, elected)),
                election: Some(took),
            });
            // Back to three before the next kill: with two down, no
            // majority is left (the `cluster` program shows that).
            let started = Instant::now();
            cluster.start_again(victim)?;
            println!(
                "        {} restarted in {:.1} s and rejoined as a follower",
                short(&cluster, victim),
                started.elapsed().as_secs_f64()
            );
        }
        Ok((cluster, done))
    });
    finish(
        monkey,
        producer,
        consumer,
        control,
        expected,
        queue,
        QueueKind::Quorum,
        kills,
        pace,
    )
    .await
}
// ANCHOR_END: quorum_run

// ANCHOR: classic_run
/// Streams through a classic queue that lives on rabbit-1, and kills
/// rabbit-1 mid-stream for [`Pace::outage`].
pub async fn classic_run(
    cluster: RabbitCluster,
    queue: &str,
    pace: Pace,
) -> anyhow::Result<(RabbitCluster, Report)> {
    let urls = cluster.urls();
    // A classic queue lives where it was declared: on rabbit-1.
    {
        let connection = support::amqp::connect(&urls[0]).await?;
        let channel = connection.create_channel().await?;
        crate::declare_queue(&channel, queue, QueueKind::Classic).await?;
        let _ = connection.close(200, "declared".into()).await;
    }
    let (producer, consumer, control, expected) =
        start_clients(&urls, queue, QueueKind::Classic, pace);
    let progress = control.progress.clone();
    let monkey: Monkey = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        let home = 0;
        wait_for_progress(&progress, pace.between)?;
        let at_confirmed = progress.load(Ordering::SeqCst);
        let pid = cluster.pid(home).unwrap_or(0);
        cluster.kill(home);
        println!(
            "kill 1: kill -9 {} (pid {pid}), the classic queue's home, at {at_confirmed} confirmed; \
             it stays down {} s",
            short(&cluster, home),
            pace.outage.as_secs()
        );
        let down = Instant::now();
        // Not a synchronisation: the outage is part of the experiment.
        std::thread::sleep(pace.outage);
        cluster.start_again(home)?;
        let during = progress.load(Ordering::SeqCst) - at_confirmed;
        println!(
            "        {} restarted after {:.1} s down; confirmed meanwhile (through another node): {during}",
            short(&cluster, home),
            down.elapsed().as_secs_f64()
        );
        let kill = Kill {
            node: short(&cluster, home),
            at_confirmed,
            new_leader: None,
            election: None,
        };
        Ok((cluster, vec![kill]))
    });
    finish(
        monkey,
        producer,
        consumer,
        control,
        expected,
        queue,
        QueueKind::Classic,
        1,
        pace,
    )
    .await
}
// ANCHOR_END: classic_run

type Clients = (
    tokio::task::JoinHandle<anyhow::Result<Produced>>,
    tokio::task::JoinHandle<anyhow::Result<Consumed>>,
    ProducerControl,
    Expected,
);

/// Starts the producer (on rabbit-1 first) and the consumer (on rabbit-2
/// first for a quorum queue; on rabbit-1 for a classic one, where its
/// queue is).
fn start_clients(urls: &[String], queue: &str, kind: QueueKind, pace: Pace) -> Clients {
    let control = ProducerControl {
        stop: Arc::new(AtomicBool::new(false)),
        progress: Arc::new(AtomicU64::new(0)),
    };
    let expected: Expected = Arc::new(Mutex::new(None));
    let producer = {
        let (urls, queue, control) = (urls.to_vec(), queue.to_string(), control.clone());
        tokio::spawn(async move { produce(&urls, &queue, pace.batch, pace.pause, control).await })
    };
    let consumer = {
        let (urls, queue, expected) = (urls.to_vec(), queue.to_string(), expected.clone());
        let first = if kind == QueueKind::Quorum { 1 } else { 0 };
        tokio::spawn(async move { consume(&urls, first, &queue, expected).await })
    };
    (producer, consumer, control, expected)
}

/// Lets the monkey finish, streams a last stretch, stops the producer, and
/// waits for the consumer to drain what was confirmed.
#[allow(clippy::too_many_arguments)]
async fn finish(
    monkey: Monkey,
    producer: tokio::task::JoinHandle<anyhow::Result<Produced>>,
    consumer: tokio::task::JoinHandle<anyhow::Result<Consumed>>,
    control: ProducerControl,
    expected: Expected,
    queue: &str,
    kind: QueueKind,
    kills: usize,
    pace: Pace,
) -> anyhow::Result<(RabbitCluster, Report)> {
    let monkey = monkey.await.context("the chaos monkey panicked")?;
    // Stop the clients whatever the monkey's fate.
    let (cluster, kill_list) = match monkey {
        Ok(done) => done,
        Err(error) => {
            control.stop.store(true, Ordering::SeqCst);
            return Err(error.context("the chaos monkey failed"));
        }
    };
    // A last stretch after the last kill, unless the producer gave up.
    let target = (kills as u64 + 1) * pace.between;
    let mut producer = producer;
    let reached = async {
        while control.progress.load(Ordering::SeqCst) < target {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        () = reached => {}
        ended = &mut producer => {
            ended.context("the producer panicked")??;
            anyhow::bail!("the producer stopped before the end");
        }
    }
    control.stop.store(true, Ordering::SeqCst);
    let produced = producer.await.context("the producer panicked")??;
    *expected.lock().unwrap_or_else(|e| e.into_inner()) = Some(produced.confirmed.clone());
    let consumed = consumer.await.context("the consumer panicked")??;
    let report = Report {
        kind,
        queue: queue.to_string(),
        kills: kill_list,
        produced,
        consumed,
    };
    Ok((cluster, report))
}

/// Waits (bounded polling) until `progress` reaches `target` confirmed.
fn wait_for_progress(progress: &AtomicU64, target: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + crate::RECONNECT_PATIENCE + crate::CONFIRM_TIMEOUT;
    while progress.load(Ordering::SeqCst) < target {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the producer stalled at {} of {target} confirmed messages",
            progress.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
