//! Three IO-bound tasks, run three ways, with a timeline of each.
//!
//! Every task does a little CPU work, waits for IO, works again, waits
//! again, and finishes with a bit more work. The IO is real: a request to
//! a [`slow service`](start_slow_service) on a loopback socket that answers
//! after a set delay, as a disk or a database would.
//!
//! - [`synchronous`]: one thread, one task after another. While a task
//!   waits for IO, everything waits.
//! - [`threaded`]: one OS thread per task, blocking IO. The waits overlap,
//!   and so may the CPU work, on a machine with several cores.
//! - [`event_loop`]: one thread. A task that needs IO sends its request,
//!   registers for the reply and returns to the loop; the loop runs
//!   whichever task's reply has arrived. The waits overlap; the CPU work
//!   never does.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use support::timeline::{Activity, Timeline};

/// What every task does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// How many tasks: A, B, C ...
    pub tasks: usize,
    /// IO waits per task; there is CPU work before, between and after them.
    pub ios: usize,
    /// Each piece of CPU work.
    pub compute: Duration,
    /// Each IO wait.
    pub io: Duration,
}

impl Plan {
    /// The timeline lane of task `index`: "task A", "task B", ...
    pub fn lane(index: usize) -> String {
        let letter = (b'A' + (index % 26) as u8) as char;
        format!("task {letter}")
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.tasks).map(Plan::lane).collect()
    }
}

// ANCHOR: service
/// Starts the slow service on a free loopback port, in background threads
/// of this process: each request is a line holding a number of
/// milliseconds, and the answer, `done`, comes that long after. One thread
/// per connection, so it is slow for every client at the same time.
pub fn start_slow_service() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve_requests(stream));
        }
    });
    Ok(addr)
}

fn serve_requests(stream: TcpStream) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let millis: u64 = line?.trim().parse().unwrap_or(0);
        thread::sleep(Duration::from_millis(millis));
        writer.write_all(b"done\n")?;
    }
    Ok(())
}
// ANCHOR_END: service

// ANCHOR: compute
/// CPU work: keeps a core busy for `how_long`, as parsing or computing
/// would. (Sleeping would not do: a sleeping task gives the CPU away, and
/// the point is that this part cannot.)
fn compute(how_long: Duration) {
    let began = Instant::now();
    while began.elapsed() < how_long {
        std::hint::spin_loop();
    }
}
// ANCHOR_END: compute

// ANCHOR: blocking
/// One task with blocking IO: the thread that runs it is stuck in `read`
/// during every wait.
fn run_blocking(
    plan: &Plan,
    lane: &str,
    service: SocketAddr,
    timeline: &Timeline,
) -> io::Result<()> {
    let stream = TcpStream::connect(service)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    timeline.time(lane, Activity::Run, || compute(plan.compute));
    for _ in 0..plan.ios {
        timeline.time(lane, Activity::Wait, || -> io::Result<()> {
            writeln!(writer, "{}", plan.io.as_millis())?;
            let mut reply = String::new();
            if reader.read_line(&mut reply)? == 0 {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the service hung up",
                ));
            }
            Ok(())
        })?;
        timeline.time(lane, Activity::Run, || compute(plan.compute));
    }
    Ok(())
}

/// Model 1: one thread runs each task to the end before starting the next.
pub fn synchronous(plan: &Plan, service: SocketAddr) -> io::Result<Timeline> {
    let timeline = Timeline::new().with_lanes(plan.lanes());
    for index in 0..plan.tasks {
        let lane = Plan::lane(index);
        if index > 0 {
            // It could have started at time zero: it waited for the others.
            timeline.record(&lane, Activity::Ready, timeline.start(), Instant::now());
        }
        run_blocking(plan, &lane, service, &timeline)?;
    }
    Ok(timeline)
}

