//! Lesson 15: a remote procedure call over RabbitMQ.
//!
//! ```text
//!                request: body "30", reply_to = amq.gen-X, correlation_id = 7
//!  rpc-client ───▶ (default exchange) ───▶ [rpc_queue] ───▶ rpc-server(s), prefetch 1
//!      ▲                                                         │
//!      └──── [amq.gen-X] ◀──── (default exchange) ◀──────────────┘
//!      exclusive reply queue     reply: body "832040", correlation_id = 7
//! ```
//!
//! The client puts a request in `rpc_queue` and says where to answer
//! (`reply_to`: a queue of its own) and which call this is
//! (`correlation_id`). A server computes the answer and publishes it to the
//! `reply_to` queue with the same correlation id. The client matches each
//! reply to its call by that id, so it can have many calls in flight on one
//! reply queue, and it drops replies it no longer waits for.
//!
//! The procedure is the notes' Fibonacci: `fib(30) = 832040`. Requests and
//! replies are the number as text, as in RabbitMQ's sixth tutorial, so the
//! Python programs and these can call each other.

use std::collections::HashMap;
use std::num::IntErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use support::amqp::{Acks, consume, exclusive_queue, for_each_delivery};
use tokio::sync::oneshot;

/// The queue of RabbitMQ's sixth tutorial (and of the notes).
pub const RPC_QUEUE: &str = "rpc_queue";

/// The largest n whose Fibonacci number fits in 64 bits.
pub const LARGEST_N: u64 = 93;

/// The `type` property of a reply that is an error, not a result.
pub const ERROR_TYPE: &str = "error";

// ---------------------------------------------------------------------------
// The procedure
// ---------------------------------------------------------------------------

// ANCHOR: fib
/// The n-th Fibonacci number, or `None` if it does not fit in 64 bits
/// (n > 93).
///
/// One loop, n additions. The notes' recursive version computes the same
/// numbers again and again: about 2.7 million calls for fib(30), and for
/// fib(90) more calls than a computer makes in centuries.
pub fn fib(n: u64) -> Option<u64> {
    // Invariant: `current` is fib(i) and `next` is fib(i + 1), or None if
    // fib(i + 1) is too big for u64 (it is then only needed if we go on).
    let mut current: u64 = 0;
    let mut next: Option<u64> = Some(1);
    for _ in 0..n {
        let after = next.and_then(|next| current.checked_add(next));
        current = next?;
        next = after;
    }
    Some(current)
}
// ANCHOR_END: fib

// ANCHOR: bad_request
/// Why a request has no Fibonacci number. The server answers these with an
/// error reply; it never crashes on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("fib is not defined for negative numbers ({0})")]
    Negative(String),
    #[error("fib({0}) does not fit in 64 bits: the largest n is {LARGEST_N}")]
    TooLarge(String),
}

/// Answers one request: its body is n as text, as in the tutorials.
pub fn answer(request: &[u8]) -> Result<u64, BadRequest> {
    let text = String::from_utf8_lossy(request);
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(n) => fib(n).ok_or_else(|| BadRequest::TooLarge(text.to_string())),
        // A number too big even for u64 is still a number.
        Err(error) if *error.kind() == IntErrorKind::PosOverflow => {
            Err(BadRequest::TooLarge(text.to_string()))
        }
        Err(_) if is_negative_integer(text) => Err(BadRequest::Negative(text.to_string())),
        Err(_) => Err(BadRequest::NotANumber(text.to_string())),
    }
}
// ANCHOR_END: bad_request

