//! Exercise 08: write the heart of a select(2) server yourself.
//!
//! The server answers every message in upper case, serves any number of
//! clients (up to select's limit) on one thread, and never lets one client
//! hold up the others. Everything around the loop is given: the server's
//! state, taking in an accepted connection ([`Server::admit`]), forgetting
//! one ([`Server::remove`]), and lesson 07's safe [`FdSet`] and
//! [`sys::select`]. Four pieces are missing, marked `todo!()`:
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

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

pub use lesson_07_select_poll_epoll::sys::{self, FD_SETSIZE, FdSet, FdTooHigh};

/// Where the server listens unless told otherwise: the notes' port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:10000";

/// How many reply bytes may wait for one client before the server stops
/// reading from it. Without a limit, a client that sends and never reads
/// would make its queue, and the server's memory, grow without end.
pub const MAX_QUEUED: usize = 64 * 1024;

/// What a connection that select(2) cannot watch is told before it is
/// closed.
pub const REFUSAL: &str = "sorry, this server is full: select(2) can only watch descriptors below 1024. Try again later.\n";

// ANCHOR: given
/// How much the server prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Only the `listening on` line and errors.
    Quiet,
    /// Connections, messages and disconnections.
    Normal,
    /// Also every turn of the loop.
    Verbose,
}

/// The server: the listening socket, and one entry per connected client.
pub struct Server {
    /// Readable means "a connection is waiting to be accepted".
    listener: TcpListener,
    /// The clients, by descriptor number: select(2) speaks in numbers.
    clients: BTreeMap<RawFd, Client>,
    /// False after accept(2) failed for lack of descriptors: the waiting
    /// connection would keep the listener readable, and the loop would spin.
    /// [`Server::remove`] sets it again, since a descriptor is then free.
    accepting: bool,
    verbosity: Verbosity,
}

/// One connected client.
struct Client {
    /// Non-blocking: [`Server::admit`] made it so.
    stream: TcpStream,
    /// Its address, for the messages the server prints.
    peer: SocketAddr,
    /// Messages received and not yet sent back, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// Total bytes in `queue`, to compare with [`MAX_QUEUED`].
    queued: usize,
}

/// What serving a client decided.
#[allow(dead_code)] // until you write receive, send and turn, which use it
enum Outcome {
    /// Keep it.
    Keep,
    /// Remove it; the text says why (`closed the connection`, `dropped:
    /// connection reset by peer`), for the log.
    Close(String),
}

impl Server {
    /// A server on an already-bound listener (tests bind `127.0.0.1:0`).
    pub fn new(listener: TcpListener, verbosity: Verbosity) -> io::Result<Self> {
        // accept(2) must never block the loop either.
        listener.set_nonblocking(true)?;
        if !FdSet::fits(listener.as_raw_fd()) {
            return Err(FdTooHigh {
                fd: listener.as_raw_fd(),
            }
            .into());
        }
        Ok(Server {
            listener,
            clients: BTreeMap::new(),
            accepting: true,
            verbosity,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until an error that is not any one client's fault.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.turn(None)?;
        }
    }

    /// Takes in a connection that `accept` returned: makes it non-blocking
    /// (an accepted socket does not inherit that from the listener) and
    /// adds it to `clients`, or, if its descriptor is too high for an
    /// `fd_set`, tells it so and closes it.
    fn admit(&mut self, stream: TcpStream, peer: SocketAddr) {
        let fd = stream.as_raw_fd();
        if !FdSet::fits(fd) {
            // One attempt, never blocking: a fresh socket's send buffer is
            // empty, so the line fits.
            let _ = stream.set_nonblocking(true);
            let _ = (&stream).write(REFUSAL.as_bytes());
            if self.verbosity >= Verbosity::Normal {
                println!("refused {peer}: its descriptor {fd} does not fit in an fd_set");
            }
            return;
        }
        if let Err(error) = stream.set_nonblocking(true) {
            println!("dropped {peer}: {error}");
            return;
        }
        // Small replies should leave at once, not wait to be batched.
        let _ = stream.set_nodelay(true);
        if self.verbosity >= Verbosity::Normal {
            println!("new connection from {peer}");
        }
        let client = Client {
            stream,
            peer,
            queue: VecDeque::new(),
            queued: 0,
        };
        self.clients.insert(fd, client);
    }

    /// Forgets a client. Dropping its `TcpStream` closes the socket, which
    /// frees its descriptor number for the next connection.
    fn remove(&mut self, fd: RawFd, reason: &str) {
        if let Some(client) = self.clients.remove(&fd)
            && self.verbosity >= Verbosity::Normal
        {
            println!("{} {reason}", client.peer);
        }
        self.accepting = true;
    }
}

/// Whether accept(2) failed because the process or the system ran out of
/// descriptors (or memory for a new socket): then stop watching the
/// listener (`accepting = false`) until a client leaves.
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
// ANCHOR_END: given

// ANCHOR: todo
impl Server {
    /// One turn of the loop: say what to watch, wait, serve what is ready.
    ///
    /// 1. Build two new `FdSet`s (select(2) overwrites them with its answer,
    ///    so they are built again on every turn): for reading, the listener
    ///    (while `accepting`) and every client whose `queued` is below
    ///    [`MAX_QUEUED`]; for writing, every client whose `queue` is not
    ///    empty. (An idle socket is almost always writable: watching it
    ///    would make select return at once, turn after turn.)
    /// 2. Wait: `sys::select(Some(&mut readable), Some(&mut writable),
    ///    timeout)`. If it fails with `io::ErrorKind::Interrupted` (a signal
    ///    woke it), return `Ok(())`: the next turn waits again.
    /// 3. For every client: if it is in `readable`, call `receive`; if that
    ///    kept it and it is in `writable`, call `send`. Collect the clients
    ///    to close and `remove` them after the loop over `clients` (you
    ///    cannot remove from a map while iterating over it).
    /// 4. Last, if the listener is in `readable`, call `accept_all`. Doing
    ///    it last means a new connection can never be mistaken for an old
    ///    one whose descriptor number it reuses within this turn.
    ///
    /// Only errors that are not one client's fault leave this function
    /// with `Err`: a client's broken connection closes that client.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = (timeout, &self.clients, self.accepting, Self::remove);
        let _ = (Self::accept_all, Client::receive, Client::send);
        todo!(
            "one turn of the select loop: build the sets, select, serve the ready clients, accept"
        )
    }

