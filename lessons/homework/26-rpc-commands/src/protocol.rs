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
//! | `user_id`        | the sender's broker user (RabbitMQ checks it) | the agent's broker user |
//! | `x-rpc-signature` header | HMAC of body and correlation id | the same, for the reply |
//!
//! Both directions have a size limit, checked before a body is parsed, and
//! a message that fails a check is dropped and counted ([`Rejected`]).

use std::fmt;

use lapin::options::ExchangeDeclareOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, ExchangeKind};
use serde::{Deserialize, Serialize};

use crate::auth::{Direction, Key, SIGNATURE_HEADER};
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

// ANCHOR: limits
/// The largest request an agent reads. A command line is a few hundred
/// bytes; anything near this size is a mistake or an attack, and is refused
/// before it is parsed.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The largest reply an agent sends and `rpc` reads: two outputs of at most
/// [`MAX_OUTPUT_LIMIT`] each, escaped as JSON, with room to spare. Far below
/// RabbitMQ's own limit on a message (128 MiB), which an agent must never
/// reach: the broker would close its channel.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// The most an agent's `--max-output` may be set to.
pub const MAX_OUTPUT_LIMIT: usize = 1024 * 1024;

/// The longest refusal or error reason an agent sends, in characters. A
/// reason may quote the command, and the command comes from the sender.
pub const MAX_REASON_CHARS: usize = 1000;
// ANCHOR_END: limits

/// At most `max` characters of `text`, with `…` where it was cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
    }
}

impl Reply {
    // ANCHOR: fit
    /// This reply as a JSON body of at most `max_bytes`: reasons are
    /// clipped, then the outputs are cut (and marked truncated) until the
    /// whole fits. Whatever the command printed or the sender asked, the
    /// answer stays small enough to send.
    pub fn to_body(mut self, max_bytes: usize) -> Vec<u8> {
        if let Outcome::Refused { reason } | Outcome::FailedToStart { reason } = &mut self.outcome {
            *reason = clip(reason, MAX_REASON_CHARS);
        }
        loop {
            // Serialising plain data to a Vec cannot fail.
            let body = serde_json::to_vec(&self).expect("a reply serialises");
            if body.len() <= max_bytes
                || (self.stdout.text.is_empty() && self.stderr.text.is_empty())
            {
                return body;
            }
            for output in [&mut self.stdout, &mut self.stderr] {
                let keep = output.text.len() / 2;
                let keep = (0..=keep)
                    .rev()
                    .find(|i| output.text.is_char_boundary(*i))
                    .unwrap_or(0);
                output.truncated |= keep < output.text.len();
                output.text.truncate(keep);
            }
        }
    }
    // ANCHOR_END: fit
}

// ANCHOR: checks
/// Why a message was dropped instead of handled. None of these is answered:
/// an answer would go wherever the message's `reply_to` says, with whatever
/// correlation id it carries, and both could be forged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// No correlation id, or not `TASK/HOST`.
    NoCorrelationId,
    /// No `x-rpc-signature` header.
    Unsigned,
    /// A signature that the namespace's key did not make.
    BadSignature,
    /// Published by another broker user than the namespace's.
    WrongUser { user: Option<String> },
    /// Larger than the limit for its direction.
    TooLarge { bytes: usize, limit: usize },
    /// A request whose answer would go to another queue than this
    /// namespace's reply queue.
    ForeignReplyTo { reply_to: Option<String> },
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::NoCorrelationId => f.write_str("no correlation id of the form TASK/HOST"),
            Rejected::Unsigned => f.write_str("not signed"),
            Rejected::BadSignature => f.write_str("its signature is not made with our key"),
            Rejected::WrongUser { user } => {
                write!(f, "published by broker user {user:?}, not ours")
            }
            Rejected::TooLarge { bytes, limit } => {
                write!(f, "{bytes} bytes, over the limit of {limit}")
            }
            Rejected::ForeignReplyTo { reply_to } => {
                write!(
                    f,
                    "it asks for the answer to go to {reply_to:?}, not our reply queue"
                )
            }
        }
    }
}

/// The properties of a signed message: content type, correlation id, the
/// broker user, and the signature of `body` in a header.
pub fn signed_properties(
    key: &Key,
    direction: Direction,
    user: &str,
    correlation_id: &str,
    body: &[u8],
) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        SIGNATURE_HEADER.into(),
        AMQPValue::LongString(key.sign(direction, correlation_id, body).into()),
    );
    BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_correlation_id(correlation_id.into())
        .with_user_id(user.into())
        .with_headers(headers)
}

/// Checks a message's broker user and signature; returns its correlation
/// id. Runs before anything of the body is parsed.
pub fn check_signed(
    key: &Key,
    direction: Direction,
    user: &str,
    properties: &BasicProperties,
    body: &[u8],
) -> Result<String, Rejected> {
    let sender = properties.user_id().as_ref().map(|u| u.to_string());
    if sender.as_deref() != Some(user) {
        return Err(Rejected::WrongUser { user: sender });
    }
    let Some(correlation_id) = properties
        .correlation_id()
        .as_ref()
        .map(|id| id.to_string())
    else {
        return Err(Rejected::NoCorrelationId);
    };
    let signature = properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(SIGNATURE_HEADER).cloned());
    let signature = match signature {
        Some(AMQPValue::LongString(text)) => String::from_utf8_lossy(text.as_bytes()).into_owned(),
        Some(_) | None => return Err(Rejected::Unsigned),
    };
    if !key.verify(direction, &correlation_id, body, &signature) {
        return Err(Rejected::BadSignature);
    }
    Ok(correlation_id)
}
// ANCHOR_END: checks

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
    fn every_reply_fits_its_cap_refusals_included() {
        let huge = |text: String| Output {
            bytes: text.len() as u64,
            text,
            truncated: false,
        };
        let reply = Reply {
            agent: "web-1".into(),
            outcome: Outcome::Refused {
                reason: "'\\''".repeat(1_000_000),
            },
            // Control bytes cost six bytes each once escaped as JSON.
            stdout: huge("\u{1}".repeat(1_000_000)),
            stderr: huge("é".repeat(500_000)),
            started_ms: 0,
            duration_ms: 0,
        };
        let body = reply.to_body(64 * 1024);
        assert!(body.len() <= 64 * 1024, "{} bytes", body.len());
        let back: Reply = serde_json::from_slice(&body).unwrap();
        assert!(back.stdout.truncated && back.stderr.truncated);
        assert_eq!(back.stdout.bytes, 1_000_000, "the count stays true");
        let Outcome::Refused { reason } = back.outcome else {
            panic!("{:?}", back.outcome)
        };
        assert!(reason.chars().count() < MAX_REASON_CHARS + 40, "{reason}");
        assert!(reason.ends_with("(4000000 bytes in all)"), "{reason}");
    }

    #[test]
    fn outcomes_are_tagged_json() {
        let json = serde_json::to_string(&Outcome::Exited { code: 0 }).unwrap();
        assert_eq!(json, r#"{"state":"exited","code":0}"#);
    }
}