/// Model 2: one OS thread per task, all started at once, then joined.
pub fn threaded(plan: &Plan, service: SocketAddr) -> io::Result<Timeline> {
    let timeline = Arc::new(Timeline::new().with_lanes(plan.lanes()));
    let handles: Vec<_> = (0..plan.tasks)
        .map(|index| {
            let (plan, timeline) = (*plan, Arc::clone(&timeline));
            thread::spawn(move || run_blocking(&plan, &Plan::lane(index), service, &timeline))
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .map_err(|_| io::Error::other("a task's thread panicked"))??;
    }
    Arc::try_unwrap(timeline).map_err(|_| io::Error::other("the timeline is still shared"))
}
// ANCHOR_END: blocking

/// Where a task of the event loop stands.
struct Task {
    lane: String,
    /// Its connection to the service, non-blocking, registered with the
    /// poll under the task's index.
    stream: mio::net::TcpStream,
    /// IO requests still to make.
    ios_left: usize,
    /// When the request in flight was sent.
    sent_at: Instant,
    /// The reply so far: it may arrive in pieces.
    reply: Vec<u8>,
}

/// What a callback tells the loop.
enum Next {
    /// The task sent another request and waits for its reply.
    Waiting,
    /// The task has nothing left to do.
    Finished,
}

// ANCHOR: event_loop
/// Model 3: one thread, one loop. Each task runs until it needs IO, sends
/// its request, and returns to the loop; when a reply arrives, the loop
/// calls that task's callback, which goes on from where the task stopped.
pub fn event_loop(plan: &Plan, service: SocketAddr) -> io::Result<Timeline> {
    let timeline = Timeline::new().with_lanes(plan.lanes());
    let mut poll = Poll::new()?;
    let mut tasks = Vec::with_capacity(plan.tasks);
    for index in 0..plan.tasks {
        let stream = TcpStream::connect(service)?;
        stream.set_nonblocking(true)?;
        let mut stream = mio::net::TcpStream::from_std(stream);
        // "Tell me when this socket has something to read."
        poll.registry()
            .register(&mut stream, Token(index), Interest::READABLE)?;
        tasks.push(Task {
            lane: Plan::lane(index),
            stream,
            ios_left: plan.ios,
            sent_at: Instant::now(),
            reply: Vec::new(),
        });
    }

    // Start every task: its first CPU work, then its first request.
    let mut unfinished = 0;
    for task in &mut tasks {
        if let Next::Waiting = work_then_request(task, plan, &timeline)? {
            unfinished += 1;
        }
    }

    let mut events = Events::with_capacity(plan.tasks.max(1));
    while unfinished > 0 {
        // The only place the thread waits: until some socket is readable.
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
        for event in events.iter() {
            let task = &mut tasks[event.token().0];
            if let Next::Finished = on_readable(task, plan, &timeline)? {
                unfinished -= 1;
            }
        }
    }
    Ok(timeline)
}
// ANCHOR_END: event_loop

// ANCHOR: callback
/// The callback for a readable socket: take what has arrived; once the
/// whole reply is in, the task goes on.
fn on_readable(task: &mut Task, plan: &Plan, timeline: &Timeline) -> io::Result<Next> {
    let mut buffer = [0u8; 64];
    // mio reports readiness once per change ("edge-triggered"), so read
    // until the socket says it has nothing more for now.
    loop {
        match task.stream.read(&mut buffer) {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the service hung up",
                ));
            }
            Ok(n) => task.reply.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
    if !task.reply.contains(&b'\n') {
        // Only part of the reply (or a spurious wake-up): keep waiting.
        return Ok(Next::Waiting);
    }
    task.reply.clear();
    // The service answers exactly `plan.io` after the request. From then
    // until now, the task was ready but the loop was busy with another.
    let (due, now) = (task.sent_at + plan.io, Instant::now());
    timeline.record(&task.lane, Activity::Wait, task.sent_at, due.min(now));
    if now > due {
        timeline.record(&task.lane, Activity::Ready, due, now);
    }
    work_then_request(task, plan, timeline)
}

/// Runs the task's next piece of CPU work; then sends its next request, or
/// finishes.
fn work_then_request(task: &mut Task, plan: &Plan, timeline: &Timeline) -> io::Result<Next> {
    timeline.time(&task.lane, Activity::Run, || compute(plan.compute));
    if task.ios_left == 0 {
        return Ok(Next::Finished);
    }
    task.ios_left -= 1;
    send_request(&mut task.stream, plan.io)?;
    task.sent_at = Instant::now();
    Ok(Next::Waiting)
}

/// Writes a request on the non-blocking socket.
fn send_request(stream: &mut mio::net::TcpStream, io: Duration) -> io::Result<()> {
    let request = format!("{}\n", io.as_millis());
    let mut written = 0;
    while written < request.len() {
        match stream.write(&request.as_bytes()[written..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            // A few bytes into an idle connection's empty send buffer
            // always fit; a full buffer here means something is wrong.
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                return Err(io::Error::other(
                    "the send buffer is full: the service is not reading",
                ));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
// ANCHOR_END: callback