    /// Accepts every connection that is waiting, then returns.
    ///
    /// The listener is non-blocking, so call `self.listener.accept()` in a
    /// loop: `Ok((stream, peer))` goes to [`Server::admit`];
    /// `io::ErrorKind::WouldBlock` means nobody else is waiting (the normal
    /// way out); `Interrupted` means try again; [`out_of_descriptors`]
    /// means set `accepting` to false and stop; any other error (a client
    /// that gave up before we accepted it) is printed, and ends the loop.
    fn accept_all(&mut self) {
        let _ = (&self.listener, Self::admit, out_of_descriptors);
        todo!("accept every waiting connection, until accept says WouldBlock")
    }
}

impl Client {
    /// The socket is readable: read from it once (`self.stream.read`, with
    /// `use std::io::Read;` at the top of the file), into a buffer of a few
    /// KiB, and push what came to the back of `queue` (adding to `queued`).
    /// Do not answer here: replies go out in `send`, when select(2) says
    /// the socket can take them.
    ///
    /// - `Ok(0)`: the client closed its end: `Outcome::Close`.
    /// - `WouldBlock` or `Interrupted`: nothing to do now, `Outcome::Keep`;
    ///   select(2) will say again if there is something to read.
    /// - Any other error (say, connection reset by peer): `Outcome::Close`
    ///   with the error, never `?`: one broken client must not stop the
    ///   server.
    ///
    /// One read per turn is enough: select(2) is level-triggered, so if
    /// more is waiting, the next turn says so, and the other clients get
    /// their turn in between.
    fn receive(&mut self, verbosity: Verbosity) -> Outcome {
        let _ = (&mut self.stream, &mut self.queue, self.queued, verbosity);
        todo!("read once; queue what came; a zero-byte read or an error closes the client")
    }

    /// The socket is writable: send queued messages, in upper case
    /// (`make_ascii_uppercase`), oldest first, until the queue is empty or
    /// the kernel takes no more.
    ///
    /// Use `write`, not `write_all`: on a non-blocking socket `write` may
    /// take only part of a message (the kernel's buffer is full). Keep the
    /// rest at the front of the queue for the next writable turn, and
    /// subtract what was written from `queued`. `WouldBlock` means "full
    /// now": keep the client. `Interrupted`: try again. `Ok(0)` or any
    /// other error: `Outcome::Close`.
    fn send(&mut self, verbosity: Verbosity) -> Outcome {
        let _ = (self.peer, verbosity);
        todo!("write queued replies in upper case until the queue is empty or the socket is full")
    }
}
// ANCHOR_END: todo
