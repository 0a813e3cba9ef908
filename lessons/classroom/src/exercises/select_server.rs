//! Exercise 08, select-server: the readiness loop of a select(2) server.
//!
//! The checks talk to the student's server over TCP, as any client would.
//! Each requirement starts the built `server` program afresh on a free
//! loopback port (`--listen 127.0.0.1:0 --quiet`, reading the port from its
//! `listening on ADDR` line), so one failure cannot spoil the next check;
//! `--addr HOST:PORT` checks a server that is already running instead:
//!
//! ```text
//! just check select-server                          # your starter crate
//! just check select-server --addr 127.0.0.1:10000   # any running server
//! ```
//!
//! When a server the checker started has died, the failure says how (its
//! panic message, or its exit status and last words).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Result;
use crate::check::{Exercise, Requirement, Subject, describe_failure};

pub const EXERCISE: Exercise = Exercise {
    name: "select-server",
    lesson: 8,
    starter: "select-server",
    programs: &["server"],
    probe: None,
    requirements: &[
        Requirement {
            title: "answers each message in upper case",
            hint: "write all four todo!()s in src/lib.rs: turn watches the listener and the clients \
                   and calls accept_all, receive and send; send upper-cases each message \
                   (make_ascii_uppercase) before writing it",
            check: answers_in_upper_case,
        },
        Requirement {
            title: "two clients at once each get their own replies, in order",
            hint: "receive pushes to the back of this client's own queue, send writes from the \
                   front (VecDeque::push_back / front / pop_front), and the unsent rest of a \
                   partial write stays at the front",
            check: two_clients_get_their_own_replies,
        },
        Requirement {
            title: "a long stream, sent while not reading, comes back complete and in order",
            hint: "replies leave in the order the messages came: push_back in receive, front and \
                   pop_front in send; when write takes only part of a message, keep the unsent \
                   rest at the front (message.drain(..n)); and keep `queued` in step (+ in \
                   receive, - in send), or reading stops for good at MAX_QUEUED",
            check: a_long_stream_comes_back_whole,
        },
        Requirement {
            title: "200 clients connected at once are all served, each in its own order",
            hint: "accept_all takes every connection that waits (accept in a loop until \
                   WouldBlock); turn puts every client in the sets on every turn and serves every \
                   one that is ready, not just the first",
            check: many_clients_at_once,
        },
        Requirement {
            title: "a client that disconnects abruptly does not stop the server",
            hint: "in receive and send, a zero-byte read means the client left and any error other \
                   than WouldBlock or Interrupted (connection reset, broken pipe) is that client's \
                   problem: return Outcome::Close, never `?` or unwrap; turn then calls remove",
            check: abrupt_disconnects_are_survived,
        },
        Requirement {
            title: "clients that come and go do not use the server up (1,100 in a row)",
            hint: "a client that closed must be removed (turn collects the Outcome::Close ones and \
                   calls remove after the loop): dropping its stream frees its descriptor; \
                   otherwise descriptors run out before 1,024 connections",
            check: clients_come_and_go,
        },
        Requirement {
            title: "a client that sends but never reads does not stall the others",
            hint: "never wait for one client: receive only queues (no writing there), send writes \
                   only when select said writable, with write (not write_all) on the non-blocking \
                   socket, and WouldBlock means `try again next turn`",
            check: a_greedy_client_stalls_nobody,
        },
        Requirement {
            title: "a client that sends but never reads is held back (its queue stays small)",
            hint: "in turn, watch a client for reading only while its `queued` bytes are below \
                   MAX_QUEUED, and keep `queued` up to date in receive (+) and send (-)",
            check: a_greedy_client_is_held_back,
        },
        Requirement {
            title: "serves all its clients on one thread (50 clients in conversation)",
            hint: "the whole point of select: one loop in one thread watches every socket. \
                   No std::thread::spawn (nor a thread pool) per client: turn accepts, reads \
                   and writes for everyone",
            check: one_thread_serves_everyone,
        },
    ],
};

