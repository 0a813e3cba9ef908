//! Lesson 07: one readiness wait, written with select(2), poll(2) and
//! epoll(7), and what each costs as the number of idle sockets grows.
//!
//! An event loop spends its life asking the kernel one question: *which of
//! my sockets can I read now without blocking?* The three system calls ask
//! it in three ways:
//!
//! - **select(2)** passes a bitmap of descriptor numbers in, gets a bitmap
//!   back, and has to rebuild it before every call. The kernel checks every
//!   bit up to the highest descriptor: O(n) per call. The bitmap has a fixed
//!   size, `FD_SETSIZE` = 1,024 bits, so descriptors numbered 1,024 and up
//!   cannot be watched at all.
//! - **poll(2)** passes an array of `(fd, events)` entries in, and the
//!   answers come back in the same array. No size limit, but still O(n) per
//!   call: the whole array is copied in and every entry is checked.
//! - **epoll(7)** keeps the watched set *in the kernel*: you add each
//!   socket once, and each wait returns only the ready ones. The cost of a
//!   wait does not grow with the number of idle sockets.
//!
//! [`Fixture`] opens N idle sockets plus one readable one, [`measure`] times
//! one wait with each [`Backend`], and [`level_vs_edge`] shows the two ways
//! epoll can report readiness.
//!
//! [`models`] goes one step back: the five IO models (blocking,
//! non-blocking, multiplexing, signal-driven, asynchronous), each reading
//! the same messages on one thread (`just run lesson-07 io-models`).
//!
//! Run it with `just run lesson-07 compare` (`--help` for the options).

pub mod models;
pub mod sys;

use std::fmt;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::{Duration, Instant};

pub use sys::{FD_SETSIZE, FdTooHigh};

// ANCHOR: wait_trait
/// The one question, asked three ways: "which of my descriptors can be read
/// without blocking?"
pub trait ReadinessWait {
    /// Waits until at least one watched descriptor is readable, or
    /// `timeout` passes, and puts the readable ones into `ready`.
    fn wait(&mut self, timeout: Option<Duration>, ready: &mut Vec<RawFd>) -> io::Result<()>;
}
// ANCHOR_END: wait_trait

// ANCHOR: select_wait
/// The wait with select(2).
pub struct SelectWait<'a> {
    /// What to watch. The `fd_set` is built from it before every call,
    /// because select(2) overwrites the set with its answer.
    watched: Vec<BorrowedFd<'a>>,
}

impl<'a> SelectWait<'a> {
    /// Fails if a descriptor is numbered `FD_SETSIZE` or more.
    pub fn new(fds: &[BorrowedFd<'a>]) -> Result<Self, FdTooHigh> {
        if let Some(fd) = fds.iter().find(|fd| !sys::FdSet::fits(fd.as_raw_fd())) {
            return Err(FdTooHigh { fd: fd.as_raw_fd() });
        }
        Ok(SelectWait {
            watched: fds.to_vec(),
        })
    }
}

impl ReadinessWait for SelectWait<'_> {
    fn wait(&mut self, timeout: Option<Duration>, ready: &mut Vec<RawFd>) -> io::Result<()> {
        // 1. Fill the bitmap: O(n), every call.
        let mut set = sys::FdSet::new();
        for fd in &self.watched {
            set.insert(fd)?;
        }
        // 2. The kernel checks bits 0..=highest: O(n).
        sys::select(Some(&mut set), None, timeout)?;
        // 3. Find which bits are still set: O(n) again.
        ready.extend(
            self.watched
                .iter()
                .filter(|fd| set.contains(fd))
                .map(|fd| fd.as_raw_fd()),
        );
        Ok(())
    }
}
// ANCHOR_END: select_wait

// ANCHOR: poll_wait
/// The wait with poll(2).
pub struct PollWait<'a> {
    /// One entry per watched descriptor, reused call after call: the kernel
    /// writes its answer into `revents` and leaves `events` alone.
    entries: Vec<libc::pollfd>,
    /// The entries hold raw numbers; this ties them to the borrowed sockets
    /// so the sockets cannot be closed while they are watched.
    _sockets: PhantomData<BorrowedFd<'a>>,
}

