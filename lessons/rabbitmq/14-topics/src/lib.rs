//! Lesson 14: topics: subscribe by pattern.
//!
//! A routing key for a *topic* exchange is a list of **words** separated by
//! dots, such as `kern.critical` or `quick.orange.rabbit`. A binding key is
//! a pattern over those words, with two wildcards:
//!
//! - `*` stands for **exactly one word**;
//! - `#` stands for **zero or more words**.
//!
//! ```text
//!                                             kern.*      ┌──▶ [amq.gen-A] ──▶ receive-logs-topic "kern.*" "*.critical"
//!  emit-log-topic ──▶ (topic_logs: topic) ── *.critical ──┤
//!   key "kern.critical"                           #       └──▶ [amq.gen-B] ──▶ receive-logs-topic "#"
//! ```
//!
//! The notes say `#` is "one or more characters" and `*` "any character".
//! That is wrong: wildcards match whole words, and only when they *are* a
//! whole word. `kern*` is not a pattern at all but the literal word
//! `kern*`, so it does not match `kernel`; `#.a` matches `a` (zero words,
//! then `a`); `*.a` matches `aa.a` but not `x.y.a`. The tests check every
//! one of these against a real broker.

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Consumer, ExchangeKind};
use support::amqp::Binding;

/// The exchange of RabbitMQ's fifth tutorial (and of the notes).
pub const EXCHANGE: &str = "topic_logs";

/// The routing key `emit-log-topic` uses when given none.
pub const DEFAULT_KEY: &str = "anonymous.info";

/// What `emit-log-topic` sends when given no message.
pub const DEFAULT_MESSAGE: &str = "Hello World!";

/// Declares the topic exchange (default options, as the tutorials do).
pub async fn declare_exchange(channel: &Channel, exchange: &ShortString) -> anyhow::Result<()> {
    channel
        .exchange_declare(
            exchange.clone(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the topic exchange `{exchange}`"))
}

// ANCHOR: emit
/// Publishes a message with a routing key of dot-separated words.
pub async fn emit(
    channel: &Channel,
    exchange: &ShortString,
    routing_key: &ShortString,
    message: &[u8],
) -> lapin::Result<()> {
    channel
        .basic_publish(
            exchange.clone(),
            routing_key.clone(),
            BasicPublishOptions::default(),
            message,
            BasicProperties::default(),
        )
        .await?;
    Ok(())
}
// ANCHOR_END: emit

// ANCHOR: subscribe
/// Subscribes with one binding per pattern. A message that several
/// patterns match arrives once.
pub async fn subscribe(
    channel: &Channel,
    exchange: &ShortString,
    patterns: &[ShortString],
) -> lapin::Result<(ShortString, Consumer)> {
    let bindings: Vec<Binding> = patterns.iter().cloned().map(Binding::key).collect();
    support::amqp::subscribe(channel, exchange, &bindings).await
}
// ANCHOR_END: subscribe

// ANCHOR: matches
/// The broker's rule, written out: does the binding `pattern` match the
/// routing key `key`?
///
/// Both are split into words at the dots; then the pattern is matched word
/// by word. The tests check this function against a real broker.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = key.split('.').collect();
    words_match(&pattern, &key)
}

fn words_match(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        // The pattern is used up: a match only if the key is too.
        None => key.is_empty(),
        // `#` takes zero words, or one, or two, ... : try each.
        Some((&"#", rest)) => (0..=key.len()).any(|taken| words_match(rest, &key[taken..])),
        // `*` takes exactly one word, whatever it is.
        Some((&"*", rest)) => !key.is_empty() && words_match(rest, &key[1..]),
        // Any other word, `kern*` included, must be equal.
        Some((word, rest)) => key.first() == Some(word) && words_match(rest, &key[1..]),
    }
}
// ANCHOR_END: matches

// ANCHOR: literal_wildcards
/// The words of `pattern` that contain `*` or `#` without being one, such
/// as `kern*`: the broker takes them literally, which is rarely what was
/// meant (the notes' mistake).
pub fn literal_wildcards(pattern: &str) -> Vec<&str> {
    pattern
        .split('.')
        .filter(|word| (word.contains('*') || word.contains('#')) && *word != "*" && *word != "#")
        .collect()
}
// ANCHOR_END: literal_wildcards

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_is_one_word_and_hash_is_any_number_of_words() {
        assert!(topic_matches("*.orange.*", "quick.orange.rabbit"));
        assert!(!topic_matches("*.orange.*", "quick.orange.new.rabbit"));
        assert!(topic_matches("lazy.#", "lazy"));
        assert!(topic_matches("lazy.#", "lazy.a.b.c"));
        assert!(topic_matches("#", "anything.at.all"));
        assert!(topic_matches("#.a", "a"));
        assert!(topic_matches("*.a", "aa.a"));
        assert!(!topic_matches("*.a", "x.y.a"));
        assert!(!topic_matches("kern*", "kernel"));
        assert!(topic_matches("kern*", "kern*"));
    }

    #[test]
    fn words_with_a_wildcard_inside_are_flagged() {
        assert_eq!(literal_wildcards("kern*"), ["kern*"]);
        assert_eq!(literal_wildcards("a.#b.*"), ["#b"]);
        assert!(literal_wildcards("*.critical").is_empty());
        assert!(literal_wildcards("#").is_empty());
    }
}
