//! Tasks and their results, kept in Redis.
//!
//! Keeping them in Redis rather than in the shell's memory is what lets
//! `check_task 42` work from another terminal, or after the shell was
//! restarted; and `INCR` hands out task ids that two shells never share.
//!
//! ```text
//! NS:next-task-id          string   INCR → the next task id
//! NS:task:42               hash     meta      → {"command":"df -h","hosts":[...],...}
//!                                   host:web-1 → pending | {"kind":"replied",...}
//!                                   host:db-9  → {"kind":"no_agent"}
//! NS:recent                list     42, 41, 40, ... (newest first, for `tasks`)
//! NS:dropped-replies       string   INCR for each reply that failed the checks
//! ```
//!
//! Everything expires [`KEEP_FOR`] after it was last written. The counter is
//! written with every new task, so it is always the last to go: ids start
//! again at 1 only when no task is left that could be confused with a new one.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};

use crate::names::{HostName, Namespace};
use crate::protocol::Reply;

/// How long tasks and their results are kept.
pub const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// How many task ids `NS:recent` remembers.
const RECENT_LENGTH: isize = 1000;

/// The value of a host's field until its answer arrives.
const PENDING: &str = "pending";

/// What a task asked for, stored once when it is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMeta {
    /// The command as the user typed it, re-quoted from its words.
    pub command: String,
    /// The hosts, in the order they were given.
    pub hosts: Vec<String>,
    /// When it was sent, in ms since the Unix epoch.
    pub created_ms: u64,
    /// When a host that has not answered counts as timed out.
    pub deadline_ms: u64,
    /// The timeout each agent was asked to apply.
    pub timeout_ms: u64,
}

// ANCHOR: answer
/// What is known about one host of a task, besides "pending".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// RabbitMQ returned the command: no agent serves this host.
    NoAgent,
    /// The agent answered.
    Replied {
        reply: Reply,
        /// When the answer was stored, to tell a late one.
        received_ms: u64,
    },
}
// ANCHOR_END: answer

/// A task as read back from Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id, as `run` printed it.
    pub id: u64,
    /// What was asked, of whom, and when.
    pub meta: TaskMeta,
    /// Each host with its answer (`None`: still pending), in `meta.hosts` order.
    pub answers: Vec<(String, Option<Answer>)>,
}

impl Task {
    /// Whether nothing more is worth waiting for: every host answered, or
    /// the deadline has passed.
    pub fn is_settled(&self, now_ms: u64) -> bool {
        now_ms >= self.meta.deadline_ms || self.answers.iter().all(|(_, answer)| answer.is_some())
    }
}

/// What happened to an answer that was offered to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// It was the host's first answer: stored.
    New,
    /// The host had answered already: ignored, the first answer stands.
    Duplicate,
    /// No such task (expired, or never ours) or no such host in it: ignored.
    Unknown,
}

/// The runner's view of Redis.
#[derive(Clone)]
pub struct Store {
    /// Multiplexed: clones share one connection, and requests from many
    /// tasks are pipelined on it.
    redis: MultiplexedConnection,
    /// Which keys are ours.
    namespace: Namespace,
}

// ANCHOR: save_script
/// Stores an answer only if the host is still pending, in one step on the
/// server. Checking with HGET and then writing with HSET from the client
/// would let two collectors both see "pending" and both write.
const SAVE_SCRIPT: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -1 end
if current ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";
// ANCHOR_END: save_script

impl Store {
    pub fn new(redis: MultiplexedConnection, namespace: Namespace) -> Self {
        Store { redis, namespace }
    }

