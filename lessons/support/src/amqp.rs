//! Where RabbitMQ is, connecting to it with an error a student can act on,
//! and the plumbing every RabbitMQ lesson program shares: a [`Session`]
//! (connection and channel), an [`exclusive_queue`] and [`subscribe`] for
//! the receivers of lessons 12 to 15, a consumer loop that stops on Ctrl-C
//! ([`for_each_delivery`]). What a refusal means (PRECONDITION_FAILED and
//! the others) is told where every program ends: [`crate::exit`].

use std::str::FromStr;
use std::time::Duration;

use futures_lite::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Connection, ConnectionProperties, ErrorKind, uri::AMQPUri};

use crate::error::{Broker, ConnectError};

/// The address `just up` starts RabbitMQ on: user `guest`, password `guest`,
/// the default virtual host `/` (written `%2f` in a URL).
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// How long to wait for the broker to answer before giving up. Loopback
/// answers in microseconds; this only matters for a mistyped host.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `--url` flag every RabbitMQ binary takes. Flatten it into a clap
/// parser with `#[command(flatten)] amqp: AmqpArgs`.
#[derive(Debug, Clone, clap::Args)]
pub struct AmqpArgs {
    /// RabbitMQ address: amqp://USER:PASSWORD@HOST:PORT/VHOST (vhost `/` is `%2f`)
    #[arg(long = "url", env = "AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub url: String,
}

impl AmqpArgs {
    /// Connects to the address these arguments name. See [`connect`].
    pub async fn connect(&self) -> Result<Connection, ConnectError> {
        connect(&self.url).await
    }
}

/// Opens an AMQP connection to `url`.
///
/// Fails with a [`ConnectError`] that names the address (password hidden)
/// and tells what to do: start the broker, or fix the user and password.
pub async fn connect(url: &str) -> Result<Connection, ConnectError> {
    let shown = crate::redact(url);
    // Parse first, so a typo is reported as a typo and not as "unreachable".
    AMQPUri::from_str(url).map_err(|reason| ConnectError::BadUrl {
        broker: Broker::RabbitMq,
        url: shown.clone(),
        reason,
        example: DEFAULT_AMQP_URL,
    })?;
    let properties = ConnectionProperties::default();
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, properties)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(explain(error, shown)),
        Err(_elapsed) => Err(ConnectError::Unreachable {
            broker: Broker::RabbitMq,
            url: shown,
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// Sorts a lapin error into the cases a student can do something about.
fn explain(error: lapin::Error, url: String) -> ConnectError {
    let broker = Broker::RabbitMq;
    let reason = error.to_string();
    match error.kind() {
        ErrorKind::IOError(io) if is_unreachable(io.kind()) => ConnectError::Unreachable {
            broker,
            url,
            reason,
        },
        // 403 ACCESS_REFUSED: wrong user or password, or a user without
        // permissions on the virtual host.
        ErrorKind::ProtocolError(amqp) if amqp.get_id() == 403 => ConnectError::AuthRefused {
            broker,
            url,
            reason: amqp.get_message().to_string(),
        },
        // 530 NOT_ALLOWED on connection.open: the user may not use the
        // virtual host (no `set_permissions`, or a vhost that does not exist).
        ErrorKind::ProtocolError(amqp) if amqp.get_id() == 530 => ConnectError::VhostRefused {
            broker,
            url,
            reason: amqp.get_message().to_string(),
        },
        _ => ConnectError::Other {
            broker,
            url,
            reason,
        },
    }
}

fn is_unreachable(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | TimedOut
            | HostUnreachable
            | NetworkUnreachable
            | AddrNotAvailable
    )
}

// ---------------------------------------------------------------------------
// What every RabbitMQ lesson program does around its lesson
// ---------------------------------------------------------------------------
//
// Lessons 10 to 15 each teach one idea (a queue, an exchange type, acks, an
// RPC), but every one of their programs also opens a connection and a
// channel, refuses names RabbitMQ cannot carry, declares a queue of its own
// for a subscriber, runs a consumer until Ctrl-C, and explains the broker's
// refusals. That plumbing is written once, here, so each lesson's code is
// only its idea.

// ANCHOR: session
/// A connection and one channel on it: what every lesson program opens first.
///
/// AMQP multiplexes *channels* over one TCP *connection*. Every command
/// (declare, bind, publish, consume) travels on a channel; the connection is
/// only the pipe. One channel is all a lesson program needs.
pub struct Session {
    /// The TCP connection, kept so [`Session::close`] can end it politely.
    pub connection: Connection,
    /// Where every AMQP command of the program is sent.
    pub channel: lapin::Channel,
}

impl Session {
    /// Connects to `url` (see [`connect`] for the errors) and opens a channel.
    pub async fn open(url: &str) -> Result<Session, ConnectError> {
        let connection = connect(url).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|error| ConnectError::Other {
                broker: Broker::RabbitMq,
                url: crate::redact(url),
                reason: format!("could not open a channel: {error}"),
            })?;
        Ok(Session {
            connection,
            channel,
        })
    }

    /// Closes the connection with code 200 ("normal shutdown").
    ///
    /// Closing politely matters to a publisher: the broker handles
    /// everything sent before the close, then answers it. A program that
    /// just exits leaves the broker to find a dead socket, and it logs a
    /// warning about a client that "unexpectedly closed TCP connection".
    pub async fn close(self) -> lapin::Result<()> {
        self.connection.close(200, "bye".into()).await
    }
}
// ANCHOR_END: session