impl<'a> PollWait<'a> {
    pub fn new(fds: &[BorrowedFd<'a>]) -> Self {
        PollWait {
            entries: fds.iter().map(|fd| sys::pollfd(fd, libc::POLLIN)).collect(),
            _sockets: PhantomData,
        }
    }
}

impl ReadinessWait for PollWait<'_> {
    fn wait(&mut self, timeout: Option<Duration>, ready: &mut Vec<RawFd>) -> io::Result<()> {
        // The whole array is copied into the kernel and every entry is
        // checked: O(n). Then we scan it for answers: O(n).
        sys::poll(&mut self.entries, timeout)?;
        ready.extend(
            self.entries
                .iter()
                // POLLHUP and POLLERR are reported even when not asked for;
                // a read would not block then either (it returns 0 or the error).
                .filter(|entry| entry.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
                .map(|entry| entry.fd),
        );
        Ok(())
    }
}
// ANCHOR_END: poll_wait

// ANCHOR: epoll_wait
/// The wait with epoll(7).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub struct EpollWait<'a> {
    /// The kernel-side set, filled once in `new`.
    epoll: sys::Epoll,
    /// Room for the answers: only ready descriptors come back, so this can
    /// be much smaller than the watched set.
    events: Vec<libc::epoll_event>,
    /// Ties the registrations to the borrowed sockets.
    _sockets: PhantomData<BorrowedFd<'a>>,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl<'a> EpollWait<'a> {
    /// Registers every descriptor once: one epoll_ctl(2) each.
    pub fn new(fds: &[BorrowedFd<'a>]) -> io::Result<Self> {
        let epoll = sys::Epoll::new()?;
        for fd in fds {
            // The token is the descriptor's number, to hand it back below.
            epoll.add(fd, libc::EPOLLIN, fd.as_raw_fd() as u64)?;
        }
        Ok(EpollWait {
            epoll,
            events: vec![sys::NO_EVENT; 64],
            _sockets: PhantomData,
        })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl ReadinessWait for EpollWait<'_> {
    fn wait(&mut self, timeout: Option<Duration>, ready: &mut Vec<RawFd>) -> io::Result<()> {
        // Nothing is copied in; only ready descriptors come out: O(ready).
        let n = self.epoll.wait(&mut self.events, timeout)?;
        ready.extend(self.events[..n].iter().map(|event| {
            // Copy the field out first: epoll_event is a packed struct.
            let token = event.u64;
            token as RawFd
        }));
        Ok(())
    }
}
// ANCHOR_END: epoll_wait

/// Waits, and waits again if a signal interrupted the wait. A real program
/// would look at what the signal asked for first (Ctrl-C: stop).
pub fn wait_retrying(
    waiter: &mut dyn ReadinessWait,
    timeout: Option<Duration>,
    ready: &mut Vec<RawFd>,
) -> io::Result<()> {
    loop {
        ready.clear();
        match waiter.wait(timeout, ready) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The three ways to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Select,
    Poll,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Epoll,
}

impl Backend {
    /// All of them, oldest first.
    pub const ALL: &[Backend] = &[
        Backend::Select,
        Backend::Poll,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Backend::Epoll,
    ];

    /// Its name as the manual pages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Select => "select(2)",
            Backend::Poll => "poll(2)",
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Backend::Epoll => "epoll_wait(2)",
        }
    }

    /// A waiter of this kind watching `fds`. Only select(2) can refuse.
    pub fn waiter<'a>(self, fds: &[BorrowedFd<'a>]) -> io::Result<Box<dyn ReadinessWait + 'a>> {
        Ok(match self {
            Backend::Select => Box::new(SelectWait::new(fds)?),
            Backend::Poll => Box::new(PollWait::new(fds)),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Backend::Epoll => Box::new(EpollWait::new(fds)?),
        })
    }
}

