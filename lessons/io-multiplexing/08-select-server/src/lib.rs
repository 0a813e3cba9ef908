//! Lesson 08: a real select(2) server, the notes' `select socket server`.
//!
//! One thread serves every client. It never calls `read` or `write` on a
//! socket unless select(2) has just said the call will not block, and all
//! sockets are non-blocking anyway, so a slow or silent client can never
//! stop it. Each connection has a queue of messages waiting to be sent back;
//! replies go out, in upper case, when select(2) says the socket is
//! writable. A client that disconnects or fails is removed cleanly.
//!
//! select(2) can only watch descriptors numbered below `FD_SETSIZE` (1,024):
//! a connection that gets a higher number is told so, politely, and closed,
//! while everyone else keeps being served.
//!
//! ```text
//! just run lesson-08 server              # terminal 1: listening on 127.0.0.1:10000
//! just run lesson-08 client              # terminal 2: two sockets, one message in three parts
//! ```
//!
//! This file is the readiness loop, the idea of the lesson: [`Server::turn`]
//! and the reads and writes it makes. `state.rs` holds what it works on
//! (the server's state, taking clients in and out), `client.rs` the notes'
//! client. The select(2) wrapper itself ([`FdSet`], [`sys::select`]) was
//! built in lesson 07. What the server does, it reports as `tracing`
//! events: each connection and message at `info`, each turn of the loop at
//! `debug` (the server's `--verbose`).

use std::io::{self, Read, Write};
use std::time::Duration;

pub use lesson_07_select_poll_epoll::sys::{self, FD_SETSIZE, FdSet, FdTooHigh};

mod client;
mod state;

pub use client::{NOTES_MESSAGES, REPLY_TIMEOUT, run_client};
use state::{Client, Outcome, out_of_descriptors};
pub use state::{DEFAULT_ADDR, MAX_QUEUED, REFUSAL, Server};

impl Server {
    // ANCHOR: turn
    /// One turn of the loop: say what to watch, wait, handle what is ready.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // EXERCISE: build both sets, select(2), serve the ready clients, then accept
        // 1. Build both sets from scratch: select(2) overwrote the last ones.
        let mut readable = FdSet::new();
        let mut writable = FdSet::new();
        if self.accepting {
            readable.insert(&self.listener)?;
        }
        for client in self.clients.values() {
            // Stop reading from a client whose replies pile up unsent.
            if client.queued < MAX_QUEUED {
                readable.insert(&client.stream)?;
            }
            // Only ask about writing when there is something to write:
            // an idle socket is almost always writable, and select(2)
            // would return at once, again and again.
            if !client.queue.is_empty() {
                writable.insert(&client.stream)?;
            }
        }
        tracing::debug!(
            "waiting for the next event ({} clients)...",
            self.clients.len()
        );

        // 2. Sleep until something is ready. No descriptor is ready: the
        //    thread uses no CPU at all.
        match sys::select(Some(&mut readable), Some(&mut writable), timeout) {
            Ok(ready) => tracing::debug!("select: {ready} ready"),
            // A signal woke us: nothing is ready, go round again.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        }

        // 3. Serve the clients that are ready: one read and/or the writes
        //    that fit, never more, so no client can hold up the others.
        let mut closed = Vec::new();
        for (&fd, client) in &mut self.clients {
            let mut outcome = Outcome::Keep;
            if readable.contains(&client.stream) {
                outcome = client.receive();
            }
            if matches!(outcome, Outcome::Keep) && writable.contains(&client.stream) {
                outcome = client.send();
            }
            if let Outcome::Close(reason) = outcome {
                closed.push((fd, reason));
            }
        }
        for (fd, reason) in closed {
            self.remove(fd, &reason);
        }

        // 4. New connections last, so that a new client can never be
        //    mistaken for an old one whose descriptor number it reuses.
        if readable.contains(&self.listener) {
            self.accept_all();
        }
        Ok(())
        // EXERCISE_END
    }
    // ANCHOR_END: turn

    // ANCHOR: accept
    /// Accepts every connection that is waiting, handing each to
    /// `self.admit(stream, peer)`.
    fn accept_all(&mut self) {
        // EXERCISE: accept every waiting connection, until accept says WouldBlock
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                // No more waiting: the normal way out.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if out_of_descriptors(&error) => {
                    tracing::warn!("cannot accept ({error}): waiting until a client leaves");
                    self.accepting = false;
                    break;
                }
                // For example a client that gave up before we accepted it.
                // The listener is fine; select(2) will say if more wait.
                Err(error) => {
                    tracing::warn!("accept failed: {error}");
                    break;
                }
            }
        }
        // EXERCISE_END
    }
    // ANCHOR_END: accept
}

// ANCHOR: client_io
impl Client {
    /// The socket is readable: read once. select(2) is *level-triggered*:
    /// if more is left, the next select(2) says so again, so one read per
    /// turn is enough, and fair to the other clients.
    fn receive(&mut self) -> Outcome {
        // EXERCISE: read once; queue what came; a zero-byte read or an error closes the client
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            // Zero bytes: the client closed its end.
            Ok(0) => Outcome::Close("closed the connection".into()),
            Ok(n) => {
                let message = &buf[..n];
                tracing::info!(
                    "received b\"{}\" from {}",
                    message.escape_ascii(),
                    self.peer
                );
                self.queue.push_back(message.to_vec());
                self.queued += n;
                Outcome::Keep
            }
            // Readable, yet nothing to read (it happens), or a signal:
            // select(2) will tell us again.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Outcome::Keep
            }
            Err(error) => Outcome::Close(format!("dropped: {error}")),
        }
        // EXERCISE_END
    }

    /// The socket is writable: send queued replies, in upper case, until
    /// the queue is empty or the kernel's buffer is full.
    fn send(&mut self) -> Outcome {
        // EXERCISE: write queued replies in upper case until the queue is empty or the socket is full
        while let Some(message) = self.queue.front_mut() {
            // The reply rule. Upper-casing twice changes nothing, so the
            // unsent rest of a message can safely go through it again.
            message.make_ascii_uppercase();
            match self.stream.write(message) {
                Ok(0) => return Outcome::Close("stopped accepting data".into()),
                Ok(n) => {
                    let sent = &message[..n];
                    tracing::info!("sending b\"{}\" to {}", sent.escape_ascii(), self.peer);
                    self.queued -= n;
                    if n == message.len() {
                        self.queue.pop_front();
                    } else {
                        // A partial write: the kernel's buffer is full.
                        // Keep the rest for the next writable turn.
                        message.drain(..n);
                        return Outcome::Keep;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Outcome::Keep,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Outcome::Close(format!("dropped: {error}")),
            }
        }
        tracing::debug!(
            "queue of {} is empty: not watching it for writing",
            self.peer
        );
        Outcome::Keep
        // EXERCISE_END
    }
}
// ANCHOR_END: client_io