impl AmqpArgs {
    /// Connects and opens a channel. See [`Session::open`].
    pub async fn session(&self) -> Result<Session, ConnectError> {
        Session::open(&self.url).await
    }
}

/// A clap value parser for queue names, exchange names and routing keys.
///
/// AMQP carries them as "short strings" of at most 255 bytes, and lapin
/// panics when handed a longer one. Parsing command-line arguments with this
/// turns that panic into a usage error: `#[arg(value_parser = short_string)]`.
///
/// ```
/// assert!(support::amqp::short_string("kern.critical").is_ok());
/// assert!(support::amqp::short_string(&"x".repeat(256)).is_err());
/// ```
pub fn short_string(text: &str) -> Result<ShortString, String> {
    ShortString::try_new(text).map_err(|_| {
        format!(
            "AMQP names and routing keys are at most 255 bytes; this one has {}",
            text.len()
        )
    })
}

// ANCHOR: exclusive_queue
/// Declares a queue for one subscriber: the broker picks its name
/// (`amq.gen-...`), only this connection may use it, and it is deleted when
/// the connection closes. Returns the name the broker chose.
///
/// A subscriber wants exactly this: a fresh, empty queue of its own, that
/// does not outlive it and pile up messages nobody will read.
pub async fn exclusive_queue(channel: &lapin::Channel) -> lapin::Result<ShortString> {
    let options = QueueDeclareOptions {
        exclusive: true,
        ..QueueDeclareOptions::default()
    };
    // An empty name asks the broker to make one up.
    let queue = channel
        .queue_declare("".into(), options, FieldTable::default())
        .await?;
    Ok(queue.name().clone())
}
// ANCHOR_END: exclusive_queue

// ANCHOR: subscribe
/// One binding: "send this queue the messages of the exchange that match".
///
/// What *match* means is the exchange type's business: a fanout exchange
/// ignores both fields, a direct exchange compares the routing key with
/// `key`, a topic exchange matches it against `key` as a pattern, and a
/// headers exchange ignores the key and looks at `arguments`.
#[derive(Debug, Clone, Default)]
pub struct Binding {
    /// The binding key.
    pub key: ShortString,
    /// Extra arguments; only headers exchanges use them.
    pub arguments: FieldTable,
}

impl Binding {
    /// A binding by key alone.
    pub fn key(key: ShortString) -> Binding {
        Binding {
            key,
            arguments: FieldTable::default(),
        }
    }
}

/// Subscribes to an exchange: makes an [`exclusive_queue`], binds it to
/// `exchange` once per binding, and starts consuming it with automatic acks.
/// Returns the queue's name and the consumer.
///
/// This is the receiving side of lessons 12 to 14: only the exchange type
/// and the bindings differ.
pub async fn subscribe(
    channel: &lapin::Channel,
    exchange: &ShortString,
    bindings: &[Binding],
) -> lapin::Result<(ShortString, lapin::Consumer)> {
    let queue = exclusive_queue(channel).await?;
    for binding in bindings {
        channel
            .queue_bind(
                queue.clone(),
                exchange.clone(),
                binding.key.clone(),
                QueueBindOptions::default(),
                binding.arguments.clone(),
            )
            .await?;
    }
    let consumer = consume(channel, &queue, Acks::Automatic).await?;
    Ok((queue, consumer))
}
// ANCHOR_END: subscribe

// ANCHOR: consume
/// How a consumer tells the broker that a message is done with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// The broker forgets a message as soon as it is sent ("no_ack" /
    /// "auto_ack"). Fast, but a consumer that dies loses what it held.
    Automatic,
    /// The consumer acks each message after handling it; the broker requeues
    /// whatever a dead consumer had not acked.
    Manual,
}

/// Starts a consumer on `queue`: the broker pushes its messages to us.
pub async fn consume(
    channel: &lapin::Channel,
    queue: &ShortString,
    acks: Acks,
) -> lapin::Result<lapin::Consumer> {
    let options = BasicConsumeOptions {
        no_ack: acks == Acks::Automatic,
        ..BasicConsumeOptions::default()
    };
    // The tag names this consumer on the channel; an empty one asks the
    // broker to make one up.
    channel
        .basic_consume(queue.clone(), "".into(), options, FieldTable::default())
        .await
}

/// Hands every delivery to `handle`, one at a time, until the consumer ends
/// (its queue is deleted, the broker goes away) or Ctrl-C is pressed.
///
/// Ctrl-C ends the program cleanly. It may come while `handle` is in the
/// middle of a message: that message is then never acked, and the broker
/// gives it to another consumer (lesson 11 shows it).
pub async fn for_each_delivery<F, Fut>(
    mut consumer: lapin::Consumer,
    mut handle: F,
) -> anyhow::Result<()>
where
    F: FnMut(lapin::message::Delivery) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let deliveries = async {
        while let Some(delivery) = consumer.next().await {
            handle(delivery?).await?;
        }
        anyhow::bail!("the broker ended this consumer (was its queue deleted?)")
    };
    tokio::select! {
        result = deliveries => result,
        _ = tokio::signal::ctrl_c() => {
            println!(" [*] Ctrl-C: bye");
            Ok(())
        }
    }
}
// ANCHOR_END: consume
