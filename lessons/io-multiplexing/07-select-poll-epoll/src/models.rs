//! The five IO models, each doing the same job on one thread: read one
//! message from each of N sockets, where the messages arrive at different
//! moments.
//!
//! Every read from a socket has two phases:
//!
//! 1. **waiting for the data**: nothing has arrived yet, the kernel has
//!    nothing to give;
//! 2. **copying the data** from the kernel's socket buffer into the
//!    program's own buffer.
//!
//! The five models differ in who waits, how, and who copies:
//!
//! | model | phase 1 (wait) | phase 2 (copy) |
//! |---|---|---|
//! | blocking | inside `read`, one socket at a time | `read` |
//! | non-blocking | the program asks again and again (`EAGAIN`) | `read` |
//! | IO multiplexing | `epoll_wait`, for all sockets at once | `read` |
//! | signal-driven | `sigtimedwait`: the kernel signals "ready" | `read` |
//! | asynchronous | the kernel, while the thread does anything else | the kernel |
//!
//! The first four are *synchronous* IO: the program itself calls `read` and
//! waits while the kernel copies. Only the fifth, io_uring, is asynchronous:
//! the program asks for the whole read and later learns it is *complete*.
//!
//! [`run`] plays one model and returns what happened: each socket's
//! arrival and hand-over times, the thread's waits, and the system calls it
//! made, counted as it makes them.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::timeline::{Activity, Timeline};

use crate::sys;

/// How long any model may take before it is called stuck.
const PATIENCE: Duration = Duration::from_secs(10);

/// The five models, in the order the article presents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Model {
    /// `read(2)` each socket in turn; each call waits for its data.
    Blocking,
    /// `O_NONBLOCK` and `read(2)` in a loop until each socket has data.
    Nonblocking,
    /// `epoll_wait(2)` for all sockets, then `read(2)` the ready ones.
    Multiplexing,
    /// The kernel sends a signal per ready socket; then `read(2)` it.
    SignalDriven,
    /// io_uring: submit every read at once, collect completions.
    Asynchronous,
}

impl Model {
    /// All five, in order.
    pub const ALL: &[Model] = &[
        Model::Blocking,
        Model::Nonblocking,
        Model::Multiplexing,
        Model::SignalDriven,
        Model::Asynchronous,
    ];

    /// The model's name, as the article names it.
    pub fn name(self) -> &'static str {
        match self {
            Model::Blocking => "blocking",
            Model::Nonblocking => "non-blocking",
            Model::Multiplexing => "IO multiplexing",
            Model::SignalDriven => "signal-driven",
            Model::Asynchronous => "asynchronous",
        }
    }

    /// One line on what the thread does.
    pub fn how(self) -> &'static str {
        match self {
            Model::Blocking => {
                "read(2) socket 0, then 1, ...: each read sleeps until its data is there"
            }
            Model::Nonblocking => {
                "read(2) every socket again and again; \"no data yet\" (EAGAIN) comes back at once"
            }
            Model::Multiplexing => {
                "epoll_wait(2) sleeps until some socket is ready, then read(2) it"
            }
            Model::SignalDriven => {
                "the kernel signals each ready socket (O_ASYNC); sigtimedwait(2) takes the signal, read(2) copies"
            }
            Model::Asynchronous => {
                "io_uring: submit all N reads at once; the kernel waits AND copies, then reports completions"
            }
        }
    }
}

/// The job: N sockets, whose messages arrive spread over a stretch of time.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// How many sockets.
    pub sockets: usize,
    /// The last message arrives this long after the first could.
    pub spread: Duration,
}

/// System calls made while reading, counted by the program as it makes
/// them (`strace -c` shows the same counts; the chapter compares).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Calls made once, before the first message can arrive (`fcntl`,
    /// `epoll_ctl`, `io_uring_setup`...).
    pub setup: u64,
    /// `read(2)` calls that returned data.
    pub reads: u64,
    /// `read(2)` calls that found nothing (`EAGAIN`): wasted.
    pub empty_reads: u64,
    /// Calls that only sleep until something is ready or done
    /// (`epoll_wait`, `sigtimedwait`, `io_uring_enter` waiting).
    pub waits: u64,
    /// `io_uring_enter` calls that handed reads to the kernel.
    pub submits: u64,
    /// How many reads those submissions carried.
    pub submitted_reads: u64,
}