    // ANCHOR: create
    /// Creates a task: a fresh id from `INCR`, then the task's hash with
    /// every host pending, all in one MULTI/EXEC so no reader ever sees half
    /// a task. Must happen before any command is sent: an answer for a task
    /// Redis does not know is dropped.
    pub async fn create(&self, meta: &TaskMeta) -> crate::Result<u64> {
        let mut redis = self.redis.clone();
        let id: u64 = redis
            .incr(self.namespace.next_id_key(), 1)
            .await
            .context("getting a task id from Redis")?;
        let key = self.namespace.task_key(id);
        let recent = self.namespace.recent_key();
        let keep = KEEP_FOR.as_secs() as i64;
        let pending: Vec<(String, &str)> = meta
            .hosts
            .iter()
            .map(|host| (host_field(host), PENDING))
            .collect();
        redis::pipe()
            .atomic()
            .hset(&key, "meta", serde_json::to_string(meta)?)
            .ignore()
            .hset_multiple(&key, &pending)
            .ignore()
            .expire(&key, keep)
            .ignore()
            .lpush(&recent, id)
            .ignore()
            .ltrim(&recent, 0, RECENT_LENGTH - 1)
            .ignore()
            .expire(&recent, keep)
            .ignore()
            .expire(self.namespace.next_id_key(), keep)
            .ignore()
            .query_async::<()>(&mut redis)
            .await
            .with_context(|| format!("storing task {id} in Redis"))?;
        Ok(id)
    }
    // ANCHOR_END: create

    /// Stores `answer` as host `host`'s result of task `id`, unless the
    /// host has one already. Safe to call twice with the same answer: that
    /// is what makes collecting replies at-least-once harmless.
    pub async fn save(&self, id: u64, host: &HostName, answer: &Answer) -> crate::Result<Saved> {
        let mut redis = self.redis.clone();
        let result: i64 = redis::Script::new(SAVE_SCRIPT)
            .key(self.namespace.task_key(id))
            .arg(host_field(host.as_str()))
            .arg(serde_json::to_string(answer)?)
            .arg(PENDING)
            .invoke_async(&mut redis)
            .await
            .with_context(|| format!("storing {host}'s answer to task {id} in Redis"))?;
        Ok(match result {
            1 => Saved::New,
            0 => Saved::Duplicate,
            _ => Saved::Unknown,
        })
    }

    /// Reads task `id`, or `None` if there is no such task (any more).
    pub async fn load(&self, id: u64) -> crate::Result<Option<Task>> {
        let mut redis = self.redis.clone();
        let fields: HashMap<String, String> = redis
            .hgetall(self.namespace.task_key(id))
            .await
            .with_context(|| format!("reading task {id} from Redis"))?;
        let Some(meta) = fields.get("meta") else {
            return Ok(None);
        };
        let meta: TaskMeta =
            serde_json::from_str(meta).with_context(|| format!("task {id} in Redis is damaged"))?;
        let answers = meta
            .hosts
            .iter()
            .map(|host| {
                let answer = fields
                    .get(&host_field(host))
                    .filter(|value| *value != PENDING)
                    .and_then(|value| serde_json::from_str(value).ok());
                (host.clone(), answer)
            })
            .collect();
        Ok(Some(Task { id, meta, answers }))
    }

    /// Counts one more reply dropped for failing the checks, and returns
    /// the count so far.
    pub async fn count_dropped(&self) -> crate::Result<u64> {
        let mut redis = self.redis.clone();
        let key = self.namespace.dropped_key();
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, KEEP_FOR.as_secs() as i64)
            .ignore()
            .query_async(&mut redis)
            .await
            .context("counting a dropped reply in Redis")?;
        Ok(count)
    }

    /// How many replies were dropped for failing the checks (in the last
    /// [`KEEP_FOR`]).
    pub async fn dropped(&self) -> crate::Result<u64> {
        let mut redis = self.redis.clone();
        let count: Option<u64> = redis
            .get(self.namespace.dropped_key())
            .await
            .context("reading the count of dropped replies from Redis")?;
        Ok(count.unwrap_or(0))
    }

    /// The `count` most recent tasks that still exist, newest first.
    pub async fn recent(&self, count: usize) -> crate::Result<Vec<Task>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut redis = self.redis.clone();
        let last = isize::try_from(count)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let ids: Vec<u64> = redis
            .lrange(self.namespace.recent_key(), 0, last)
            .await
            .context("reading the recent tasks from Redis")?;
        let mut tasks = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(task) = self.load(id).await? {
                tasks.push(task);
            }
        }
        Ok(tasks)
    }
}

fn host_field(host: &str) -> String {
    format!("host:{host}")
}