// ANCHOR: fixture
/// N idle sockets and one readable socket.
///
/// The idle ones are unbound Unix datagram sockets: one descriptor each,
/// no port used, and nothing can ever arrive on them. The readable one is
/// one end of a connected pair; one byte has been written into the other
/// end and is never read, so it stays readable for every wait.
pub struct Fixture {
    /// Opened first, so they get the lowest descriptor numbers.
    idle: Vec<UnixDatagram>,
    /// The readable end.
    ready: UnixStream,
    /// The other end of the pair: it must stay open, or `ready` would
    /// report end-of-file instead of data (still "readable", but not the
    /// point).
    _writer: UnixStream,
}

impl Fixture {
    pub fn new(idle: usize) -> io::Result<Self> {
        let idle = (0..idle)
            .map(|_| UnixDatagram::unbound())
            .collect::<io::Result<Vec<_>>>()?;
        let (ready, mut writer) = UnixStream::pair()?;
        writer.write_all(b"!")?;
        Ok(Fixture {
            idle,
            ready,
            _writer: writer,
        })
    }

    /// Every descriptor to watch: the idle ones, then the readable one.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.idle
            .iter()
            .map(|socket| socket.as_fd())
            .chain([self.ready.as_fd()])
            .collect()
    }

    /// The one descriptor every wait must report.
    pub fn ready_fd(&self) -> RawFd {
        self.ready.as_raw_fd()
    }

    /// How many idle sockets there are.
    pub fn idle(&self) -> usize {
        self.idle.len()
    }
}
// ANCHOR_END: fixture

/// How long one wait took.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The median of all the waits timed: robust against the odd slow call
    /// when the machine is busy.
    pub per_wait: Duration,
    /// How many waits were timed.
    pub waits: usize,
    /// Preparing the waiter, once (for epoll: one epoll_ctl per socket).
    pub setup: Duration,
}

/// What went wrong when measuring a backend.
#[derive(Debug)]
pub enum MeasureError {
    /// select(2) cannot hold one of the descriptors.
    TooHigh(FdTooHigh),
    /// A wait reported something other than exactly the readable socket.
    WrongAnswer {
        expected: RawFd,
        got: Vec<RawFd>,
    },
    Io(io::Error),
}

impl fmt::Display for MeasureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasureError::TooHigh(error) => error.fmt(f),
            MeasureError::WrongAnswer { expected, got } => write!(
                f,
                "the wait reported descriptors {got:?}, but only {expected} is readable"
            ),
            MeasureError::Io(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for MeasureError {}

impl From<io::Error> for MeasureError {
    fn from(error: io::Error) -> Self {
        // select's refusal travels as an io::Error through the trait; give
        // it back its own type so the caller can explain it.
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<FdTooHigh>())
        {
            Some(too_high) => MeasureError::TooHigh(*too_high),
            None => MeasureError::Io(error),
        }
    }
}

// ANCHOR: measure
/// Times one readiness wait with `backend` on `fixture`: as many waits as
/// fit in `budget` (at least 5), each checked to report exactly the
/// readable socket, and the median taken.
pub fn measure(
    backend: Backend,
    fixture: &Fixture,
    budget: Duration,
) -> Result<Timing, MeasureError> {
    let fds = fixture.fds();
    let started = Instant::now();
    let mut waiter = backend.waiter(&fds)?;
    let setup = started.elapsed();

    let mut samples = Vec::new();
    let mut ready = Vec::with_capacity(8);
    let deadline = Instant::now() + budget;
    while samples.len() < 5 || (Instant::now() < deadline && samples.len() < 100_000) {
        let start = Instant::now();
        // The timeout only matters if something is wrong: the socket is
        // readable, so every wait returns at once.
        wait_retrying(waiter.as_mut(), Some(Duration::from_secs(1)), &mut ready)?;
        samples.push(start.elapsed());
        if ready != [fixture.ready_fd()] {
            return Err(MeasureError::WrongAnswer {
                expected: fixture.ready_fd(),
                got: ready,
            });
        }
    }
    samples.sort_unstable();
    Ok(Timing {
        per_wait: samples[samples.len() / 2],
        waits: samples.len(),
        setup,
    })
}
// ANCHOR_END: measure