impl Calls {
    /// Every system call made while reading (set-up not included).
    pub fn total(&self) -> u64 {
        self.reads + self.empty_reads + self.waits + self.submits
    }
}

/// What happened when one model ran.
#[derive(Debug)]
pub struct Outcome {
    /// Which model.
    pub model: Model,
    /// When each socket's message was written by the sender, and when the
    /// program had it in its own buffer.
    pub arrived: Vec<Instant>,
    pub handed_over: Vec<Instant>,
    /// One lane per socket and one for the thread: see [`Outcome::timeline`].
    pub timeline: Timeline,
    /// The system calls, counted.
    pub calls: Calls,
    /// CPU time the reading thread used (from the kernel's own clock).
    pub cpu: Duration,
    /// From the first possible arrival to the last hand-over.
    pub elapsed: Duration,
}

impl Outcome {
    /// The longest a message sat, arrived but not yet handed over.
    pub fn worst_delay(&self) -> Duration {
        self.arrived
            .iter()
            .zip(&self.handed_over)
            .map(|(arrived, handed)| handed.saturating_duration_since(*arrived))
            .max()
            .unwrap_or_default()
    }

    /// The order in which the program got the messages (socket numbers).
    pub fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.handed_over.len()).collect();
        order.sort_by_key(|&i| self.handed_over[i]);
        order
    }
}

/// Why a model could not run.
#[derive(Debug)]
pub enum ModelError {
    /// The kernel refuses this model here (io_uring in some containers).
    Unsupported(Model, io::Error),
    /// Anything else: the sockets, a system call, a wrong message.
    Io(io::Error),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Unsupported(model, error) => write!(
                f,
                "the kernel refuses {} IO here ({error}); the other models still run",
                model.name()
            ),
            ModelError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<io::Error> for ModelError {
    fn from(error: io::Error) -> Self {
        ModelError::Io(error)
    }
}

/// The message socket `i` receives.
pub fn message(i: usize) -> Vec<u8> {
    format!("message {i}").into_bytes()
}

/// The sending side: N connected socket pairs, and a thread that writes
/// message `i` into pair `i` at its moment, last socket first, so that a
/// model that reads in socket order gets the earliest message last.
struct Network {
    /// Our ends of the pairs.
    ours: Vec<UnixStream>,
    /// Tells the sender to start; it answers with the arrival times.
    start: mpsc::Sender<Instant>,
    arrivals: mpsc::Receiver<io::Result<Vec<Instant>>>,
}

impl Network {
    fn new(plan: Plan) -> io::Result<Network> {
        let mut ours = Vec::with_capacity(plan.sockets);
        let mut theirs = Vec::with_capacity(plan.sockets);
        for _ in 0..plan.sockets {
            let (a, b) = UnixStream::pair()?;
            ours.push(a);
            theirs.push(b);
        }
        let (start, started) = mpsc::channel::<Instant>();
        let (report, arrivals) = mpsc::channel();
        thread::spawn(move || {
            let Ok(zero) = started.recv() else { return };
            let result = send_all(&mut theirs, zero, plan.spread);
            let _ = report.send(result);
            // Keep the other ends open until the model has read everything:
            // the model's socket would otherwise see end-of-file.
            let _ = started.recv();
        });
        Ok(Network {
            ours,
            start,
            arrivals,
        })
    }

    /// Lets the messages go, with time zero now.
    fn go(&self) -> Instant {
        let zero = Instant::now();
        let _ = self.start.send(zero);
        zero
    }

