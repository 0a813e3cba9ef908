//! Lesson 05: many sockets on one thread, with coroutines.
//!
//! The notes' gevent server accepts connections in a loop and spawns one
//! greenlet per connection; each greenlet reads and writes its socket as if
//! it had the thread to itself. After `monkey.patch_all()`, every `recv` and
//! `send` that would block switches to another greenlet instead.
//!
//! `may::net` gives Rust the same shape with no patching: its `TcpStream`
//! has the ordinary blocking-style `Read`/`Write` API, but a read that
//! would block parks the *coroutine* and the worker thread runs another.
//! One worker thread serves every connection.
//!
//! - [`serve`] is the server: an accept loop and one coroutine per client.
//! - [`echo`] is what each coroutine runs.
//! - [`stress`] opens many connections at once and checks every echo.
//!
//! Run it: `just run lesson-05 server` in one terminal, then
//! `just run lesson-05 client` or `just run lesson-05 stress` in another.

use std::error::Error;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::time::{Duration, Instant};

use may::net::{TcpListener, TcpStream};
use socket2::{Domain, Socket, Type};

/// The lesson's error type: anything that can go wrong, with its message.
pub mod threads;

pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Where the server listens and the clients connect unless told otherwise:
/// the port the notes use.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8001";

/// How many connections the kernel queues before `accept` takes them. The
/// notes use 500; the kernel caps it at `net.core.somaxconn` (4096 here).
pub const BACKLOG: i32 = 1024;

// ANCHOR: configure
/// Sets up may's scheduler before anything is spawned: `workers` threads
/// run coroutines, and none is pinned to a core (so a server and a client
/// on one worker each do not both land on core 0). Then starts the
/// scheduler with an empty coroutine, so its start-up is not counted in
/// the first measurement. Lesson 03 explains each setting.
pub fn configure(workers: usize) {
    may::config()
        .set_workers(workers.max(1))
        .set_worker_pin(false);
    // A coroutine that does nothing cannot panic, so the join cannot fail.
    let _ = may::go!(|| ()).join();
}
// ANCHOR_END: configure

// ANCHOR: bind
/// Binds a listening socket the way a server should: `SO_REUSEADDR` (a
/// restarted server does not wait for old connections to time out), our own
/// backlog, and *no* `SO_REUSEPORT`, so a second server on a port in use
/// fails with "address in use" instead of silently sharing it.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
// ANCHOR_END: bind

/// What the server prints while it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Nothing after the `listening on` line: the right choice under load,
    /// where printing would cost more than echoing.
    Quiet,
    /// A line per connection and per message, like the notes' `recv:`.
    Verbose,
}

// ANCHOR: serve
/// The server: accepts connections forever, one coroutine per connection.
///
/// It takes an already-bound standard listener (tests bind port 0) and
/// hands it to may, which switches it to non-blocking mode and registers it
/// with its epoll loop. From then on `accept` parks this coroutine until a
/// client arrives.
pub fn serve(listener: std::net::TcpListener, log: Log) -> io::Result<()> {
    // SAFETY: `into_raw_fd` gives up ownership of a valid listening socket,
    // and `from_raw_fd` takes it over; nothing else holds the descriptor.
    let listener = unsafe { TcpListener::from_raw_fd(listener.into_raw_fd()) };
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if is_transient(&error) => {
                // Out of descriptors, or a client gave up while queued: the
                // server itself is fine. Pause a little (this coroutine
                // only) so we do not spin while descriptors are short.
                eprintln!("accept failed, retrying: {error}");
                may::coroutine::sleep(Duration::from_millis(50));
                continue;
            }
            Err(error) => return Err(error),
        };
        if log == Log::Verbose {
            println!("{peer} connected");
        }
        // One coroutine per connection, as `gevent.spawn(handle_request,
        // conn)`. Spawning fails only if no stack can be allocated; that
        // connection is dropped, the server goes on.
        let spawned = may::go!(may::coroutine::Builder::new(), move || {
            match echo(stream, peer, log) {
                Ok(bytes) if log == Log::Verbose => println!("{peer} closed after {bytes} bytes"),
                Ok(_) => {}
                // A client that vanishes (reset, broken pipe) ends only its
                // own coroutine.
                Err(error) if log == Log::Verbose => println!("{peer} lost: {error}"),
                Err(_) => {}
            }
        });
        if let Err(error) = spawned {
            eprintln!("could not start a coroutine for {peer}: {error}");
        }
    }
}
// ANCHOR_END: serve