/// How long one reply may take before the check fails. A correct server
/// answers in well under a millisecond; this is for loaded machines.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the server may take to print `listening on ADDR`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How much a client that never reads tries to send. Far more than all
/// the socket buffers between it and the server can hold (a few MiB each
/// way on Linux), so a server that keeps reading from it is caught.
const FLOOD_BYTES: usize = 64 * 1024 * 1024;

/// How long a write of the flooding client may make no progress before it
/// counts as held back.
const FLOOD_STALL: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------
// The requirements
// ---------------------------------------------------------------------------

fn answers_in_upper_case(subject: &Subject) -> Result<()> {
    with_server(subject, |addr| {
        let mut client = connect(addr)?;
        for message in [
            "hello, select!\n",
            "and a second message on the same socket\n",
        ] {
            send(&mut client, message)?;
            expect_reply(&mut client, message)?;
        }
        Ok(())
    })
}

fn two_clients_get_their_own_replies(subject: &Subject) -> Result<()> {
    with_server(subject, |addr| {
        let mut a = connect(addr)?;
        let mut b = connect(addr)?;
        // Both send five messages, interleaved, before either reads a reply:
        // the server holds both queues at the same time.
        let (mut to_a, mut to_b) = (String::new(), String::new());
        for round in 1..=5 {
            let for_a = format!("apple {round}, ");
            let for_b = format!("banana number {round}; ");
            send(&mut a, &for_a)?;
            send(&mut b, &for_b)?;
            to_a.push_str(&for_a);
            to_b.push_str(&for_b);
        }
        expect_reply(&mut a, &to_a).map_err(|e| format!("the first client: {e}"))?;
        expect_reply(&mut b, &to_b).map_err(|e| format!("the second client: {e}"))
    })
}

