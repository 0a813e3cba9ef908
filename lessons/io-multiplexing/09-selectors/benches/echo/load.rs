//! The arena's load generator: one thread, one mio event loop, N
//! connections, and on each connection exactly one request in flight.
//!
//! Each connection sends a request, waits for the whole reply, checks it
//! byte for byte against the server's reply rule, records how long the
//! round trip took, and sends the next request at once. Every server is
//! driven by this same code, so differences in the results are
//! differences between the servers.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

// ANCHOR: reply
/// What a server sends back for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The same bytes (lessons 05 and 09).
    Echo,
    /// The same bytes in upper case (lesson 08).
    Upper,
    /// Redis: the inline command `PING` is answered with `+PONG`.
    Pong,
}

impl Reply {
    /// How the tables name the rule.
    pub fn describe(self) -> &'static str {
        match self {
            Reply::Echo => "echo",
            Reply::Upper => "upper case",
            Reply::Pong => "PING/+PONG",
        }
    }

    /// The `seq`-th request of connection `conn`, into `buf`. Echoed
    /// requests name their connection and number, so a reply that went to
    /// the wrong connection, or came twice, cannot pass the check.
    fn request(self, conn: usize, seq: u64, buf: &mut Vec<u8>) {
        buf.clear();
        match self {
            Reply::Pong => buf.extend_from_slice(b"PING\r\n"),
            Reply::Echo | Reply::Upper => {
                // Lower case, so that the upper-case rule changes it.
                let _ = writeln!(buf, "hello from {conn} #{seq}");
            }
        }
    }

    /// The reply that `request` must get, into `buf`.
    fn expected(self, request: &[u8], buf: &mut Vec<u8>) {
        buf.clear();
        match self {
            Reply::Echo => buf.extend_from_slice(request),
            Reply::Upper => buf.extend(request.iter().map(u8::to_ascii_uppercase)),
            Reply::Pong => buf.extend_from_slice(b"+PONG\r\n"),
        }
    }
}
// ANCHOR_END: reply

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// Run for `warmup` (not counted: connections and caches settle), then
    /// count round trips for `measure`.
    Timed { warmup: Duration, measure: Duration },
    /// Every connection makes exactly this many round trips, all counted.
    RoundTrips(u64),
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Round trips completed in the measured window, every reply checked.
    pub round_trips: u64,
    /// How long the measured window was.
    pub window: Duration,
    /// How long opening all the connections took.
    pub connecting: Duration,
    /// The time of each counted round trip, in nanoseconds, sorted.
    pub latencies: Vec<u64>,
    /// CPU time the server and the load generator used in the measured
    /// window (Linux only: None elsewhere).
    pub cpu: Option<Cpu>,
}

/// CPU time used during a measured window.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub server: Duration,
    pub client: Duration,
}

impl Outcome {
    /// Round trips per second.
    pub fn rate(&self) -> f64 {
        self.round_trips as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// The server's CPU time per round trip: how much work one round trip
    /// costs it, which depends far less on how busy the machine is than
    /// the throughput does.
    pub fn server_cpu_per_round_trip(&self) -> Option<Duration> {
        let cpu = self.cpu?;
        Some(cpu.server.div_f64(self.round_trips.max(1) as f64))
    }

    /// How much of the window the server and the load generator spent on a
    /// CPU, in percent. A side near 100% is the bottleneck.
    pub fn busy(&self) -> Option<(f64, f64)> {
        let cpu = self.cpu?;
        let window = self.window.as_secs_f64().max(1e-9);
        Some((
            100.0 * cpu.server.as_secs_f64() / window,
            100.0 * cpu.client.as_secs_f64() / window,
        ))
    }

    /// The latency below which a fraction `q` of round trips stayed.
    pub fn percentile(&self, q: f64) -> Duration {
        Duration::from_nanos(support::stats::percentile(&self.latencies, q * 100.0).unwrap_or(0))
    }
}

/// One connection of the load generator.
struct Conn {
    stream: TcpStream,
    /// The request in flight, and how much of it is written.
    request: Vec<u8>,
    written: usize,
    /// The reply it must get, and how much of it has arrived (and matched).
    expected: Vec<u8>,
    matched: usize,
    /// When the request was sent, for its latency.
    sent_at: Instant,
    /// How many round trips this connection has completed.
    done: u64,
    /// It has finished: no more requests.
    finished: bool,
}

/// Reads how much CPU time the server process and this thread have used,
/// from the kernel's scheduler statistics (`schedstat`, whose first number
/// is nanoseconds spent running). The server's is summed over all its
/// threads (`/proc/PID/task/*/schedstat`): lesson 05's `may` server does its
/// work on a worker thread, not on the main one.
struct CpuClock {
    server_tasks: PathBuf,
}

impl CpuClock {
    fn new(server_pid: Option<u32>) -> Option<Self> {
        let server_tasks = PathBuf::from(format!("/proc/{}/task", server_pid?));
        let clock = CpuClock { server_tasks };
        clock.read().map(|_| clock)
    }