// ---------------------------------------------------------------------------
// Level and edge triggering
// ---------------------------------------------------------------------------

/// What a wait said at one step of [`level_vs_edge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerStep {
    /// What happened just before the wait.
    pub what: &'static str,
    /// Whether a level-triggered wait reported the socket readable.
    pub level: bool,
    /// Whether an edge-triggered wait reported it.
    pub edge: bool,
}

// ANCHOR: level_vs_edge
/// Ten bytes arrive on a socket, and the reader takes only four at a time.
/// After each step, one epoll instance in level-triggered mode (the
/// default, and what select(2), poll(2) and Python's `selectors` do) and
/// one in edge-triggered mode (`EPOLLET`, what mio uses) are asked whether
/// the socket is readable.
///
/// Level-triggered answers "is there data?": yes, as long as any is left.
/// Edge-triggered answers "did data *arrive* since you last asked?": once
/// per arrival. A reader that stops before `WouldBlock` under edge
/// triggering is never told about the bytes it left behind, until more
/// arrive.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn level_vs_edge() -> io::Result<Vec<TriggerStep>> {
    let mut level = TriggerProbe::new(0)?;
    let mut edge = TriggerProbe::new(libc::EPOLLET)?;
    let mut steps = Vec::new();
    let mut step = |what, level: &mut TriggerProbe, edge: &mut TriggerProbe| -> io::Result<()> {
        steps.push(TriggerStep {
            what,
            level: level.readable()?,
            edge: edge.readable()?,
        });
        Ok(())
    };

    for probe in [&mut level, &mut edge] {
        probe.writer.write_all(b"0123456789")?;
    }
    step("10 bytes arrive", &mut level, &mut edge)?;
    for probe in [&mut level, &mut edge] {
        probe.read_some(4)?;
    }
    step("read 4 bytes, 6 left", &mut level, &mut edge)?;
    for probe in [&mut level, &mut edge] {
        probe.read_some(4)?;
    }
    step("read 4 bytes, 2 left", &mut level, &mut edge)?;
    for probe in [&mut level, &mut edge] {
        probe.writer.write_all(b"!")?;
    }
    step("1 more byte arrives, 3 left", &mut level, &mut edge)?;
    for probe in [&mut level, &mut edge] {
        probe.read_some(4)?;
    }
    step("read the 3 bytes, 0 left", &mut level, &mut edge)?;
    Ok(steps)
}

/// One socket pair watched by one epoll instance in one mode.
#[cfg(any(target_os = "linux", target_os = "android"))]
struct TriggerProbe {
    epoll: sys::Epoll,
    reader: UnixStream,
    writer: UnixStream,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl TriggerProbe {
    fn new(mode: libc::c_int) -> io::Result<Self> {
        let (reader, writer) = UnixStream::pair()?;
        let epoll = sys::Epoll::new()?;
        epoll.add(&reader, libc::EPOLLIN | mode, 0)?;
        Ok(TriggerProbe {
            epoll,
            reader,
            writer,
        })
    }

    /// Asks without waiting (timeout zero): is it readable now?
    fn readable(&mut self) -> io::Result<bool> {
        let mut events = [sys::NO_EVENT; 1];
        loop {
            match self.epoll.wait(&mut events, Some(Duration::ZERO)) {
                Ok(n) => return Ok(n == 1),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
    }

    fn read_some(&mut self, max: usize) -> io::Result<usize> {
        let mut buf = [0u8; 16];
        self.reader.read(&mut buf[..max])
    }
}
// ANCHOR_END: level_vs_edge