fn is_negative_integer(text: &str) -> bool {
    text.strip_prefix('-')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// Declares the request queue (default options, as the tutorials do).
pub async fn declare_request_queue(channel: &Channel, queue: &ShortString) -> anyhow::Result<()> {
    channel
        .queue_declare(
            queue.clone(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the queue `{queue}`"))?;
    Ok(())
}

// ANCHOR: serve
/// Answers requests from `queue`, one at a time, until Ctrl-C. Several
/// servers may run at once: prefetch 1 shares the requests fairly.
pub async fn serve(channel: &Channel, queue: &ShortString) -> anyhow::Result<()> {
    channel.basic_qos(1, BasicQosOptions::default()).await?;
    let consumer = consume(channel, queue, Acks::Manual).await?;
    println!(" [x] Awaiting RPC requests on '{queue}'");

    for_each_delivery(consumer, |request| async move {
        let asked = String::from_utf8_lossy(&request.data).into_owned();
        let (body, properties) = match answer(&request.data) {
            Ok(result) => {
                println!(" [.] fib({}) = {result}", asked.trim());
                (result.to_string(), BasicProperties::default())
            }
            Err(bad) => {
                println!(" [!] bad request: {bad}");
                let error = BasicProperties::default().with_type(ERROR_TYPE.into());
                (format!("error: {bad}"), error)
            }
        };
        // The reply goes where the request says, with the request's
        // correlation id, so that the client knows which call it answers.
        let properties = match request.properties.correlation_id() {
            Some(id) => properties.with_correlation_id(id.clone()),
            None => properties,
        };
        match request.properties.reply_to() {
            Some(reply_to) => {
                channel
                    .basic_publish(
                        "".into(),
                        reply_to.clone(),
                        BasicPublishOptions::default(),
                        body.as_bytes(),
                        properties,
                    )
                    .await?;
            }
            None => println!(" [!] the request has no reply_to: nobody to answer"),
        }
        // Ack after replying: if this server dies in between, the request
        // goes to another server, and the client may get two replies. It
        // keeps the first and ignores the other (see `RpcClient`).
        request.ack(BasicAckOptions::default()).await?;
        Ok(())
    })
    .await
}
// ANCHOR_END: serve

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// Why a call gave no result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered with an error (a bad request).
    #[error("the server answered with an error: {0}")]
    Refused(String),
    /// No reply came in time: no server runs, or all are busy.
    #[error("no reply within {0:?}: is an rpc-server running?")]
    Timeout(Duration),
    /// The broker has no queue by that name: no server ever declared it.
    #[error("there is no queue `{0}`: start an rpc-server first")]
    NoQueue(ShortString),
    /// The broker could not take the request (an internal error of its own).
    #[error("the broker refused the request (nack)")]
    Nacked,
    /// A reply that is neither a number nor an error.
    #[error("the server sent a reply that is not a number: {0:?}")]
    Malformed(String),
    /// The broker or the connection failed.
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    /// The client stopped reading replies (its connection closed).
    #[error("the reply queue's consumer has ended")]
    Closed,
}

/// A reply as the dispatcher hands it to the waiting call.
struct Reply {
    body: Vec<u8>,
    is_error: bool,
}

/// Calls waiting for their reply, by correlation id.
type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Reply>>>>;

// ANCHOR: client
/// An RPC client: one exclusive reply queue for all its calls, which may be
/// in flight at the same time.
pub struct RpcClient {
    /// The channel requests are published on.
    channel: Channel,
    /// Where requests go: the servers' queue.
    request_queue: ShortString,
    /// Where replies come: a queue only this client's connection may use.
    reply_queue: ShortString,
    /// Each call's way back to its caller, by correlation id.
    pending: Pending,
    /// The next correlation id. It only has to be unique among this
    /// client's calls, since nobody else reads our reply queue; a counter
    /// is enough (the notes use a random uuid, which also works).
    next_id: AtomicU64,
    /// How many replies came for no waiting call.
    ignored: Arc<AtomicU64>,
    /// The task that reads replies and hands each to its call.
    dispatcher: tokio::task::JoinHandle<()>,
}

impl RpcClient {
    /// Makes the reply queue, starts reading it, and turns on publisher
    /// confirms (to learn at once if the request queue does not exist).
    pub async fn new(channel: Channel, request_queue: ShortString) -> lapin::Result<RpcClient> {
        let reply_queue = exclusive_queue(&channel).await?;
        let mut replies = consume(&channel, &reply_queue, Acks::Automatic).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;

        let pending = Pending::default();
        let ignored = Arc::new(AtomicU64::new(0));
        let dispatcher = tokio::spawn({
            let pending = Arc::clone(&pending);
            let ignored = Arc::clone(&ignored);
            async move {
                while let Some(Ok(reply)) = replies.next().await {
                    let id = reply.properties.correlation_id().as_ref();
                    let id = id.map(ShortString::as_str).unwrap_or_default();
                    // Take the waiting call out: a second reply to the same
                    // call finds nobody, and is ignored too.
                    let waiting = pending.lock().ok().and_then(|mut map| map.remove(id));
                    let is_error = reply.properties.kind().as_ref().map(ShortString::as_str)
                        == Some(ERROR_TYPE);
                    let answer = Reply {
                        body: reply.data,
                        is_error,
                    };
                    match waiting {
                        // The caller may have given up just now: then the
                        // send fails, and that is fine.
                        Some(call) => drop(call.send(answer)),
                        None => {
                            ignored.fetch_add(1, Ordering::Relaxed);
                            println!(
                                " [?] ignored a reply nobody waits for (correlation id {id:?})"
                            );
                        }
                    }
                }
                // The consumer ended: fail every waiting call by dropping
                // its sender.
                if let Ok(mut map) = pending.lock() {
                    map.clear();
                }
            }
        });
        Ok(RpcClient {
            channel,
            request_queue,
            reply_queue,
            pending,
            next_id: AtomicU64::new(1),
            ignored,
            dispatcher,
        })
    }

    /// The name of the reply queue (`amq.gen-...`).
    pub fn reply_queue(&self) -> &ShortString {
        &self.reply_queue
    }

    /// How many replies arrived that no call was waiting for.
    pub fn ignored_replies(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    /// Calls the remote procedure with `request` (n as text) and waits up
    /// to `timeout` for the result.
    pub async fn call(&self, request: &str, timeout: Duration) -> Result<u64, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (sender, reply) = oneshot::channel();
        self.waiting(|map| map.insert(id.clone(), sender));

        let properties = BasicProperties::default()
            .with_reply_to(self.reply_queue.clone())
            .with_correlation_id(id.as_str().into())
            // A request nobody takes within the timeout is dropped by the
            // broker: no server will later work on a call we gave up on.
            .with_expiration(timeout.as_millis().max(1).to_string().into());
        // Mandatory: if no queue has that name, the broker returns the
        // message instead of silently dropping it.
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let published = self
            .channel
            .basic_publish(
                "".into(),
                self.request_queue.clone(),
                options,
                request.as_bytes(),
                properties,
            )
            .await;
        let confirmation = match published {
            Ok(confirm) => confirm.await,
            Err(error) => Err(error),
        };
        let refused = match confirmation {
            // The broker has the request in the queue.
            Ok(Confirmation::Ack(None)) => None,
            // ... or returned it: no queue by that name.
            Ok(Confirmation::Ack(Some(_returned))) => {
                Some(CallError::NoQueue(self.request_queue.clone()))
            }
            Ok(Confirmation::Nack(_)) => Some(CallError::Nacked),
            // Cannot happen: `new` turned confirms on.
            Ok(Confirmation::NotRequested) => None,
            Err(error) => Some(error.into()),
        };
        if let Some(error) = refused {
            self.waiting(|map| map.remove(&id));
            return Err(error);
        }

        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(reply)) => {
                let text = String::from_utf8_lossy(&reply.body).into_owned();
                if reply.is_error {
                    let reason = text.strip_prefix("error: ").unwrap_or(&text);
                    Err(CallError::Refused(reason.to_string()))
                } else {
                    text.trim().parse().map_err(|_| CallError::Malformed(text))
                }
            }
            Ok(Err(_dropped)) => Err(CallError::Closed),
            Err(_elapsed) => {
                // Stop waiting: a reply that still comes will be ignored.
                self.waiting(|map| map.remove(&id));
                Err(CallError::Timeout(timeout))
            }
        }
    }

    /// Runs `change` on the table of waiting calls.
    fn waiting<T>(
        &self,
        change: impl FnOnce(&mut HashMap<String, oneshot::Sender<Reply>>) -> T,
    ) -> T {
        // A poisoned lock means a thread panicked while holding it; the map
        // itself is still a valid map, so go on with it.
        let mut map = self
            .pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        change(&mut map)
    }
}