fn a_long_stream_comes_back_whole(subject: &Subject) -> Result<()> {
    const LINES: usize = 500_000;
    with_server(subject, |addr| {
        let mut client = connect(addr)?;
        // Numbered lines, so that a lost, repeated or misplaced piece shows.
        let stream: String = (1..=LINES)
            .map(|i| format!("line {i:06} of a long stream\n"))
            .collect();
        // A writer thread sends it all; this thread starts reading only once
        // the writer has stalled (every buffer on the way is full and the
        // server has stopped reading from us, its queue for us full) or has
        // finished. Then the server must resume, and lose nothing.
        let mut writer = client.try_clone().map_err(|e| e.to_string())?;
        writer
            .set_write_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| e.to_string())?;
        let (progress, events) = mpsc::channel();
        let bytes = stream.clone().into_bytes();
        let sender = std::thread::spawn(move || -> io::Result<()> {
            let mut sent = 0;
            let mut stalled = false;
            while sent < bytes.len() {
                match writer.write(&bytes[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if is_timeout(&e) && !stalled => {
                        stalled = true;
                        let _ = progress.send(());
                    }
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            let _ = progress.send(());
            Ok(())
        });
        let _ = events.recv_timeout(REPLY_TIMEOUT);
        let result = expect_reply(&mut client, &stream);
        let _ = client.shutdown(Shutdown::Both);
        let sent = sender
            .join()
            .map_err(|_| "the writer thread panicked".to_string())?;
        result?;
        sent.map_err(|e| format!("sending the long stream: {e}"))
    })
}

fn many_clients_at_once(subject: &Subject) -> Result<()> {
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 5;
    with_server(subject, |addr| {
        let mut clients = Vec::with_capacity(CLIENTS);
        for i in 0..CLIENTS {
            clients.push(connect(addr).map_err(|e| format!("client {i}: {e}"))?);
        }
        // Every client sends all its messages before any reply is read.
        let mut sent = vec![String::new(); CLIENTS];
        for round in 0..ROUNDS {
            for (i, client) in clients.iter_mut().enumerate() {
                let message = format!("client {i} says hello #{round}; ");
                send(client, &message).map_err(|e| format!("client {i}: {e}"))?;
                sent[i].push_str(&message);
            }
        }
        for (i, client) in clients.iter_mut().enumerate() {
            expect_reply(client, &sent[i]).map_err(|e| format!("client {i} of {CLIENTS}: {e}"))?;
        }
        Ok(())
    })
}

fn abrupt_disconnects_are_survived(subject: &Subject) -> Result<()> {
    with_server(subject, |addr| {
        // A bystander, connected before and after the trouble.
        let mut bystander = connect(addr)?;
        round_trip(&mut bystander, "before\n").map_err(|e| format!("the bystander: {e}"))?;

        // 1. Sends, lets the reply arrive, and closes without reading it:
        //    closing a socket with unread data sends a reset (RST), so the
        //    server's next read fails with "connection reset by peer".
        let mut resetter = connect(addr)?;
        send(&mut resetter, "a reply I will never read\n")?;
        wait_for_data(&resetter)?;
        drop(resetter);

        // 2. Sends a lot and vanishes at once: the server is left with
        //    replies for a socket that is gone ("broken pipe" on write).
        let mut vanisher = connect(addr)?;
        let _ = vanisher.write_all(&[b'z'; 256 * 1024]);
        drop(vanisher);

        // 3. Connects and closes without a word: a zero-byte read.
        drop(connect(addr)?);

        // The server must still serve the bystander, and new clients.
        for i in 0..3 {
            round_trip(&mut bystander, &format!("still there? {i}\n")).map_err(|e| {
                format!("after three clients left abruptly, the bystander's message: {e}")
            })?;
        }
        let mut newcomer = connect(addr)
            .map_err(|e| format!("after three clients left abruptly, a new client: {e}"))?;
        round_trip(&mut newcomer, "hello from a newcomer\n")
            .map_err(|e| format!("after three clients left abruptly, a new client: {e}"))
    })
}

fn clients_come_and_go(subject: &Subject) -> Result<()> {
    // More than select(2) could watch at once: a server that never closes
    // the sockets of clients that left runs out of descriptor numbers.
    const CLIENTS: usize = 1100;
    with_server(subject, |addr| {
        for i in 1..=CLIENTS {
            let mut client = connect(addr).map_err(|e| format!("client {i} of {CLIENTS}: {e}"))?;
            round_trip(&mut client, &format!("client {i} comes and goes\n")).map_err(|e| {
                format!("client {i} of {CLIENTS} (each earlier one had closed its connection): {e}")
            })?;
            // Close our side; the server sees a zero-byte read.
            let _ = client.shutdown(Shutdown::Write);
        }
        Ok(())
    })
}

fn a_greedy_client_stalls_nobody(subject: &Subject) -> Result<()> {
    with_server(subject, |addr| {
        let greedy = connect(addr)?;
        // Until the flood has filled every buffer on its way (or the
        // server has swallowed all of it), the server's loop is in the
        // state that matters: replies for the greedy client pile up.
        let flood = flood(&greedy)?;
        let mut polite = connect(addr)?;
        let result = (0..50)
            .try_for_each(|i| round_trip(&mut polite, &format!("am I still served? round {i}\n")));
        let _ = greedy.shutdown(Shutdown::Both);
        result.map_err(|e| {
            format!(
                "while another client had sent {} MiB without reading a reply, a second \
                 client's message: {e}",
                flood.sent / (1024 * 1024)
            )
        })
    })
}

fn a_greedy_client_is_held_back(subject: &Subject) -> Result<()> {
    with_server(subject, |addr| {
        let greedy = connect(addr)?;
        let flood = flood(&greedy)?;
        let _ = greedy.shutdown(Shutdown::Both);
        if flood.held_back {
            Ok(())
        } else {
            Err(format!(
                "a client that never reads its replies sent {} MiB and the server read it all: \
                 its queue of replies (and the server's memory) grows without end",
                flood.sent / (1024 * 1024)
            ))
        }
    })
}

fn one_thread_serves_everyone(subject: &Subject) -> Result<()> {
    const CLIENTS: usize = 50;
    if subject.options.contains_key("addr") {
        return crate::check::skip(
            "not with --addr: counting the server's threads needs the checker to start it",
        );
    }
    let mut server = Started::start(subject)?;
    let pid = server.child.id();
    let result = (|| {
        // Every client has been answered, and all are still connected: a
        // server with a thread per client has all of them alive now.
        let mut clients = Vec::with_capacity(CLIENTS);
        for i in 0..CLIENTS {
            let mut client = connect(server.addr).map_err(|e| format!("client {i}: {e}"))?;
            round_trip(&mut client, &format!("client {i} is here\n"))
                .map_err(|e| format!("client {i} of {CLIENTS}: {e}"))?;
            clients.push(client);
        }
        let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map_err(|e| format!("could not count the server's threads in /proc/{pid}/task: {e}"))?
            .count();
        match threads {
            1 => Ok(()),
            n => Err(format!(
                "with {CLIENTS} clients connected and answered, the server (pid {pid}) runs \
                 {n} threads (counted in /proc/{pid}/task), not one"
            )),
        }
    })();
    result.map_err(|failure| server.explain(failure))
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

/// Runs `check` against the server: a fresh one started from the subject's
/// `server` program, or the one at `--addr`. A failure says what became of
/// a server the checker started.
fn with_server(subject: &Subject, check: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    for key in subject.options.keys() {
        if key != "addr" {
            return Err(format!(
                "unknown option --{key} (this checker takes --addr HOST:PORT)"
            ));
        }
    }
    if let Some(addr) = subject.options.get("addr") {
        let addr = addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut all| all.next())
            .ok_or_else(|| format!("--addr {addr} is not HOST:PORT"))?;
        return check(addr).map_err(|failure| {
            // Not our server: all we can tell is whether it still answers.
            if TcpStream::connect_timeout(&addr, REPLY_TIMEOUT).is_ok() {
                failure
            } else {
                format!(
                    "{failure}\nnothing accepts connections at {addr} any more: the server \
                     has stopped (perhaps an earlier check crashed it)"
                )
            }
        });
    }
    let mut server = Started::start(subject)?;
    let result = check(server.addr);
    result.map_err(|failure| server.explain(failure))
}

/// A server the checker started; killed when dropped.
struct Started {
    addr: SocketAddr,
    child: Child,
    /// Collects its standard error (for a panic message), until it exits.
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Started {
    fn start(subject: &Subject) -> Result<Self> {
        let path = subject
            .programs
            .get("server")
            .ok_or("no server program was built")?;
        let mut child = Command::new(path)
            .args(["--listen", "127.0.0.1:0", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", path.display()))?;
        // Its standard error is kept (the end of it: a panic message is
        // among the last lines), and its standard output read to the end,
        // so that a chatty server never blocks on a full pipe.
        let stderr = child
            .stderr
            .take()
            .map(|pipe| std::thread::spawn(|| tail_of(pipe)));
        let (first_line, first) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let _ = first_line.send(reader.read_line(&mut line).map(|_| line));
                let _ = io::copy(&mut reader, &mut io::sink());
            });
        }
        let mut server = Started {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            stderr,
        };
        let line = match first.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.is_empty() => line,
            Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(server.explain("the server printed nothing".into()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "the server did not print `listening on ADDR` within {} s",
                    START_TIMEOUT.as_secs()
                ));
            }
        };
        server.addr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.trim().parse().ok())
            .ok_or_else(|| {
                format!(
                    "the server's first line should be `listening on ADDR`, not `{}`",
                    line.trim_end()
                )
            })?;
        Ok(server)
    }

    /// Adds to a failure what became of the server, if it has exited.
    fn explain(&mut self, failure: String) -> String {
        // A server that crashed a moment ago may still be exiting.
        let deadline = Instant::now() + Duration::from_secs(1);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => break None,
            }
        };
        let Some(status) = status else {
            return failure;
        };
        let stderr = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let output = Output {
            status,
            stdout: Vec::new(),
            stderr,
        };
        format!(
            "{failure}\nthe server is no longer running: {}",
            describe_failure(&output)
        )
    }
}

