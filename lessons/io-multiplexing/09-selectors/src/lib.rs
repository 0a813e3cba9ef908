//! Lesson 09: the notes' `selectors` echo server, with `mio`.
//!
//! Python's `selectors` example registers each socket together with the
//! function to call when it is ready (`sel.register(sock, EVENT_READ,
//! accept)`), and its loop only ever does one thing: wait, then call the
//! function that came with each ready socket. [`Selector`] is that shape
//! in Rust: each registration owns its socket and carries its callback.
//! [`echo_server`] registers the listener with [`accept`], and `accept`
//! registers each new connection with `echo`.
//!
//! mio waits with epoll on Linux (kqueue on BSD and macOS) in
//! *edge-triggered* mode: an event means "something changed", not "there
//! is data". So every callback keeps reading, writing or accepting until
//! the kernel answers `WouldBlock`; stopping earlier would leave bytes that
//! no event will ever mention again. Lesson 07's `compare` shows the
//! difference, and the book's chapter walks through it.
//!
//! ```text
//! just run lesson-09                  # terminal 1: listening on 127.0.0.1:10000
//! nc 127.0.0.1 10000                  # terminal 2: type lines, get them back
//! ```

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mio::event::{Event, Source};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

/// Where the server listens unless told otherwise: the notes' port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:10000";

/// How many bytes may wait to be echoed to one client before the server
/// stops reading from it (see [`Connection::pump`]). Without a limit, a
/// client that sends and never reads would grow the server's memory
/// without end.
pub const MAX_UNSENT: usize = 64 * 1024;

// ANCHOR: short_read
/// Whether a *short read* (fewer bytes than the buffer could take) may end
/// a read loop, as `WouldBlock` would.
///
/// The edge-triggered rule is "read until `WouldBlock`", and it is all mio
/// promises on every system. But with epoll and kqueue, a read that returns
/// less than the buffer has emptied the socket's receive queue, and any byte
/// that arrives later is a new edge, so a new event. Trusting that saves
/// one system call per message, the read that would only say `WouldBlock`
/// (tokio does the same, except on Windows). One exception: if the peer's
/// FIN had already arrived when the event was reported, nothing new will
/// ever arrive to make an edge, so an event that says "read closed" is
/// read to the very end.
pub const SHORT_READ_DRAINS: bool = cfg!(not(windows));
// ANCHOR_END: short_read

// ANCHOR: selector
/// What a callback tells the selector when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep the registration: call me again when the socket is ready.
    Keep,
    /// Unregister the socket and close it.
    Close,
}

/// A registration as the selector stores it: a closure that owns the
/// socket and calls the callback with it (Python keeps the socket and the
/// callback side by side in a `SelectorKey`; a closure holds both).
/// `Send`, so that a selector can be built on one thread and run on another.
type Registration = Box<dyn FnMut(&mut Selector, &Event) -> Next + Send>;

/// An event loop in the shape of Python's `selectors`.
pub struct Selector {
    /// mio's handle on epoll/kqueue.
    poll: Poll,
    /// Every registration, at the index of its token. `None`: a free slot,
    /// or the registration whose callback is running right now.
    registrations: Vec<Option<Registration>>,
    /// Slots freed by closed registrations, reused before the vector grows.
    free: Vec<usize>,
    /// Where `poll` puts the events, kept from turn to turn.
    events: Events,
}

impl Selector {
    pub fn new() -> io::Result<Self> {
        Ok(Selector {
            poll: Poll::new()?,
            registrations: Vec::new(),
            free: Vec::new(),
            events: Events::with_capacity(1024),
        })
    }

    /// Watches `source` for `interest`, and calls `callback` with it each
    /// time it is ready: Python's `sel.register(sock, EVENT_READ, accept)`.
    /// The selector owns the socket from now on; when the callback returns
    /// [`Next::Close`], the socket is unregistered and closed.
    pub fn register<S, F>(
        &mut self,
        mut source: S,
        interest: Interest,
        mut callback: F,
    ) -> io::Result<Token>
    where
        S: Source + Send + 'static,
        F: FnMut(&mut Selector, &mut S, &Event) -> Next + Send + 'static,
    {
        let index = self
            .free
            .last()
            .copied()
            .unwrap_or(self.registrations.len());
        let token = Token(index);
        self.poll
            .registry()
            .register(&mut source, token, interest)?;
        let registration: Registration = Box::new(move |selector, event| {
            let next = callback(selector, &mut source, event);
            if next == Next::Close {
                // Tell the kernel before the socket is closed (it is
                // dropped right after, with this closure).
                let _ = selector.registry().deregister(&mut source);
            }
            next
        });
        if index == self.registrations.len() {
            self.registrations.push(Some(registration));
        } else {
            self.free.pop();
            self.registrations[index] = Some(registration);
        }
        Ok(token)
    }

    /// mio's registry, for callbacks that change what their socket waits for.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// How many sockets are registered (a callback that is running counts
    /// as well). A server that cleans up after its clients comes back to 1,
    /// the listener.
    pub fn registrations(&self) -> usize {
        self.registrations.len() - self.free.len()
    }

    /// Runs the loop forever (or until waiting itself fails).
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.turn(None)?;
        }
    }

    /// One turn: wait (at most `timeout`), then call the callback of every
    /// ready registration.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // A signal woke us up: nothing is ready, go round again.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        }
        // Callbacks need `&mut self` (to register new sockets), and the
        // events live in `self`: move them out while the callbacks run.
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter() {
            let index = event.token().0;
            // The registration may be gone: an earlier callback in this same
            // turn closed it. (If its slot was reused just now, the new
            // socket gets an event it did not need; callbacks cope, since
            // they stop at `WouldBlock` anyway.)
            let Some(mut registration) = self.registrations.get_mut(index).and_then(Option::take)
            else {
                continue;
            };
            match registration(self, event) {
                Next::Keep => self.registrations[index] = Some(registration),
                Next::Close => {
                    drop(registration); // closes the socket
                    self.free.push(index);
                }
            }
        }
        self.events = events;
        Ok(())
    }
}
// ANCHOR_END: selector