    fn read(&self) -> Option<(Duration, Duration)> {
        let on_cpu = |path: &std::path::Path| -> Option<Duration> {
            let text = std::fs::read_to_string(path).ok()?;
            let nanos = text.split_whitespace().next()?.parse().ok()?;
            Some(Duration::from_nanos(nanos))
        };
        let server = std::fs::read_dir(&self.server_tasks)
            .ok()?
            .filter_map(|task| on_cpu(&task.ok()?.path().join("schedstat")))
            .sum();
        Some((
            server,
            on_cpu(std::path::Path::new("/proc/thread-self/schedstat"))?,
        ))
    }
}

/// How long to wait for the last replies after the measured window (or,
/// for counted runs, at all) before calling the server stuck.
const STUCK_AFTER: Duration = Duration::from_secs(60);

// ANCHOR: run
/// One run of the load generator.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The server.
    pub addr: SocketAddr,
    /// Connections that make round trips.
    pub busy: usize,
    /// Connections opened first and left silent, as idle keep-alive
    /// clients are: a server must watch them, though they never speak.
    pub idle: usize,
    /// What the server answers.
    pub reply: Reply,
    /// When to stop.
    pub stop: Stop,
    /// The server's process id, to measure the CPU time it uses.
    pub server_pid: Option<u32>,
}