impl Drop for RpcClient {
    fn drop(&mut self) {
        self.dispatcher.abort();
    }
}
// ANCHOR_END: client

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_starts_zero_one_and_stops_at_64_bits() {
        let first: Vec<u64> = (0..10).map(|n| fib(n).unwrap()).collect();
        assert_eq!(first, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
        assert_eq!(fib(30), Some(832_040));
        assert_eq!(fib(LARGEST_N), Some(12_200_160_415_121_876_738));
        assert_eq!(fib(LARGEST_N + 1), None);
        assert_eq!(fib(u64::MAX), None);
    }

    #[test]
    fn requests_are_numbers_as_text() {
        assert_eq!(answer(b"30"), Ok(832_040));
        assert_eq!(answer(b" 10\n"), Ok(55));
        assert_eq!(answer(b"abc"), Err(BadRequest::NotANumber("abc".into())));
        assert_eq!(answer(b""), Err(BadRequest::NotANumber("".into())));
        assert_eq!(answer(b"3.5"), Err(BadRequest::NotANumber("3.5".into())));
        assert_eq!(answer(b"-5"), Err(BadRequest::Negative("-5".into())));
        assert_eq!(answer(b"94"), Err(BadRequest::TooLarge("94".into())));
        let huge = "9".repeat(40);
        assert_eq!(answer(huge.as_bytes()), Err(BadRequest::TooLarge(huge)));
        assert!(matches!(
            answer(&[0xff, 0xfe]),
            Err(BadRequest::NotANumber(_))
        ));
    }
}
