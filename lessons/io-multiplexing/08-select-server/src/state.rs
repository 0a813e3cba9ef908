//! What the readiness loop in `lib.rs` works on: the server's state, and
//! taking clients in and out. The select-server exercise compiles this file
//! as it is and leaves `lib.rs` to the student.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

use crate::{FdSet, FdTooHigh};

/// Where the server listens unless told otherwise: the notes' port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:10000";

/// How many reply bytes may wait for one client before the server stops
/// reading from it. A client that sends and never reads would otherwise
/// make its queue, and the server's memory, grow without end; with the
/// limit, its own socket buffers fill up and *it* is the one that waits.
pub const MAX_QUEUED: usize = 64 * 1024;

/// What a connection that select(2) cannot watch is told before it is
/// closed.
pub const REFUSAL: &str = "sorry, this server is full: select(2) can only watch descriptors below 1024. Try again later.\n";

// ANCHOR: server
/// The server: the listening socket, and one entry per connected client.
pub struct Server {
    /// Readable means "a connection is waiting to be accepted".
    pub(crate) listener: TcpListener,
    /// The clients, by descriptor number: select(2) speaks in numbers.
    pub(crate) clients: BTreeMap<RawFd, Client>,
    /// False after accept(2) failed for lack of descriptors: the waiting
    /// connection would make the listener readable on every turn, a busy
    /// loop. It is watched again once a client leaves.
    pub(crate) accepting: bool,
}

/// One connected client.
pub(crate) struct Client {
    pub(crate) stream: TcpStream,
    /// Its address, for the messages we print.
    pub(crate) peer: SocketAddr,
    /// Messages received and not yet sent back (the notes' `message_queues`).
    pub(crate) queue: VecDeque<Vec<u8>>,
    /// Total bytes in `queue`, to compare with [`crate::MAX_QUEUED`].
    pub(crate) queued: usize,
}
// ANCHOR_END: server

/// What handling a client decided.
pub(crate) enum Outcome {
    Keep,
    /// Remove it, and say why.
    Close(String),
}

impl Server {
    /// A server on an already-bound listener (tests bind `127.0.0.1:0`).
    pub fn new(listener: TcpListener) -> io::Result<Self> {
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
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Serves until an error that is not any one client's fault.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.turn(None)?;
        }
    }

    // ANCHOR: admit
    /// Takes in a new connection, or refuses it if select(2) could not
    /// watch it.
    pub(crate) fn admit(&mut self, stream: TcpStream, peer: SocketAddr) {
        let fd = stream.as_raw_fd();
        if !FdSet::fits(fd) {
            refuse(stream);
            tracing::info!("refused {peer}: its descriptor {fd} does not fit in an fd_set");
            return;
        }
        // An accepted socket does not inherit non-blocking mode.
        if let Err(error) = stream.set_nonblocking(true) {
            tracing::warn!("dropped {peer}: {error}");
            return;
        }
        // Small replies should leave at once, not wait to be batched.
        let _ = stream.set_nodelay(true);
        tracing::info!("new connection from {peer}");
        self.clients.insert(
            fd,
            Client {
                stream,
                peer,
                queue: VecDeque::new(),
                queued: 0,
            },
        );
    }
    // ANCHOR_END: admit

    /// Forgets a client; dropping its stream closes the socket.
    pub(crate) fn remove(&mut self, fd: RawFd, reason: &str) {
        if let Some(client) = self.clients.remove(&fd) {
            tracing::info!("{} {reason}", client.peer);
        }
        // A descriptor is free again.
        self.accepting = true;
    }
}

/// Tells a connection we cannot serve why, then closes it. One attempt,
/// never blocking: a fresh socket's send buffer is empty, so the message
/// fits; if it does not, the client just sees the connection close.
fn refuse(stream: TcpStream) {
    let _ = stream.set_nonblocking(true);
    let _ = (&stream).write(REFUSAL.as_bytes());
}

/// Whether accept(2) failed because the process or the system ran out of
/// descriptors (or memory for a new socket).
pub(crate) fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
