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
//! The select(2) wrapper itself ([`FdSet`], [`sys::select`]) was built in
//! lesson 07.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use anyhow::{Context, bail};
pub use lesson_07_select_poll_epoll::sys::{self, FD_SETSIZE, FdSet, FdTooHigh};

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

/// How much the server prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Nothing but the `listening on` line and errors (for benchmarks).
    Quiet,
    /// Connections, messages and disconnections, as the notes print them.
    Normal,
    /// Also every turn of the loop: what select(2) was asked and answered.
    Verbose,
}

// ANCHOR: server
/// The server: the listening socket, and one entry per connected client.
pub struct Server {
    /// Readable means "a connection is waiting to be accepted".
    listener: TcpListener,
    /// The clients, by descriptor number: select(2) speaks in numbers.
    clients: BTreeMap<RawFd, Client>,
    /// False after accept(2) failed for lack of descriptors: the waiting
    /// connection would make the listener readable on every turn, a busy
    /// loop. It is watched again once a client leaves.
    accepting: bool,
    verbosity: Verbosity,
}

/// One connected client.
struct Client {
    stream: TcpStream,
    /// Its address, for the messages we print.
    peer: SocketAddr,
    /// Messages received and not yet sent back (the notes' `message_queues`).
    queue: VecDeque<Vec<u8>>,
    /// Total bytes in `queue`, to compare with [`MAX_QUEUED`].
    queued: usize,
}
// ANCHOR_END: server

/// What handling a client decided.
enum Outcome {
    Keep,
    /// Remove it, and say why.
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

    // ANCHOR: turn
    /// One turn of the loop: say what to watch, wait, handle what is ready.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
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
        if self.verbosity >= Verbosity::Verbose {
            println!(
                "waiting for the next event ({} clients)...",
                self.clients.len()
            );
        }

        // 2. Sleep until something is ready. No descriptor is ready: the
        //    thread uses no CPU at all.
        match sys::select(Some(&mut readable), Some(&mut writable), timeout) {
            Ok(ready) if self.verbosity >= Verbosity::Verbose => println!("select: {ready} ready"),
            Ok(_) => {}
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
                outcome = client.receive(self.verbosity);
            }
            if matches!(outcome, Outcome::Keep) && writable.contains(&client.stream) {
                outcome = client.send(self.verbosity);
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
    }
    // ANCHOR_END: turn

    // ANCHOR: accept
    /// Accepts every connection that is waiting.
    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                // No more waiting: the normal way out.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if out_of_descriptors(&error) => {
                    println!("cannot accept ({error}): waiting until a client leaves");
                    self.accepting = false;
                    break;
                }
                // For example a client that gave up before we accepted it.
                // The listener is fine; select(2) will say if more wait.
                Err(error) => {
                    println!("accept failed: {error}");
                    break;
                }
            }
        }
    }

    /// Takes in a new connection, or refuses it if select(2) could not
    /// watch it.
    fn admit(&mut self, stream: TcpStream, peer: SocketAddr) {
        let fd = stream.as_raw_fd();
        if !FdSet::fits(fd) {
            refuse(stream);
            if self.verbosity >= Verbosity::Normal {
                println!("refused {peer}: its descriptor {fd} does not fit in an fd_set");
            }
            return;
        }
        // An accepted socket does not inherit non-blocking mode.
        if let Err(error) = stream.set_nonblocking(true) {
            println!("dropped {peer}: {error}");
            return;
        }
        // Small replies should leave at once, not wait to be batched.
        let _ = stream.set_nodelay(true);
        if self.verbosity >= Verbosity::Normal {
            println!("new connection from {peer}");
        }
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
    // ANCHOR_END: accept

    /// Forgets a client; dropping its stream closes the socket.
    fn remove(&mut self, fd: RawFd, reason: &str) {
        if let Some(client) = self.clients.remove(&fd)
            && self.verbosity >= Verbosity::Normal
        {
            println!("{} {reason}", client.peer);
        }
        // A descriptor is free again.
        self.accepting = true;
    }
}

