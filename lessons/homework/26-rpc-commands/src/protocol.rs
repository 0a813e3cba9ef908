//! What travels over RabbitMQ: a command for one host, and that host's reply.
//!
//! Bodies are JSON, so that you can read them in the management UI and write
//! an agent in another language. Who a message is for and what it answers
//! are not in the body but in the AMQP properties, as in lesson 15:
//!
//! | property         | on a request                         | on a reply            |
//! |------------------|--------------------------------------|-----------------------|
//! | routing key      | the host name (`web-1`)              | the reply queue       |
//! | `correlation_id` | `TASK/HOST`, e.g. `42/web-1`         | copied from the request |
//! | `reply_to`       | the namespace's reply queue          | (none)                |
//! | `expiration`     | how long it may wait for a busy agent | (none)               |

use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, ExchangeKind};
use serde::{Deserialize, Serialize};

use crate::names::{HostName, Namespace};

/// The content type both directions use.
pub const CONTENT_TYPE: &str = "application/json";

// ANCHOR: messages
/// A command for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The program and its arguments, already split into words. No shell
    /// ever sees them, so `;`, `|` and `$(...)` are plain text.
    pub argv: Vec<String>,
    /// How long the command may run before the agent kills it.
    pub timeout_ms: u64,
}

/// What an agent answers: how the command ended, what it printed, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The agent's `--host` name, so an answer always says who gave it.
    pub agent: String,
    /// How it ended: exit code, killed, refused, ...
    pub outcome: Outcome,
    /// What it wrote to standard output, up to the agent's cap.
    pub stdout: Output,
    /// What it wrote to standard error, up to the agent's cap.
    pub stderr: Output,
    /// When the agent started (or refused) it, in ms since the Unix epoch,
    /// by the agent's clock.
    pub started_ms: u64,
    /// How long it ran, measured by the agent.
    pub duration_ms: u64,
}

/// How a command ended on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    /// It ran and exited with this code (0 is success).
    Exited { code: i32 },
    /// It ran and was ended by a signal it did not expect (not our timeout).
    Signalled { signal: i32 },
    /// It ran past its timeout; the agent killed its whole process group.
    TimedOut { after_ms: u64 },
    /// The agent would not run it: not on the allow-list, or malformed.
    Refused { reason: String },
    /// The agent tried but could not start it (no such program, ...).
    FailedToStart { reason: String },
}

/// What a command wrote to stdout or stderr, up to the agent's cap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// The bytes kept, as text (invalid UTF-8 shown as `�`).
    pub text: String,
    /// How many bytes the command wrote in all, kept or not.
    pub bytes: u64,
    /// Whether `text` is only the beginning, because of the cap.
    pub truncated: bool,
}
// ANCHOR_END: messages

// ANCHOR: correlation
/// The correlation id of the request for `host` in task `task`: `42/web-1`.
///
/// One task sends one message per host; the id names both, so a reply alone
/// says where its result belongs, whichever `rpc` process collects it.
pub fn correlation_id(task: u64, host: &HostName) -> String {
    format!("{task}/{host}")
}

/// The task and host a reply's correlation id names, if it is one of ours.
pub fn parse_correlation_id(id: &str) -> Option<(u64, HostName)> {
    let (task, host) = id.split_once('/')?;
    Some((task.parse().ok()?, HostName::new(host).ok()?))
}
// ANCHOR_END: correlation

// ANCHOR: exchange
/// Declares the exchange commands go to. Both sides declare it, with the
/// same arguments, so it does not matter who starts first.
///
/// A *direct* exchange delivers a message to the queues bound with exactly
/// its routing key: the host name. A *topic* exchange would allow patterns
/// (`web-*`), which this runner does not want: a command names its hosts.
pub async fn declare_exchange(channel: &Channel, namespace: &Namespace) -> crate::Result<()> {
    let exchange = namespace.exchange();
    channel
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|error| {
            anyhow::Error::new(error).context(format!("declaring the exchange {exchange}"))
        })
}
// ANCHOR_END: exchange

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_round_trip() {
        let host = HostName::new("web-1").unwrap();
        let id = correlation_id(42, &host);
        assert_eq!(id, "42/web-1");
        assert_eq!(parse_correlation_id(&id), Some((42, host)));
        assert_eq!(parse_correlation_id("42"), None);
        assert_eq!(parse_correlation_id("x/web-1"), None);
        assert_eq!(parse_correlation_id("1/bad host"), None);
    }

    #[test]
    fn outcomes_are_tagged_json() {
        let json = serde_json::to_string(&Outcome::Exited { code: 0 }).unwrap();
        assert_eq!(json, r#"{"state":"exited","code":0}"#);
    }
}