/// Opens the plan's connections and drives the busy ones until it says
/// stop.
pub fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let Plan {
        addr,
        busy,
        idle,
        reply,
        stop,
        server_pid,
    } = *plan;
    let clock = CpuClock::new(server_pid);
    let mut poll = Poll::new()?;
    let started = Instant::now();
    // Plain blocking connects, one after the other: simple, and the
    // server's listen queue absorbs the burst.
    let connect = |i: usize| {
        StdTcpStream::connect(addr)
            .with_context(|| format!("connection {i} of {} to {addr}", idle + busy))
    };
    let _idle = (0..idle).map(connect).collect::<anyhow::Result<Vec<_>>>()?;
    let mut conns = Vec::with_capacity(busy);
    for i in 0..busy {
        let stream = connect(idle + i)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns.push(Conn {
            stream,
            request: Vec::new(),
            written: 0,
            expected: Vec::new(),
            matched: 0,
            sent_at: started,
            done: 0,
            finished: false,
        });
    }
    let connecting = started.elapsed();

    let begin = Instant::now();
    let (measure_from, measure_until) = match stop {
        Stop::Timed { warmup, measure } => (begin + warmup, Some(begin + warmup + measure)),
        Stop::RoundTrips(_) => (begin, None),
    };
    let give_up = measure_until.unwrap_or(begin) + STUCK_AFTER;
    let mut latencies = Vec::new();
    let mut round_trips = 0u64;
    let mut last_completion = begin;
    let mut active = busy;
    // CPU times when the measured window opened and closed.
    let mut cpu_from = None;
    let mut cpu_until = None;

    for (i, conn) in conns.iter_mut().enumerate() {
        send_next(conn, i, reply).with_context(|| format!("connection {i}"))?;
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 4096];
    while active > 0 {
        let now = Instant::now();
        if cpu_from.is_none() && now >= measure_from {
            cpu_from = clock.as_ref().and_then(CpuClock::read);
        }
        if cpu_until.is_none() && measure_until.is_some_and(|until| now >= until) {
            cpu_until = clock.as_ref().and_then(CpuClock::read);
        }
        if now > give_up {
            bail!(
                "{active} connections still wait for a reply after {} s",
                STUCK_AFTER.as_secs()
            );
        }
        match poll.poll(&mut events, Some(give_up - now)) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            let i = event.token().0;
            let conn = &mut conns[i];
            if conn.finished {
                continue;
            }
            // Finish writing the request if the kernel took only part.
            flush(conn).with_context(|| format!("connection {i}"))?;
            // Read everything there is (mio is edge-triggered).
            loop {
                let n = match conn.stream.read(&mut buf) {
                    Ok(0) => bail!(
                        "the server closed connection {i} after {} round trips",
                        conn.done
                    ),
                    Ok(n) => n,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error).context(format!("connection {i}")),
                };
                check(conn, &buf[..n], reply).with_context(|| format!("connection {i}"))?;
                if conn.matched < conn.expected.len() {
                    continue; // the rest of the reply is still on its way
                }
                // A complete, correct round trip.
                let now = Instant::now();
                conn.done += 1;
                // Counted if it completed inside the measured window.
                if now >= measure_from && measure_until.is_none_or(|until| now <= until) {
                    latencies.push((now - conn.sent_at).as_nanos() as u64);
                    round_trips += 1;
                    last_completion = now;
                }
                let more = match stop {
                    Stop::Timed { .. } => measure_until.is_some_and(|until| now < until),
                    Stop::RoundTrips(n) => conn.done < n,
                };
                if more {
                    send_next(conn, i, reply).with_context(|| format!("connection {i}"))?;
                } else {
                    conn.finished = true;
                    active -= 1;
                }
                // The whole reply is in and nothing else was asked for, so
                // nothing else can be waiting: skip the read that would only
                // say WouldBlock. (The next reply makes a new edge.) This
                // keeps the load generator cheaper per round trip than the
                // servers it measures.
                break;
            }
        }
    }
    if cpu_until.is_none() {
        cpu_until = clock.as_ref().and_then(CpuClock::read);
    }
    let cpu = match (cpu_from, cpu_until) {
        (Some((server0, client0)), Some((server1, client1))) => Some(Cpu {
            server: server1.saturating_sub(server0),
            client: client1.saturating_sub(client0),
        }),
        _ => None,
    };
    latencies.sort_unstable();
    let window = match measure_until {
        Some(until) => until - measure_from,
        None => last_completion - begin,
    };
    Ok(Outcome {
        round_trips,
        window,
        connecting,
        latencies,
        cpu,
    })
}
// ANCHOR_END: run

/// Prepares and sends a connection's next request.
fn send_next(conn: &mut Conn, i: usize, reply: Reply) -> io::Result<()> {
    reply.request(i, conn.done, &mut conn.request);
    reply.expected(&conn.request, &mut conn.expected);
    conn.written = 0;
    conn.matched = 0;
    conn.sent_at = Instant::now();
    flush(conn)
}

/// Writes what is left of the request; the rest waits for a writable event.
fn flush(conn: &mut Conn) -> io::Result<()> {
    while conn.written < conn.request.len() {
        match conn.stream.write(&conn.request[conn.written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.written += n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Checks newly arrived bytes against the expected reply.
fn check(conn: &mut Conn, got: &[u8], reply: Reply) -> anyhow::Result<()> {
    let want = &conn.expected[conn.matched..];
    if got.len() > want.len() || got != &want[..got.len()] {
        bail!(
            "wrong reply ({} rule): expected {:?}, got {:?} at byte {}",
            reply.describe(),
            String::from_utf8_lossy(&conn.expected),
            String::from_utf8_lossy(got),
            conn.matched
        );
    }
    conn.matched += got.len();
    Ok(())
}