/// Accept errors that say nothing about the listener itself.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) || matches!(
        // "Too many open files", in this process or in the whole system.
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE)
    )
}

// ANCHOR: echo
/// One connection: read what arrives, write it back, until the client
/// closes. Returns how many bytes were echoed.
///
/// The loop is written as if for a blocking socket, and it is one, *for
/// this coroutine*: a read with nothing to read parks the coroutine (may
/// sees `WouldBlock` from the non-blocking socket, registers interest with
/// epoll, and switches away), and the worker thread serves other clients.
pub fn echo(mut stream: TcpStream, peer: SocketAddr, log: Log) -> io::Result<u64> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut echoed = 0u64;
    loop {
        let n = match stream.read(&mut buffer) {
            // Zero bytes: the client closed its sending side. Nothing more
            // will come, so close ours too and finish.
            Ok(0) => {
                // The client may already be gone entirely; either way we
                // are done with the connection.
                let _ = stream.shutdown(Shutdown::Write);
                return Ok(echoed);
            }
            Ok(n) => n,
            // A signal interrupted the read: nothing was read, try again.
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            // Reset by the peer, or any other failure: this client is gone.
            Err(error) => return Err(error),
        };
        if log == Log::Verbose {
            println!(
                "{peer} sent {n} bytes: {:?}",
                String::from_utf8_lossy(&buffer[..n])
            );
        }
        // `write_all` loops over short writes, and parks this coroutine
        // while the client's receive window is full.
        stream.write_all(&buffer[..n])?;
        echoed += n as u64;
    }
}
// ANCHOR_END: echo

// ANCHOR: message
/// The `index`-th message of connection `connection`: `size` bytes that
/// start with who sent it and go on with a pattern that depends on both,
/// so an echo that comes back to the wrong client, out of order or with a
/// byte changed does not match.
pub fn message(connection: usize, index: usize, size: usize) -> Vec<u8> {
    let mut bytes = format!("conn {connection} msg {index}:").into_bytes();
    let seed = connection
        .wrapping_mul(31)
        .wrapping_add(index.wrapping_mul(7));
    let mut position = bytes.len();
    while bytes.len() < size {
        bytes.push(b'a' + ((seed + position) % 26) as u8);
        position += 1;
    }
    bytes.truncate(size.max(1));
    bytes
}
// ANCHOR_END: message

/// What one stress connection saw.
#[derive(Debug, Default)]
pub struct ConnectionReport {
    /// One entry per message that came back, equal or not.
    pub latencies: Vec<Duration>,
    /// Echoes that came back different from what was sent.
    pub mismatches: usize,
    /// Why the connection stopped early, if it did.
    pub error: Option<String>,
}

/// The stress client's settings.
#[derive(Debug, Clone)]
pub struct StressPlan {
    pub server: SocketAddr,
    pub connections: usize,
    pub messages: usize,
    pub size: usize,
    /// How long one echo may take before the connection counts as failed.
    pub timeout: Duration,
}

/// The stress client's findings.
#[derive(Debug)]
pub struct StressReport {
    pub plan: StressPlan,
    /// Connections that were open at the same moment, before the first
    /// message was sent.
    pub connected: usize,
    /// Echoes that matched byte for byte.
    pub matched: usize,
    pub mismatches: usize,
    /// Every connection error, with its connection's number.
    pub errors: Vec<String>,
    /// From the first message sent to the last echo received.
    pub elapsed: Duration,
    /// Every round trip's time, sorted.
    pub latencies: Vec<Duration>,
}

impl StressReport {
    /// Whether every message of every connection came back exactly.
    pub fn all_matched(&self) -> bool {
        self.matched == self.plan.connections * self.plan.messages
    }

