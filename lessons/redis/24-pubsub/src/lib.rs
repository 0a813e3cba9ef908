//! Lesson 24: publish/subscribe, like a radio station.
//!
//! A publisher sends a message to a **channel** (`PUBLISH fm104.5 hello`);
//! Redis hands it at once to every client subscribed to that channel, and
//! keeps nothing. Like a radio: whoever is tuned in hears it; whoever is
//! not, never will. (For messages that must wait for a reader, use a list,
//! lesson 19, or RabbitMQ, lessons 10 to 15.)
//!
//! [`RedisHelper`] plays the part of the notes' helper class: it knows the
//! channel, publishes to it, and opens subscriptions. A subscription can
//! also name **patterns** (`PSUBSCRIBE fm*`): every channel whose name
//! matches.
//!
//! Run `just run lesson-24 subscriber` in one terminal and
//! `just run lesson-24 publisher hello` in another.

use futures_lite::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::{AsyncCommands, Client, RedisResult};

/// The notes' radio channel.
pub const CHANNEL: &str = "fm104.5";

// ANCHOR: helper
/// A radio station: publishes on one channel, and opens subscriptions to it.
pub struct RedisHelper {
    /// Where to open the subscribers' connections from.
    client: Client,
    /// The connection PUBLISH goes over. A subscribed connection can send
    /// nothing but (un)subscribe commands, so publishing needs its own.
    publisher: MultiplexedConnection,
    /// The channel this helper publishes to and subscribes to.
    channel: String,
}

impl RedisHelper {
    /// Connects to the server at `url`, for the given channel.
    pub async fn connect(url: &str, channel: &str) -> Result<Self, support::redis::Error> {
        let client = support::redis::client(url)?;
        let publisher = support::redis::connect_async(url).await?;
        Ok(RedisHelper {
            client,
            publisher,
            channel: channel.to_string(),
        })
    }

    /// The channel it works on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Publishes `message` on the channel. Redis answers to how many
    /// subscriptions it delivered it (a client subscribed to the channel
    /// and to a pattern that matches gets it twice, and counts twice):
    /// 0 means it is gone for good.
    pub async fn publish(&mut self, message: &str) -> RedisResult<usize> {
        self.publisher.publish(&self.channel, message).await
    }

    /// Tunes in to the channel: the notes' `subscribe()`. Returns once the
    /// server has confirmed the subscription, so anything published after
    /// this returns will arrive.
    pub async fn subscribe(&self) -> RedisResult<Subscription> {
        self.listen(&[self.channel.as_str()], &[]).await
    }

    /// Tunes in to any channels and channel patterns (`fm*`, `news.?`,
    /// `[ab]*`: the same globs as KEYS) on one connection.
    pub async fn listen(&self, channels: &[&str], patterns: &[&str]) -> RedisResult<Subscription> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        for channel in channels {
            pubsub.subscribe(*channel).await?;
        }
        for pattern in patterns {
            pubsub.psubscribe(*pattern).await?;
        }
        Ok(Subscription {
            messages: pubsub.into_on_message(),
        })
    }
}
// ANCHOR_END: helper

// ANCHOR: subscription
/// A connection tuned in to some channels: the messages arrive in the
/// order they were published.
pub struct Subscription {
    /// The pushed messages, as a stream.
    messages: PubSubStream,
}

/// One message as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published on.
    pub channel: String,
    /// The pattern that matched, if it came through a PSUBSCRIBE.
    pub pattern: Option<String>,
    /// What was published (as text; invalid UTF-8 is replaced).
    pub payload: String,
}

impl Subscription {
    /// Waits for the next message: the notes' `parse_response()` in a
    /// loop. `None` when the connection is gone.
    pub async fn next_message(&mut self) -> Option<Message> {
        let msg = self.messages.next().await?;
        Some(Message {
            channel: msg.get_channel_name().to_string(),
            pattern: msg.get_pattern().ok().flatten(),
            payload: String::from_utf8_lossy(msg.get_payload_bytes()).into_owned(),
        })
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pattern {
            None => write!(f, "{}: {}", self.channel, self.payload),
            Some(pattern) => write!(f, "{} (pattern {pattern}): {}", self.channel, self.payload),
        }
    }
}
// ANCHOR_END: subscription
