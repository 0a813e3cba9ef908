//! A wiretap: a TCP proxy between a program and Redis that writes down
//! every command and every reply, with the moment it passed.
//!
//! The program is given the wiretap's address as its Redis URL. Each
//! connection it opens is passed on to the real server, byte for byte,
//! while two threads per connection read the two directions and log what
//! they see. From the log a checker can tell, without trusting anything the
//! program prints:
//!
//! - which commands were sent, on which connection, and what came back;
//! - whether a command was sent only after the reply to the previous one
//!   had come back (a round trip) or before (a pipeline). A reply is
//!   logged *before* it is passed on, so a command sent in answer to it is
//!   always logged after it;
//! - how long a group of commands took, from the first command to the
//!   last reply.
//!
//! And because it sits in the middle, it can look at the server itself at
//! the right moment: before the first command that deletes keys is passed
//! on, it reads the keys it was asked to watch (a snapshot of what the
//! program leaves before it cleans up).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::resp::{self, Value};

/// One thing the wiretap saw.
#[derive(Debug, Clone)]
pub struct Event {
    /// Which connection: 0, 1, 2... in the order the program opened them.
    pub conn: usize,
    /// When it passed the wiretap.
    pub at: Instant,
    pub what: What,
}

#[derive(Debug, Clone)]
pub enum What {
    /// The program opened the connection.
    Opened,
    /// The program sent a command (its words: `["SET", "k", "v"]`).
    Command(Vec<String>),
    /// The server answered (replies come in the order of the commands).
    Reply(Value),
    /// The watched keys' values, read just before a command that deletes
    /// keys was passed on.
    Snapshot(Vec<Option<String>>),
    /// Something the wiretap could not follow (the bytes still passed).
    Trouble(String),
}

/// A running wiretap. Dropping it stops accepting connections.
pub struct Wiretap {
    /// Where the program connects.
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// What the wiretap's threads share.
struct Shared {
    /// The real server.
    upstream: SocketAddr,
    /// Keys to read before the program deletes keys.
    snapshot_keys: Vec<String>,
    log: Mutex<Vec<Event>>,
    /// Set when the wiretap stops accepting.
    stopping: AtomicBool,
    /// Copying threads still running.
    pumps: AtomicUsize,
}

/// Which way a copying thread copies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Program to server: commands.
    Up,
    /// Server to program: replies.
    Down,
}

impl Wiretap {
    /// Starts listening on a free loopback port, passing every connection
    /// on to `upstream`.
    pub fn start(upstream: SocketAddr, snapshot_keys: Vec<String>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            snapshot_keys,
            log: Mutex::default(),
            stopping: AtomicBool::new(false),
            pumps: AtomicUsize::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept(&listener, &shared))
        };
        Ok(Wiretap {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `redis://<the wiretap's address>/`, for the program's `--url`.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Waits (at most `within`) until every connection the program opened
    /// is closed and fully logged, stops, and returns the log. Call it once
    /// the program has exited.
    pub fn finish(mut self, within: Duration) -> Vec<Event> {
        let deadline = Instant::now() + within;
        while self.shared.pumps.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.stop();
        self.shared
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            // accept() is blocking: a connection of our own wakes it up.
            let _ = TcpStream::connect(self.addr);
            let _ = acceptor.join();
        }
    }
}

impl Drop for Wiretap {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn log(&self, conn: usize, what: What) {
        if let Ok(mut log) = self.log.lock() {
            log.push(Event {
                conn,
                at: Instant::now(),
                what,
            });
        }
    }
}

/// Accepts the program's connections until the wiretap stops.
fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut next_conn = 0;
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let conn = next_conn;
        next_conn += 1;
        shared.log(conn, What::Opened);
        let server = match TcpStream::connect(shared.upstream) {
            Ok(server) => server,
            Err(error) => {
                shared.log(
                    conn,
                    What::Trouble(format!("could not reach Redis: {error}")),
                );
                continue; // dropping `client` closes it: the program sees why
            }
        };
        // Without NODELAY the kernel may hold back small writes, and a
        // round trip through the wiretap would cost tens of milliseconds.
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(client_reader), Ok(server_reader)) = (client.try_clone(), server.try_clone())
        else {
            shared.log(conn, What::Trouble("could not clone a socket".into()));
            continue;
        };
        for (from, to, direction) in [
            (client_reader, server, Direction::Up),
            (server_reader, client, Direction::Down),
        ] {
            shared.pumps.fetch_add(1, Ordering::SeqCst);
            let shared = Arc::clone(shared);
            std::thread::spawn(move || {
                pump(&shared, conn, from, to, direction);
                shared.pumps.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
}

/// Copies one direction of one connection, logging each complete command
/// or reply before passing on the bytes that completed it.
fn pump(shared: &Shared, conn: usize, mut from: TcpStream, mut to: TcpStream, way: Direction) {
    let mut chunk = vec![0; 64 * 1024];
    // Bytes of a value that has not fully arrived yet.
    let mut pending = Vec::new();
    // After bytes it cannot read, the wiretap stops reading but keeps copying.
    let mut following = true;
    loop {
        let n = match from.read(&mut chunk) {
            Ok(0) => break, // this side closed
            Ok(n) => n,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break, // reset: the program or the server is gone
        };
        if following {
            pending.extend_from_slice(&chunk[..n]);
            let mut used = 0;
            loop {
                match resp::parse(&pending[used..]) {
                    Ok(Some((value, len))) => {
                        used += len;
                        log_value(shared, conn, value, way);
                    }
                    Ok(None) => break,
                    Err(problem) => {
                        shared.log(conn, What::Trouble(problem));
                        following = false;
                        break;
                    }
                }
            }
            pending.drain(..used);
        }
        if to.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    // Pass the end on: the server closes its side when the program has, and
    // the program sees the server go away.
    let _ = to.shutdown(Shutdown::Write);
}

fn log_value(shared: &Shared, conn: usize, value: Value, way: Direction) {
    if way == Direction::Down {
        shared.log(conn, What::Reply(value));
        return;
    }
    let Some(words) = resp::command_words(&value) else {
        shared.log(conn, What::Trouble(format!("not a command: {value:?}")));
        return;
    };
    let name = words
        .first()
        .map(|w| w.to_ascii_uppercase())
        .unwrap_or_default();
    let deletes = matches!(name.as_str(), "DEL" | "UNLINK" | "FLUSHDB" | "FLUSHALL");
    if deletes && !shared.snapshot_keys.is_empty() {
        let what = match snapshot(shared.upstream, &shared.snapshot_keys) {
            Ok(values) => What::Snapshot(values),
            Err(problem) => What::Trouble(format!("could not take a snapshot: {problem}")),
        };
        shared.log(conn, what);
    }
    shared.log(conn, What::Command(words));
}

/// Reads `keys` with one MGET on a connection of the wiretap's own, with
/// the `redis` crate: only the program's own traffic needs reading by hand.
fn snapshot(upstream: SocketAddr, keys: &[String]) -> Result<Vec<Option<String>>, String> {
    let client = redis::Client::open(format!("redis://{upstream}/")).map_err(|e| e.to_string())?;
    let mut server = client
        .get_connection_with_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    redis::cmd("MGET")
        .arg(keys)
        .query(&mut server)
        .map_err(|e| format!("MGET failed: {e}"))
}
