//! Many messages at once, for the benchmark (`just bench rabbitmq`) and not
//! for the lesson: [`send_many`] keeps a window of publishes in flight.
//!
//! The lesson's `send` program publishes one message with [`crate::send`];
//! this module shows what changes when a hundred thousand must go out fast.

use std::collections::VecDeque;

use futures_lite::future;
use lapin::Channel;
use lapin::types::ShortString;

// ANCHOR: send_many
/// How many publishes [`send_many`] keeps in flight.
pub const WINDOW: usize = 64;

/// Publishes many messages to `queue`, in order, without waiting for each
/// one to be written before starting the next.
///
/// `send(..).await` returns once lapin's IO thread has written that message
/// to the socket: a hand-over between two threads for every message. Here
/// each publish is *started* at once (which puts its frames in the
/// channel's outgoing queue, in order) and *awaited* only later, up to
/// [`WINDOW`] at a time, so the IO thread writes many messages per system
/// call. The order on the wire is the order of `bodies`.
pub async fn send_many<'a>(
    channel: &Channel,
    queue: &ShortString,
    bodies: impl IntoIterator<Item = &'a [u8]>,
) -> lapin::Result<()> {
    let mut in_flight = VecDeque::with_capacity(WINDOW);
    for body in bodies {
        let mut publish = Box::pin(crate::send(channel, queue, body));
        // Poll it once: that queues its frames, and may even finish it.
        match future::poll_once(&mut publish).await {
            Some(done) => done?,
            None => in_flight.push_back(publish),
        }
        if in_flight.len() == WINDOW
            && let Some(oldest) = in_flight.pop_front()
        {
            oldest.await?;
        }
    }
    for publish in in_flight {
        publish.await?;
    }
    Ok(())
}
// ANCHOR_END: send_many