    /// When each message was written.
    fn arrivals(&self) -> io::Result<Vec<Instant>> {
        self.arrivals
            .recv_timeout(PATIENCE)
            .map_err(|_| io::Error::other("the sender did not finish"))?
    }
}

/// Writes message `i` at `zero + spread * (n - i) / n`: socket n-1 first.
fn send_all(
    theirs: &mut [UnixStream],
    zero: Instant,
    spread: Duration,
) -> io::Result<Vec<Instant>> {
    let n = theirs.len() as u32;
    let mut arrived = vec![zero; theirs.len()];
    for i in (0..theirs.len()).rev() {
        // The messages' schedule: this sleep is the network's delay, the
        // thing the models wait for, not a way to synchronise.
        let at = zero + spread * (n - i as u32) / n;
        thread::sleep(at.saturating_duration_since(Instant::now()));
        theirs[i].write_all(&message(i))?;
        arrived[i] = Instant::now();
    }
    Ok(arrived)
}

/// Everything a model records while it runs.
struct Recorder<'t> {
    timeline: &'t Timeline,
    handed_over: Vec<Option<Instant>>,
    calls: Calls,
}

impl Recorder<'_> {
    /// The thread slept in the kernel from `from` until now.
    fn waited(&mut self, from: Instant) {
        self.timeline
            .record("thread", Activity::Wait, from, Instant::now());
    }

    /// The thread was on the CPU from `from` until now.
    fn ran(&mut self, from: Instant) {
        self.timeline
            .record("thread", Activity::Run, from, Instant::now());
    }

    /// Socket `i`'s message is in our buffer: check it, note when.
    fn got(&mut self, i: usize, data: &[u8]) -> io::Result<()> {
        if data != message(i) {
            return Err(io::Error::other(format!(
                "socket {i} delivered {:?}, expected {:?}",
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(&message(i))
            )));
        }
        self.handed_over[i] = Some(Instant::now());
        Ok(())
    }

    fn done(&self) -> bool {
        self.handed_over.iter().all(Option::is_some)
    }
}

/// A read that gives up instead of sleeping: `Ok(None)` for "no data yet".
fn try_read(mut socket: &UnixStream, buffer: &mut [u8]) -> io::Result<Option<usize>> {
    match socket.read(buffer) {
        Ok(n) => Ok(Some(n)),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(error) => Err(error),
    }
}

// ANCHOR: run
/// Runs `model` on `plan`, on the calling thread.
pub fn run(model: Model, plan: Plan) -> Result<Outcome, ModelError> {
    // Signal-driven IO: block the signal before any socket may send it, and
    // keep it blocked until our sockets are closed (this guard is declared
    // before `network`, so it is dropped after it).
    #[cfg(target_os = "linux")]
    let _blocked = match model {
        Model::SignalDriven => Some(sys::block_signal(sys::io_signal())?),
        _ => None,
    };
    let network = Network::new(plan)?;
    let lanes = (0..plan.sockets)
        .map(|i| format!("socket {i}"))
        .chain(["thread".to_string()]);
    let mut calls = Calls::default();
    // Set-up first, so that no message can arrive before the model is ready.
    let ready = prepare(model, &network.ours, &mut calls)?;
    let zero = network.go();
    let timeline = Timeline::starting_at(zero).with_lanes(lanes);
    let mut recorder = Recorder {
        timeline: &timeline,
        handed_over: vec![None; plan.sockets],
        calls,
    };
    let cpu_before = sys::thread_cpu_time();
    match ready {
        Prepared::Plain => match model {
            Model::Blocking => blocking(&network.ours, &mut recorder)?,
            Model::Nonblocking => nonblocking(&network.ours, &mut recorder)?,
            Model::SignalDriven => signal_driven(&network.ours, &mut recorder)?,
            _ => unreachable!("prepared with its own state"),
        },
        #[cfg(target_os = "linux")]
        Prepared::Epoll(epoll) => multiplexing(&network.ours, &epoll, &mut recorder)?,
        #[cfg(target_os = "linux")]
        Prepared::Ring(mut ring) => asynchronous(&network.ours, &mut ring, &mut recorder)?,
    }
    let cpu = sys::thread_cpu_time().saturating_sub(cpu_before);
    let arrived = network.arrivals()?;
    let handed_over: Vec<Instant> = recorder
        .handed_over
        .iter()
        .map(|t| t.unwrap_or(zero))
        .collect();
    let calls = recorder.calls;
    drop(network); // lets the sender's thread end
    for (i, (arrived, handed)) in arrived.iter().zip(&handed_over).enumerate() {
        let lane = format!("socket {i}");
        timeline.record(&lane, Activity::Wait, zero, *arrived);
        timeline.record(&lane, Activity::Ready, *arrived, *handed);
        if model != Model::Asynchronous {
            // Phase 2, done by the thread (io_uring's kernel copied at arrival).
            timeline.record(&lane, Activity::Run, *handed, *handed);
        }
    }
    let elapsed = handed_over
        .iter()
        .max()
        .map_or(Duration::ZERO, |t| t.duration_since(zero));
    Ok(Outcome {
        model,
        arrived,
        handed_over,
        timeline,
        calls,
        cpu,
        elapsed,
    })
}
// ANCHOR_END: run

