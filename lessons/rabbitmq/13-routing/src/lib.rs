//! Lesson 13: routing: each subscriber picks the messages it wants.
//!
//! A *direct* exchange compares a message's routing key with each
//! binding's key, and delivers to the queues whose key is equal:
//!
//! ```text
//!                                          error   ┌──▶ [amq.gen-A] ──▶ receive-logs-direct error
//!  emit-log-direct ──▶ (direct_logs: direct) ──────┤
//!     key "error"                    info, warning,│
//!                                          error   └──▶ [amq.gen-B] ──▶ receive-logs-direct info warning error
//! ```
//!
//! A *headers* exchange ignores the routing key and looks at the message's
//! headers instead. A binding lists headers and says whether the message
//! must have **all** of them (`x-match: all`) or **any** one (`x-match: any`):
//!
//! ```text
//!                                              x-match all: format=pdf type=report
//!  emit-log-headers ──▶ (headers_logs: headers) ──┬──▶ [amq.gen-C] ──▶ receive-logs-headers --match all ...
//!   format=pdf type=log                           └──▶ [amq.gen-D] ──▶ receive-logs-headers --match any ...
//!                                              x-match any: format=pdf type=report
//! ```
//!
//! (The message above reaches only D: it has `format=pdf` but not
//! `type=report`.)

use std::fmt;
use std::str::FromStr;

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Consumer, ExchangeKind};
use support::amqp::Binding;

/// The direct exchange of RabbitMQ's fourth tutorial (and of the notes).
pub const DIRECT_EXCHANGE: &str = "direct_logs";

/// The headers exchange. The tutorials have none; the name follows theirs.
pub const HEADERS_EXCHANGE: &str = "headers_logs";

/// What the emitters send when given no message.
pub const DEFAULT_MESSAGE: &str = "Hello World!";

/// The severity `emit-log-direct` uses when given none.
pub const DEFAULT_SEVERITY: &str = "info";

/// Declares an exchange of the given type (default options, as the Python
/// tutorials use, so that both can declare it).
pub async fn declare_exchange(
    channel: &Channel,
    exchange: &ShortString,
    kind: ExchangeKind,
) -> anyhow::Result<()> {
    let what = match kind {
        ExchangeKind::Direct => "direct",
        ExchangeKind::Headers => "headers",
        ExchangeKind::Fanout => "fanout",
        ExchangeKind::Topic => "topic",
        _ => "custom",
    };
    channel
        .exchange_declare(
            exchange.clone(),
            kind,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the {what} exchange `{exchange}`"))
}

// ---------------------------------------------------------------------------
// Direct
// ---------------------------------------------------------------------------

// ANCHOR: emit_direct
/// Publishes a message with its severity as the routing key.
pub async fn emit_direct(
    channel: &Channel,
    exchange: &ShortString,
    severity: &ShortString,
    message: &[u8],
) -> lapin::Result<()> {
    channel
        .basic_publish(
            exchange.clone(),
            severity.clone(),
            BasicPublishOptions::default(),
            message,
            BasicProperties::default(),
        )
        .await?;
    Ok(())
}
// ANCHOR_END: emit_direct

// ANCHOR: bind_direct
/// One binding per severity: a queue may be bound many times, and gets a
/// message if *any* of its bindings matches (once, even if several do).
pub fn severity_bindings(severities: &[ShortString]) -> Vec<Binding> {
    severities.iter().cloned().map(Binding::key).collect()
}
// ANCHOR_END: bind_direct

/// Subscribes to the messages whose severity is one of `severities`.
pub async fn subscribe_direct(
    channel: &Channel,
    exchange: &ShortString,
    severities: &[ShortString],
) -> lapin::Result<(ShortString, Consumer)> {
    support::amqp::subscribe(channel, exchange, &severity_bindings(severities)).await
}

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

/// One header, `name=value`, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name (an AMQP short string: at most 255 bytes).
    pub name: ShortString,
    /// Its value, sent as a string.
    pub value: String,
}

impl FromStr for Header {
    type Err = String;