    /// Round trips per second over the whole run.
    pub fn round_trips_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The round-trip time that `percent` % of round trips beat.
    pub fn percentile(&self, percent: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (percent / 100.0 * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

// ANCHOR: stress
/// Opens `connections` connections, all at once, waits until every one is
/// connected, then has each send `messages` messages one after another,
/// reading each echo back in full and comparing it byte for byte.
///
/// Every connection is a coroutine: a hundred blocking-style clients on
/// one thread.
pub fn stress(plan: &StressPlan) -> StressReport {
    let (report_tx, report_rx) = may::sync::mpsc::channel();
    let (ready_tx, ready_rx) = may::sync::mpsc::channel();
    // Fired when every connection is open: all start sending together.
    let start = std::sync::Arc::new(may::sync::SyncFlag::new());

    for id in 0..plan.connections {
        let (plan, reports, ready, start) = (
            plan.clone(),
            report_tx.clone(),
            ready_tx.clone(),
            start.clone(),
        );
        let spawned = may::go!(may::coroutine::Builder::new(), move || {
            let report = match TcpStream::connect(plan.server) {
                Ok(stream) => {
                    let _ = ready.send(true);
                    start.wait();
                    run_connection(stream, id, &plan)
                }
                Err(error) => {
                    let _ = ready.send(false);
                    ConnectionReport {
                        error: Some(format!("connect: {error}")),
                        ..ConnectionReport::default()
                    }
                }
            };
            let _ = reports.send((id, report));
        });
        if let Err(error) = spawned {
            let report = ConnectionReport {
                error: Some(format!("no coroutine: {error}")),
                ..ConnectionReport::default()
            };
            let _ = ready_tx.send(false);
            let _ = report_tx.send((id, report));
        }
    }
    drop((report_tx, ready_tx));

    let connected = ready_rx
        .iter()
        .take(plan.connections)
        .filter(|ok| *ok)
        .count();
    let began = Instant::now();
    start.fire();

    let mut report = StressReport {
        plan: plan.clone(),
        connected,
        matched: 0,
        mismatches: 0,
        errors: Vec::new(),
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(plan.connections * plan.messages),
    };
    for (id, connection) in report_rx.iter().take(plan.connections) {
        report.mismatches += connection.mismatches;
        report.matched += connection.latencies.len() - connection.mismatches;
        report.latencies.extend(connection.latencies);
        if let Some(error) = connection.error {
            report.errors.push(format!("connection {id}: {error}"));
        }
    }
    report.elapsed = began.elapsed();
    report.latencies.sort_unstable();
    report.errors.sort();
    report
}
// ANCHOR_END: stress

// ANCHOR: run_connection
/// One stress connection: send, read the whole echo back, compare; repeat.
fn run_connection(mut stream: TcpStream, id: usize, plan: &StressPlan) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    if let Err(error) = stream.set_read_timeout(Some(plan.timeout)) {
        report.error = Some(format!("set timeout: {error}"));
        return report;
    }
    let mut echo = vec![0u8; plan.size];
    for index in 0..plan.messages {
        let sent = message(id, index, plan.size);
        let began = Instant::now();
        // TCP is a byte stream: the echo may arrive in several pieces, so
        // read exactly as many bytes as were sent, however they come.
        // (The notes' client reads once with recv(1024) and hopes.)
        let result = stream
            .write_all(&sent)
            .and_then(|()| stream.read_exact(&mut echo[..sent.len()]));
        if let Err(error) = result {
            report.error = Some(format!("message {index}: {error}"));
            break;
        }
        report.latencies.push(began.elapsed());
        if echo[..sent.len()] != sent[..] {
            report.mismatches += 1;
        }
    }
    // Tell the server we are done, as a polite client does.
    let _ = stream.shutdown(Shutdown::Write);
    report
}
// ANCHOR_END: run_connection

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differ_by_connection_and_index_and_have_the_asked_size() {
        assert_eq!(message(3, 4, 40).len(), 40);
        assert!(message(3, 4, 40).starts_with(b"conn 3 msg 4:"));
        assert_ne!(message(3, 4, 40), message(4, 3, 40));
        assert_ne!(message(3, 4, 40)[20..], message(3, 5, 40)[20..]);
        assert_eq!(message(1, 1, 3).len(), 3);
    }

    #[test]
    fn percentiles_pick_the_right_rank() {
        let report = StressReport {
            plan: StressPlan {
                server: "127.0.0.1:1".parse().unwrap(),
                connections: 1,
                messages: 4,
                size: 1,
                timeout: Duration::from_secs(1),
            },
            connected: 1,
            matched: 4,
            mismatches: 0,
            errors: Vec::new(),
            elapsed: Duration::from_secs(1),
            latencies: (1..=4).map(Duration::from_millis).collect(),
        };
        assert_eq!(report.percentile(50.0), Duration::from_millis(2));
        assert_eq!(report.percentile(99.0), Duration::from_millis(4));
        assert_eq!(report.percentile(0.0), Duration::from_millis(1));
        assert!(report.all_matched());
    }
}