/// What a model needs set up before the messages may come.
enum Prepared {
    Plain,
    #[cfg(target_os = "linux")]
    Epoll(sys::Epoll),
    #[cfg(target_os = "linux")]
    Ring(Box<sys::ReadRing>),
}

fn prepare(
    model: Model,
    sockets: &[UnixStream],
    calls: &mut Calls,
) -> Result<Prepared, ModelError> {
    match model {
        Model::Blocking => Ok(Prepared::Plain),
        Model::Nonblocking => {
            for socket in sockets {
                socket.set_nonblocking(true)?; // one ioctl(FIONBIO) each
                calls.setup += 1;
            }
            Ok(Prepared::Plain)
        }
        #[cfg(target_os = "linux")]
        Model::Multiplexing => {
            let epoll = sys::Epoll::new()?;
            calls.setup += 1;
            for (i, socket) in sockets.iter().enumerate() {
                socket.set_nonblocking(true)?;
                epoll.add(socket, libc::EPOLLIN, i as u64)?;
                calls.setup += 2;
            }
            Ok(Prepared::Epoll(epoll))
        }
        #[cfg(target_os = "linux")]
        Model::SignalDriven => {
            // The signal is blocked in `signal_driven`, before any can come;
            // here each socket learns where to send it.
            for socket in sockets {
                sys::signal_when_readable(socket, sys::io_signal())?;
                calls.setup += 4; // F_SETOWN_EX, F_SETSIG, F_GETFL, F_SETFL
            }
            Ok(Prepared::Plain)
        }
        #[cfg(target_os = "linux")]
        Model::Asynchronous => {
            let ring = sys::ReadRing::new(sockets.len(), 64)
                .map_err(|error| ModelError::Unsupported(model, error))?;
            calls.setup += 1; // io_uring_setup
            Ok(Prepared::Ring(Box::new(ring)))
        }
        #[cfg(not(target_os = "linux"))]
        _ => Err(ModelError::Unsupported(
            model,
            io::Error::other("this model needs Linux"),
        )),
    }
}

// ANCHOR: blocking
/// Model 1: one blocking `read` per socket, in socket order. The thread
/// sleeps inside `read` (phase 1) and `read` copies (phase 2). While it
/// sleeps on socket 0, every other socket's message waits its turn.
fn blocking(sockets: &[UnixStream], rec: &mut Recorder) -> io::Result<()> {
    let mut buffer = [0; 64];
    for (i, mut socket) in sockets.iter().enumerate() {
        let from = Instant::now();
        let n = socket.read(&mut buffer)?;
        rec.calls.reads += 1;
        rec.waited(from);
        rec.got(i, &buffer[..n])?;
    }
    Ok(())
}
// ANCHOR_END: blocking

// ANCHOR: nonblocking
/// Model 2: non-blocking reads in a loop. Nothing ever sleeps: each `read`
/// of a socket with no data returns `EAGAIN` at once, and the loop asks
/// again. Phase 1 is the program spinning; the CPU is busy the whole time.
fn nonblocking(sockets: &[UnixStream], rec: &mut Recorder) -> io::Result<()> {
    let mut buffer = [0; 64];
    let from = Instant::now();
    while !rec.done() {
        for (i, socket) in sockets.iter().enumerate() {
            if rec.handed_over[i].is_some() {
                continue;
            }
            match try_read(socket, &mut buffer)? {
                Some(n) => {
                    rec.calls.reads += 1;
                    rec.got(i, &buffer[..n])?;
                }
                None => rec.calls.empty_reads += 1,
            }
        }
        if from.elapsed() > PATIENCE {
            return Err(io::Error::other("no message after 10 s"));
        }
    }
    rec.ran(from);
    Ok(())
}
// ANCHOR_END: nonblocking