// ANCHOR: echo_server
/// The notes' echo server on an already-bound listener (tests bind
/// `127.0.0.1:0`): the listener is registered with [`accept`]. Call
/// [`Selector::run`] on the result to serve.
///
/// What the notes' server prints (each connection, each echo) are
/// `tracing` events here: `server --verbose` shows them, and nobody pays
/// for them otherwise.
pub fn echo_server(listener: std::net::TcpListener) -> io::Result<Selector> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener);
    let mut selector = Selector::new()?;
    selector.register(
        listener,
        Interest::READABLE,
        |selector, listener, _event| accept(selector, listener),
    )?;
    Ok(selector)
}
// ANCHOR_END: echo_server

// ANCHOR: accept
/// The listener's callback: accepts every waiting connection and registers
/// each one with the echo callback.
pub fn accept(selector: &mut Selector, listener: &mut TcpListener) -> Next {
    // One edge-triggered event can stand for many waiting connections:
    // accept until the kernel says there are no more.
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                // Small replies should leave at once, not wait to be batched.
                let _ = stream.set_nodelay(true);
                tracing::info!("accepted {peer}");
                let connection = Connection::new(stream, peer);
                // Readable *and* writable, once: under edge triggering a
                // writable event only comes when a full send buffer drains,
                // so asking for it costs nothing until it is needed.
                let interest = Interest::READABLE | Interest::WRITABLE;
                let registered = selector.register(connection, interest, echo);
                if let Err(error) = registered {
                    tracing::warn!("dropped {peer}: {error}");
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if out_of_descriptors(&error) => {
                // The waiting connections stay in the listen queue until the
                // next one arrives and makes a new edge. The binary raises
                // its open-file limit at start so this is rare.
                tracing::warn!("cannot accept ({error}): out of descriptors");
                return Next::Keep;
            }
            // That one connection failed (the client gave up before we
            // accepted it, say): the next one may be fine, and under edge
            // triggering we must go on until WouldBlock.
            Err(error) => tracing::warn!("accept failed: {error}"),
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: echo
/// A connection's callback: echo everything, then tell the selector
/// whether to keep the connection.
fn echo(_selector: &mut Selector, connection: &mut Connection, event: &Event) -> Next {
    match connection.pump(event) {
        Ok(()) if connection.peer_closed && connection.unsent.is_empty() => {
            tracing::info!("closing {}", connection.peer);
            Next::Close
        }
        Ok(()) => Next::Keep,
        Err(error) => {
            tracing::info!("closing {}: {error}", connection.peer);
            Next::Close
        }
    }
}

/// One client of the echo server.
pub struct Connection {
    stream: TcpStream,
    /// Its address, for the messages we print.
    peer: SocketAddr,
    /// Bytes read and not yet written back.
    unsent: Vec<u8>,
    /// The client closed its end (a read returned 0 bytes). What it sent
    /// before that is still echoed, then the connection is closed.
    peer_closed: bool,
}

impl Connection {
    fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        Connection {
            stream,
            peer,
            unsent: Vec::new(),
            peer_closed: false,
        }
    }

    /// Does everything that can be done now: write what is owed, read
    /// what has arrived, and again, until the kernel says `WouldBlock` on
    /// the side we are waiting for. The event that brought us here may have
    /// been "readable" or "writable"; it does not matter, both sides are
    /// tried every time.
    fn pump(&mut self, event: &Event) -> io::Result<()> {
        // See SHORT_READ_DRAINS: a short read ends the loop, unless this
        // event says the peer has closed or failed.
        let short_read_drains = SHORT_READ_DRAINS && !(event.is_read_closed() || event.is_error());
        let mut drained = false;
        let mut buf = [0u8; 16 * 1024];
        loop {
            self.flush()?;
            // Backpressure: with this much unsent, stop reading. The bytes
            // stay in the kernel, the client's sends slow down, and when our
            // send buffer drains a writable event brings us back here, to
            // read again.
            if drained || self.peer_closed || self.unsent.len() >= MAX_UNSENT {
                return Ok(());
            }
            match self.stream.read(&mut buf) {
                // Zero bytes: the client closed its end.
                Ok(0) => self.peer_closed = true,
                Ok(n) => {
                    tracing::info!("echoing b\"{}\" to {}", buf[..n].escape_ascii(), self.peer);
                    self.unsent.extend_from_slice(&buf[..n]);
                    // Everything that had arrived is read (it is written
                    // back at the top of the loop).
                    drained = short_read_drains && n < buf.len();
                }
                // Drained: the next event will say when more arrives.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// Writes unsent bytes until there are none or the kernel's buffer is
    /// full. A write may take only part of what it is given (a partial
    /// write); the rest stays for the next try.
    fn flush(&mut self) -> io::Result<()> {
        while !self.unsent.is_empty() {
            match self.stream.write(&self.unsent) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.unsent.drain(..n);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}
// ANCHOR_END: echo

/// mio registers a `Source`; a connection is registered through its stream.
impl Source for Connection {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.stream.register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.stream.reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.stream.deregister(registry)
    }
}

/// Whether accept(2) failed because the process or the system ran out of
/// descriptors (or memory for a new socket): trying again at once would
/// fail the same way.
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