// ANCHOR: client_io
impl Client {
    /// The socket is readable: read once. select(2) is *level-triggered*:
    /// if more is left, the next select(2) says so again, so one read per
    /// turn is enough, and fair to the other clients.
    fn receive(&mut self, verbosity: Verbosity) -> Outcome {
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            // Zero bytes: the client closed its end.
            Ok(0) => Outcome::Close("closed the connection".into()),
            Ok(n) => {
                if verbosity >= Verbosity::Normal {
                    println!(
                        "received b\"{}\" from {}",
                        buf[..n].escape_ascii(),
                        self.peer
                    );
                }
                self.queue.push_back(buf[..n].to_vec());
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
    }

    /// The socket is writable: send queued replies, in upper case, until
    /// the queue is empty or the kernel's buffer is full.
    fn send(&mut self, verbosity: Verbosity) -> Outcome {
        while let Some(message) = self.queue.front_mut() {
            // The reply rule. Upper-casing twice changes nothing, so the
            // unsent rest of a message can safely go through it again.
            message.make_ascii_uppercase();
            match self.stream.write(message) {
                Ok(0) => return Outcome::Close("stopped accepting data".into()),
                Ok(n) => {
                    if verbosity >= Verbosity::Normal {
                        println!(
                            "sending b\"{}\" to {}",
                            message[..n].escape_ascii(),
                            self.peer
                        );
                    }
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
        if verbosity >= Verbosity::Verbose {
            println!(
                "queue of {} is empty: not watching it for writing",
                self.peer
            );
        }
        Outcome::Keep
    }
}
// ANCHOR_END: client_io

/// Tells a connection we cannot serve why, then closes it. One attempt,
/// never blocking: a fresh socket's send buffer is empty, so the message
/// fits; if it does not, the client just sees the connection close.
fn refuse(stream: TcpStream) {
    let _ = stream.set_nonblocking(true);
    let _ = (&stream).write(REFUSAL.as_bytes());
}

/// Whether accept(2) failed because the process or the system ran out of
/// descriptors (or memory for a new socket).
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// The notes' message, in three parts.
pub const NOTES_MESSAGES: [&str; 3] = ["This is the message. ", "It will be sent ", "in parts."];

/// How long the client waits for a reply before giving up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: run_client
/// The notes' client: opens `sockets` connections, then for each part of
/// the message sends it on every socket, then reads the reply on every
/// socket, and prints both to `out`.
pub fn run_client(
    addr: &str,
    sockets: usize,
    messages: &[String],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("{addr} is not an address"))?
        .next()
        .with_context(|| format!("{addr} resolves to nothing"))?;
    writeln!(out, "connecting {sockets} sockets to {target}")?;
    let mut streams = Vec::new();
    for _ in 0..sockets {
        let stream = TcpStream::connect(target).with_context(|| {
            format!(
                "cannot connect to {target} (start the server first: just run lesson-08 server)"
            )
        })?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        streams.push((stream.local_addr()?, stream));
    }
    for message in messages {
        for (me, stream) in &mut streams {
            writeln!(out, "{me}: sending \"{}\"", message.escape_debug())?;
            stream.write_all(message.as_bytes())?;
        }
        for (me, stream) in &mut streams {
            let reply = read_reply(stream, message.len())
                .with_context(|| format!("{me}: waiting for the reply"))?;
            writeln!(out, "{me}: received \"{}\"", reply.escape_ascii())?;
            if reply.len() < message.len() {
                bail!("{me}: the server closed the connection");
            }
        }
    }
    writeln!(out, "closing {sockets} sockets")?;
    Ok(())
}

/// Reads until `len` bytes have arrived (the reply is as long as the
/// message) or the server closes the connection. TCP is a stream: one
/// `send` on one side may arrive as several `recv`s on the other, so
/// reading once, as the notes do, can print half a reply.
fn read_reply(stream: &mut TcpStream, len: usize) -> io::Result<Vec<u8>> {
    let mut reply = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match stream.read(&mut reply[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no reply within {} s", REPLY_TIMEOUT.as_secs()),
                ));
            }
            Err(error) => return Err(error),
        }
    }
    reply.truncate(got);
    Ok(reply)
}
// ANCHOR_END: run_client