// ANCHOR: multiplexing
/// Model 3: IO multiplexing. One `epoll_wait` sleeps for *all* the sockets
/// (phase 1) and says which are ready; a `read` of each copies (phase 2).
/// Still synchronous: the thread does the copying itself.
#[cfg(target_os = "linux")]
fn multiplexing(sockets: &[UnixStream], epoll: &sys::Epoll, rec: &mut Recorder) -> io::Result<()> {
    let mut events = vec![sys::NO_EVENT; sockets.len()];
    let mut buffer = [0; 64];
    while !rec.done() {
        let from = Instant::now();
        let ready = epoll.wait(&mut events, Some(PATIENCE))?;
        rec.calls.waits += 1;
        rec.waited(from);
        if ready == 0 {
            return Err(io::Error::other("no message after 10 s"));
        }
        let from = Instant::now();
        for event in &events[..ready] {
            let i = event.u64 as usize;
            if let Some(n) = try_read(&sockets[i], &mut buffer)? {
                rec.calls.reads += 1;
                rec.got(i, &buffer[..n])?;
            }
        }
        rec.ran(from);
    }
    Ok(())
}
// ANCHOR_END: multiplexing

// ANCHOR: signal_driven_model
/// Model 4: signal-driven. The kernel sends a signal when a socket becomes
/// readable; the thread takes it with `sigtimedwait` (phase 1, asleep), the
/// signal says which socket, and `read` copies (phase 2).
#[cfg(target_os = "linux")]
fn signal_driven(sockets: &[UnixStream], rec: &mut Recorder) -> io::Result<()> {
    let mut buffer = [0; 64];
    while !rec.done() {
        let from = Instant::now();
        let fd = sys::wait_for_signal(sys::io_signal(), PATIENCE)?;
        rec.calls.waits += 1;
        rec.waited(from);
        let fd = fd.ok_or_else(|| io::Error::other("no signal after 10 s"))?;
        let from = Instant::now();
        if let Some(i) = sockets.iter().position(|s| s.as_raw_fd() == fd)
            && rec.handed_over[i].is_none()
            && let Some(n) = try_read(&sockets[i], &mut buffer)?
        {
            rec.calls.reads += 1;
            rec.got(i, &buffer[..n])?;
        }
        rec.ran(from);
    }
    Ok(())
}
// ANCHOR_END: signal_driven_model

// ANCHOR: asynchronous
/// Model 5: asynchronous IO with io_uring. One submission hands the kernel
/// all N reads; the kernel waits for each message *and* copies it into our
/// buffer (both phases), then posts a completion. The thread only sleeps
/// until completions come, and finds the data already in place.
#[cfg(target_os = "linux")]
fn asynchronous(
    sockets: &[UnixStream],
    ring: &mut sys::ReadRing,
    rec: &mut Recorder,
) -> io::Result<()> {
    let fds: Vec<BorrowedFd> = sockets.iter().map(AsFd::as_fd).collect();
    let taken = ring.submit_reads(&fds)?;
    rec.calls.submits += 1;
    rec.calls.submitted_reads += taken as u64;
    let deadline = Instant::now() + PATIENCE;
    while !rec.done() {
        let completed = ring.reap();
        if completed.is_empty() {
            if Instant::now() > deadline {
                return Err(io::Error::other("no completion after 10 s"));
            }
            let from = Instant::now();
            ring.wait()?;
            rec.calls.waits += 1;
            rec.waited(from);
            continue;
        }
        let from = Instant::now();
        for (i, result) in completed {
            let n = result?;
            rec.got(i, &ring.buffer(i)[..n])?;
        }
        rec.ran(from);
    }
    Ok(())
}
// ANCHOR_END: asynchronous