    /// Parses `name=value`; the value may be empty, the name may not.
    fn from_str(text: &str) -> Result<Header, String> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=VALUE, got {text:?}"))?;
        if name.is_empty() {
            return Err(format!("a header needs a name: {text:?}"));
        }
        Ok(Header {
            name: support::amqp::short_string(name)?,
            value: value.to_string(),
        })
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

// ANCHOR: x_match
/// How a headers binding matches: the two values of its `x-match` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XMatch {
    /// The message must have every header of the binding, with its value.
    All,
    /// The message must have at least one of them, with its value.
    Any,
}

impl XMatch {
    /// The value of the `x-match` argument: `all` or `any`.
    pub fn as_str(self) -> &'static str {
        match self {
            XMatch::All => "all",
            XMatch::Any => "any",
        }
    }
}

/// Headers as an AMQP field table, each value a (long) string, as Python's
/// pika sends a `str`, so that both sides compare equal values.
pub fn header_table(headers: &[Header]) -> FieldTable {
    let mut table = FieldTable::default();
    for header in headers {
        table.insert(
            header.name.clone(),
            AMQPValue::LongString(LongString::from(header.value.as_str())),
        );
    }
    table
}

/// A headers binding: the routing key is ignored, so it is empty; the
/// arguments are the headers to look for, plus `x-match`.
pub fn headers_binding(x_match: XMatch, headers: &[Header]) -> Binding {
    let mut arguments = header_table(headers);
    arguments.insert(
        "x-match".into(),
        AMQPValue::LongString(x_match.as_str().into()),
    );
    Binding {
        key: "".into(),
        arguments,
    }
}
// ANCHOR_END: x_match

// ANCHOR: headers_match
/// The broker's rule for a headers binding, written out: does a message
/// with `message` headers match a binding on `binding` with `x_match`?
///
/// The tests check this against the real broker, case by case.
pub fn headers_match(x_match: XMatch, binding: &[Header], message: &[Header]) -> bool {
    let has = |wanted: &Header| message.iter().any(|header| header == wanted);
    match x_match {
        XMatch::All => binding.iter().all(has),
        XMatch::Any => binding.iter().any(has),
    }
}
// ANCHOR_END: headers_match

// ANCHOR: emit_headers
/// Publishes a message with `headers`. The routing key is empty: a headers
/// exchange does not look at it.
pub async fn emit_headers(
    channel: &Channel,
    exchange: &ShortString,
    headers: &[Header],
    message: &[u8],
) -> lapin::Result<()> {
    let properties = BasicProperties::default().with_headers(header_table(headers));
    channel
        .basic_publish(
            exchange.clone(),
            "".into(),
            BasicPublishOptions::default(),
            message,
            properties,
        )
        .await?;
    Ok(())
}
// ANCHOR_END: emit_headers

/// Subscribes to the messages whose headers match `headers` by `x_match`.
pub async fn subscribe_headers(
    channel: &Channel,
    exchange: &ShortString,
    x_match: XMatch,
    headers: &[Header],
) -> lapin::Result<(ShortString, Consumer)> {
    support::amqp::subscribe(channel, exchange, &[headers_binding(x_match, headers)]).await
}

/// A received message's headers as `{name=value, ...}`, for printing.
pub fn show_headers(properties: &BasicProperties) -> String {
    let mut shown = Vec::new();
    if let Some(table) = properties.headers() {
        for (name, value) in table.inner() {
            let value = match value {
                AMQPValue::LongString(text) => {
                    String::from_utf8_lossy(text.as_bytes()).into_owned()
                }
                AMQPValue::ShortString(text) => text.to_string(),
                other => format!("{other:?}"),
            };
            shown.push(format!("{name}={value}"));
        }
    }
    format!("{{{}}}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_equals_value() {
        let header: Header = "format=pdf".parse().unwrap();
        assert_eq!(header.name.as_str(), "format");
        assert_eq!(header.value, "pdf");
        assert_eq!(header.to_string(), "format=pdf");
        assert_eq!("note=".parse::<Header>().unwrap().value, "");
        assert_eq!("a=b=c".parse::<Header>().unwrap().value, "b=c");
        assert!("format".parse::<Header>().is_err());
        assert!("=pdf".parse::<Header>().is_err());
        assert!(format!("{}=x", "n".repeat(256)).parse::<Header>().is_err());
    }
}
