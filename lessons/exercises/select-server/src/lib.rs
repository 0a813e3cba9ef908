//! Exercise 08: write the heart of a select(2) server yourself.
//!
//! The server answers every message in upper case, serves any number of
//! clients (up to select's limit) on one thread, and never lets one client
//! hold up the others. Everything around the loop is given, compiled from
//! lesson 08's own files: the server's state, taking in an accepted
//! connection (`Server::admit`) and forgetting one (`Server::remove`) in
//! `state.rs`, the notes' client in `client.rs`, and lesson 07's safe
//! [`FdSet`] and [`sys::select`]. Four bodies are yours, marked `todo!()`:
//!
//! 1. [`Server::turn`]: one turn of the loop: say what to watch, wait in
//!    select(2), serve what is ready.
//! 2. `Server::accept_all`: take in every connection that is waiting.
//! 3. `Client::receive`: read once into the client's queue.
//! 4. `Client::send`: write queued replies, in upper case, as far as the
//!    kernel takes them.
//!
//! Run your server with `cargo run -p exercise-08-select-server --bin
//! exercise-08-server`, try it with `cargo run -p exercise-08-select-server
//! --bin exercise-08-client` in a second terminal, and check it with
//! `just check select-server`. Lesson 08's chapter explains every idea you
//! need; lesson 07's explains select(2) itself.
//!
//! Written by `just exercises` from the lesson's own code,
//! `lessons/io-multiplexing/08-select-server/src/lib.rs`,
//! with the bodies you write replaced by `todo!()`.
// Until you write the todo!() bodies, their parameters, what they
// would import and the given code they would call are unused.
#![allow(unused_variables, unused_imports, dead_code)]

use std::io::{self, Read, Write};
use std::time::Duration;

pub use lesson_07_select_poll_epoll::sys::{self, FD_SETSIZE, FdSet, FdTooHigh};

#[path = "../../../../lessons/io-multiplexing/08-select-server/src/client.rs"]
mod client;
#[path = "../../../../lessons/io-multiplexing/08-select-server/src/state.rs"]
mod state;

pub use client::{NOTES_MESSAGES, REPLY_TIMEOUT, run_client};
use state::{Client, Outcome, out_of_descriptors};
pub use state::{DEFAULT_ADDR, MAX_QUEUED, REFUSAL, Server};

impl Server {
    // ANCHOR: turn
    /// One turn of the loop: say what to watch, wait, handle what is ready.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        todo!("build both sets, select(2), serve the ready clients, then accept")
    }
    // ANCHOR_END: turn

    // ANCHOR: accept
    /// Accepts every connection that is waiting, handing each to
    /// `self.admit(stream, peer)`.
    fn accept_all(&mut self) {
        todo!("accept every waiting connection, until accept says WouldBlock")
    }
    // ANCHOR_END: accept
}

// ANCHOR: client_io
impl Client {
    /// The socket is readable: read once. select(2) is *level-triggered*:
    /// if more is left, the next select(2) says so again, so one read per
    /// turn is enough, and fair to the other clients.
    fn receive(&mut self) -> Outcome {
        todo!("read once; queue what came; a zero-byte read or an error closes the client")
    }

    /// The socket is writable: send queued replies, in upper case, until
    /// the queue is empty or the kernel's buffer is full.
    fn send(&mut self) -> Outcome {
        todo!("write queued replies in upper case until the queue is empty or the socket is full")
    }
}
// ANCHOR_END: client_io