/// Reads `pipe` to its end and returns the last 64 KiB of it.
fn tail_of(mut pipe: impl Read) -> Vec<u8> {
    const KEEP: usize = 64 * 1024;
    let mut tail = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => return tail,
            Ok(n) => {
                tail.extend_from_slice(&chunk[..n]);
                if tail.len() > 2 * KEEP {
                    tail.drain(..tail.len() - KEEP);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return tail,
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Talking to it
// ---------------------------------------------------------------------------

fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)
        .map_err(|e| format!("could not connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(REPLY_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

fn send(stream: &mut TcpStream, message: &str) -> Result<()> {
    stream
        .write_all(message.as_bytes())
        .map_err(|e| format!("sending {}: {}", shorten(message), explain_io(&e)))
}

fn round_trip(stream: &mut TcpStream, message: &str) -> Result<()> {
    send(stream, message)?;
    expect_reply(stream, message)
}

/// Reads the reply to everything `sent` (as many bytes: upper-casing does
/// not change the length) and compares it with `sent` in upper case.
fn expect_reply(stream: &mut TcpStream, sent: &str) -> Result<()> {
    let expected = sent.to_ascii_uppercase();
    let mut reply = vec![0u8; sent.len()];
    let mut got = 0;
    while got < reply.len() {
        match stream.read(&mut reply[got..]) {
            Ok(0) => {
                return Err(format!(
                    "sent {}; the server closed the connection after {got} of {} reply bytes{}",
                    shorten(sent),
                    sent.len(),
                    so_far(&reply[..got])
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(format!(
                    "sent {}; {} after {got} of {} reply bytes{}",
                    shorten(sent),
                    explain_io(&e),
                    sent.len(),
                    so_far(&reply[..got])
                ));
            }
        }
    }
    if reply == expected.as_bytes() {
        Ok(())
    } else if reply == sent.as_bytes() {
        Err(format!(
            "sent {} and got it back unchanged: replies must be in upper case",
            shorten(sent)
        ))
    } else {
        // Show where it goes wrong, which matters in a long reply.
        let at = reply
            .iter()
            .zip(expected.as_bytes())
            .position(|(got, wanted)| got != wanted)
            .unwrap_or(0);
        let from = at.saturating_sub(20);
        let part = |bytes: &[u8]| shorten(&String::from_utf8_lossy(&bytes[from..]));
        Err(format!(
            "sent {}; the reply differs from byte {at} on:\n  expected {}\n  got      {}",
            shorten(sent),
            part(expected.as_bytes()),
            part(&reply)
        ))
    }
}

/// Waits until a reply has arrived, without reading it.
fn wait_for_data(stream: &TcpStream) -> Result<()> {
    match stream.peek(&mut [0u8; 1]) {
        Ok(0) => Err("the server closed the connection instead of replying".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("waiting for a reply: {}", explain_io(&e))),
    }
}

/// What a flood of writes from a client that never reads achieved.
struct Flood {
    /// Bytes the kernel took from the client.
    sent: usize,
    /// True if the writes stopped making progress before [`FLOOD_BYTES`]:
    /// the server stopped reading, and the buffers on the way are full.
    held_back: bool,
}

/// Sends up to [`FLOOD_BYTES`] on `stream`, never reading, until a write
/// makes no progress for [`FLOOD_STALL`].
fn flood(mut stream: &TcpStream) -> Result<Flood> {
    stream
        .set_write_timeout(Some(FLOOD_STALL))
        .map_err(|e| e.to_string())?;
    let chunk = [b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < FLOOD_BYTES {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                return Ok(Flood {
                    sent,
                    held_back: true,
                });
            }
            Err(e) => {
                return Err(format!(
                    "a client sending without reading: {} after {} KiB",
                    explain_io(&e),
                    sent / 1024
                ));
            }
        }
    }
    Ok(Flood {
        sent,
        held_back: false,
    })
}

/// A socket timeout: Linux reports it as WouldBlock, others as TimedOut.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn explain_io(error: &io::Error) -> String {
    if is_timeout(error) {
        format!("no answer within {} s", REPLY_TIMEOUT.as_secs())
    } else {
        error.to_string()
    }
}

/// A message for a failure report: quoted, and cut if long.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let start: String = text.chars().take(MAX).collect();
        format!("{start:?}... ({} bytes)", text.len())
    }
}

/// ` (so far: "...")` when some bytes came, for a failure report.
fn so_far(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        String::new()
    } else {
        format!(" (so far: {})", shorten(&String::from_utf8_lossy(bytes)))
    }
}
