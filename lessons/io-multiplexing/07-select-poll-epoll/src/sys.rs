//! The three system calls, each behind a small safe function.
//!
//! This is the only file of lessons 07 and 08 with `unsafe` in it. Each
//! `unsafe` block is one call into the C library, with a comment saying why
//! the call cannot break memory safety. Everything outside this file uses
//! the safe functions and types below, so a mistake there is a wrong answer
//! or an error, never undefined behaviour.
//!
//! - [`FdSet`] and [`select`]: select(2), POSIX, 1983.
//! - [`poll`]: poll(2), POSIX, 1986.
//! - [`Epoll`]: epoll(7), Linux only, 2002. (BSD and macOS have kqueue,
//!   which plays the same role; this course does not show it.)
//! - [`signal_when_readable`] and [`wait_for_signal`]: signal-driven IO
//!   (`O_ASYNC`, `F_SETSIG`, `sigtimedwait(2)`), for the io-models program.
//! - [`ReadRing`]: asynchronous reads with io_uring (Linux, 2019), through
//!   the `io-uring` crate.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::{FromRawFd, OwnedFd};

/// How many descriptors an `fd_set` can hold: descriptors `0..FD_SETSIZE`.
/// It is fixed when the C library is compiled; on Linux it is 1,024.
pub const FD_SETSIZE: usize = libc::FD_SETSIZE;

// ANCHOR: fd_too_high
/// select(2) was asked to watch a descriptor that does not fit in an
/// `fd_set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdTooHigh {
    /// The descriptor that does not fit.
    pub fd: RawFd,
}

impl fmt::Display for FdTooHigh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "select(2) cannot watch descriptor {fd}: an fd_set is a bitmap of \
             FD_SETSIZE = {FD_SETSIZE} bits, so only descriptors 0 to {max} fit. \
             Setting bit {fd} would write past the end of the set (undefined \
             behaviour in C), so it is refused here. The limit is on the \
             descriptor's number, not on how many you watch; poll(2) and epoll(7) \
             have no such limit.",
            fd = self.fd,
            max = FD_SETSIZE - 1,
        )
    }
}

impl std::error::Error for FdTooHigh {}

impl From<FdTooHigh> for io::Error {
    fn from(error: FdTooHigh) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, error)
    }
}
// ANCHOR_END: fd_too_high

// ---------------------------------------------------------------------------
// select(2)
// ---------------------------------------------------------------------------

// ANCHOR: fd_set
/// A set of descriptors for select(2): a bitmap with one bit per
/// descriptor number, `FD_SETSIZE` bits long.
///
/// select(2) reads the bits you set ("watch these") and overwrites the set
/// with its answer ("these are ready"), so a set must be filled again
/// before every call.
#[derive(Clone, Copy)]
pub struct FdSet {
    /// The C bitmap itself.
    raw: libc::fd_set,
    /// The highest descriptor in the set: select(2) wants it plus one, to
    /// know how many bits to look at.
    highest: Option<RawFd>,
}

impl FdSet {
    /// An empty set.
    pub fn new() -> Self {
        // SAFETY: fd_set is a plain array of integers; all zeros is a valid
        // value, and FD_ZERO (which only writes to the set) makes it empty
        // whatever the platform's layout.
        let raw = unsafe {
            let mut raw: libc::fd_set = std::mem::zeroed();
            libc::FD_ZERO(&mut raw);
            raw
        };
        FdSet { raw, highest: None }
    }

    /// Adds `fd` to the set, or says why it cannot be: its number is
    /// `FD_SETSIZE` or more. This check is the whole difference between a
    /// clear error and writing past the end of the bitmap.
    pub fn insert(&mut self, fd: impl AsFd) -> Result<(), FdTooHigh> {
        let fd = fd.as_fd().as_raw_fd();
        if !Self::fits(fd) {
            return Err(FdTooHigh { fd });
        }
        // SAFETY: `fits` checked that the bit is inside the bitmap.
        unsafe { libc::FD_SET(fd, &mut self.raw) };
        self.highest = self.highest.max(Some(fd));
        Ok(())
    }

    /// Whether `fd` is in the set (after select(2): whether it is ready).
    pub fn contains(&self, fd: impl AsFd) -> bool {
        let fd = fd.as_fd().as_raw_fd();
        // SAFETY: `fits` checked that the bit is inside the bitmap, and
        // FD_ISSET only reads it.
        Self::fits(fd) && unsafe { libc::FD_ISSET(fd, &self.raw) }
    }

    /// Whether a descriptor number can be in any `fd_set` at all.
    pub fn fits(fd: RawFd) -> bool {
        usize::try_from(fd).is_ok_and(|fd| fd < FD_SETSIZE)
    }
}

impl Default for FdSet {
    fn default() -> Self {
        Self::new()
    }
}

/// Waits until a descriptor in `read` can be read or one in `write` can be
/// written without blocking, or until `timeout` passes (`None`: no
/// timeout). Returns how many are ready; both sets are overwritten with
/// only the ready descriptors.
///
/// A signal that arrives while waiting makes it fail with
/// [`io::ErrorKind::Interrupted`]: the caller decides whether to wait again.
pub fn select(
    read: Option<&mut FdSet>,
    write: Option<&mut FdSet>,
    timeout: Option<Duration>,
) -> io::Result<usize> {
    // The kernel looks at bits 0..nfds of every set: one more than the
    // highest descriptor in any of them.
    let highest = [read.as_deref(), write.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|set| set.highest)
        .max();
    let nfds = highest.map_or(0, |fd| fd + 1);
    let raw = |set: Option<&mut FdSet>| set.map_or(std::ptr::null_mut(), |set| &mut set.raw);
    let mut tv = timeout.map(|t| libc::timeval {
        // Saturate instead of wrapping for absurdly long timeouts.
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    });
    let tv_ptr = tv
        .as_mut()
        .map_or(std::ptr::null_mut(), |tv| tv as *mut libc::timeval);
    // SAFETY: every pointer is either null or points to a live, exclusively
    // borrowed value of the right type; every fd_set covers bits 0..nfds
    // because nfds <= FD_SETSIZE (`insert` refuses anything higher).
    let ready = unsafe { libc::select(nfds, raw(read), raw(write), std::ptr::null_mut(), tv_ptr) };
    if ready < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ready as usize)
}
// ANCHOR_END: fd_set

// ---------------------------------------------------------------------------
// poll(2)
// ---------------------------------------------------------------------------

// ANCHOR: poll
/// A `pollfd` entry asking about `events` (e.g. `libc::POLLIN`) on `fd`.
/// The kernel writes its answer into the entry's `revents`.
pub fn pollfd(fd: impl AsFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events,
        revents: 0,
    }
}

/// Waits until one of `fds` has one of the events it asks about, or until
/// `timeout` passes. Returns how many entries have a non-zero `revents`.
/// Unlike select(2), the request (`events`) and the answer (`revents`) are
/// separate fields, so the array can be reused as it is.
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let nfds = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many descriptors"))?;
    // SAFETY: the pointer and length describe one live, exclusively
    // borrowed slice of pollfd, which is all the kernel reads and writes.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms(timeout)) };
    if ready < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ready as usize)
}
// ANCHOR_END: poll

/// A timeout in whole milliseconds for poll(2) and epoll_wait(2): `-1` for
/// none, and rounded *up*, so that 0.4 ms waits 1 ms instead of turning into
/// a busy loop of zero-length waits.
fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

// ---------------------------------------------------------------------------
// epoll(7)
// ---------------------------------------------------------------------------

// ANCHOR: epoll
/// An epoll instance: a set of watched descriptors that lives in the kernel.
///
/// Descriptors are added once, with `epoll_ctl(2)`, each with 64 bits of
/// your own data (here: a token saying which socket it is). Then every
/// `epoll_wait(2)` returns only the descriptors that are ready, with their
/// data. Nothing is copied in per call, and nothing is scanned that is not
/// ready: the kernel keeps a ready list that sockets add themselves to.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub struct Epoll {
    /// The epoll instance is itself a descriptor; closing it (on drop)
    /// frees the kernel's interest list.
    fd: OwnedFd,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Epoll {
    /// A new, empty epoll instance.
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain system call with no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: epoll_create1 just returned this descriptor; nothing else
        // owns it.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Starts watching `fd` for `events` (`libc::EPOLLIN`, plus
    /// `libc::EPOLLET` for edge triggering); `token` comes back with every
    /// event for it.
    pub fn add(&self, fd: impl AsFd, events: libc::c_int, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: events as u32,
            u64: token,
        };
        // SAFETY: both descriptors are open (borrowed), and the kernel only
        // reads the event we pass.
        let result = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_fd().as_raw_fd(),
                &mut event,
            )
        };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for events, at most `events.len()` of them, or until `timeout`
    /// passes. Returns how many of `events` were filled in.
    pub fn wait(
        &self,
        events: &mut [libc::epoll_event],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let max = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: the kernel writes at most `max` events into the slice,
        // which is live and exclusively borrowed.
        let ready = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                max,
                timeout_ms(timeout),
            )
        };
        if ready < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ready as usize)
    }
}

/// An empty event, to fill a buffer for [`Epoll::wait`] with.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const NO_EVENT: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };
// ANCHOR_END: epoll

// ---------------------------------------------------------------------------
// Signal-driven IO (for the io-models program)
// ---------------------------------------------------------------------------

// ANCHOR: signal_driven
/// The signal this thread asks the kernel to send when a socket has data: a
/// real-time signal, because those queue (one per arrival) and carry the
/// descriptor in their `siginfo`, where plain `SIGIO` would merge arrivals
/// and say nothing about which socket it was.
#[cfg(target_os = "linux")]
pub fn io_signal() -> libc::c_int {
    libc::SIGRTMIN() + 1
}

/// Blocks `signal` in the calling thread, so that it is never *delivered*
/// (no handler runs, and a real-time signal's default action, ending the
/// process, never happens): it stays pending until [`wait_for_signal`]
/// takes it. Returns a guard that unblocks it again, after throwing away
/// any that are still pending.
#[cfg(target_os = "linux")]
pub fn block_signal(signal: libc::c_int) -> io::Result<BlockedSignal> {
    let set = signal_set(signal);
    // SAFETY: `set` is a valid, initialised sigset_t; the old mask is not
    // asked for (null).
    let result = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if result != 0 {
        return Err(io::Error::from_raw_os_error(result));
    }
    Ok(BlockedSignal { signal })
}

/// See [`block_signal`].
#[cfg(target_os = "linux")]
pub struct BlockedSignal {
    signal: libc::c_int,
}

#[cfg(target_os = "linux")]
impl Drop for BlockedSignal {
    fn drop(&mut self) {
        // Take every signal still queued, so that unblocking delivers none.
        while let Ok(Some(_)) = wait_for_signal(self.signal, Duration::ZERO) {}
        let set = signal_set(self.signal);
        // SAFETY: as in `block_signal`.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

#[cfg(target_os = "linux")]
fn signal_set(signal: libc::c_int) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set it is given; sigaddset only
    // writes into it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        set
    }
}

// Three Linux fcntl(2) values the libc crate does not export; from the
// kernel's include/uapi/asm-generic/fcntl.h (the same on every architecture).
#[cfg(target_os = "linux")]
const F_SETSIG: libc::c_int = 10;
#[cfg(target_os = "linux")]
const F_SETOWN_EX: libc::c_int = 15;
#[cfg(target_os = "linux")]
const F_OWNER_TID: libc::c_int = 0;

/// The argument of `F_SETOWN_EX`: who gets the signals.
#[cfg(target_os = "linux")]
#[repr(C)]
struct FOwnerEx {
    kind: libc::c_int,
    pid: libc::pid_t,
}

/// Asks the kernel to send `signal` to *this thread* whenever `fd` becomes
/// readable: `F_SETOWN_EX` names the thread, `F_SETSIG` the signal, and
/// `O_ASYNC` (with `O_NONBLOCK`) switches it on. Three `fcntl(2)` calls.
#[cfg(target_os = "linux")]
pub fn signal_when_readable(fd: impl AsFd, signal: libc::c_int) -> io::Result<()> {
    let fd = fd.as_fd().as_raw_fd();
    let owner = FOwnerEx {
        kind: F_OWNER_TID,
        // SAFETY: gettid has no arguments and cannot fail.
        pid: unsafe { libc::gettid() },
    };
    // SAFETY: each call passes an open descriptor and an argument of the
    // type its command expects (a pointer to a live f_owner_ex, or an int).
    unsafe {
        check(libc::fcntl(fd, F_SETOWN_EX, &owner))?;
        check(libc::fcntl(fd, F_SETSIG, signal))?;
        let flags = check(libc::fcntl(fd, libc::F_GETFL))?;
        check(libc::fcntl(
            fd,
            libc::F_SETFL,
            flags | libc::O_ASYNC | libc::O_NONBLOCK,
        ))?;
    }
    Ok(())
}

/// Waits until `signal` is pending for this thread (it must be blocked) or
/// `timeout` passes, and takes it: `Some(fd)`, the descriptor the kernel
/// says is ready, or `None` after the timeout. One `sigtimedwait(2)`.
#[cfg(target_os = "linux")]
pub fn wait_for_signal(signal: libc::c_int, timeout: Duration) -> io::Result<Option<RawFd>> {
    let set = signal_set(signal);
    let timeout = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos() as _,
    };
    // SAFETY: siginfo_t is plain data; all zeros is a valid value for the
    // kernel to overwrite.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: all three pointers point to live values of the right types.
    let taken = unsafe { libc::sigtimedwait(&set, &mut info, &timeout) };
    if taken < 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::EAGAIN) => Ok(None),
            _ => Err(error),
        };
    }
    // For an IO signal, the kernel fills in the "poll" member of siginfo:
    // after the three common ints come `si_band` (a long) and `si_fd`.
    // libc does not name that member, so this is its C layout.
    #[repr(C)]
    struct PollInfo {
        signo: libc::c_int,
        errno: libc::c_int,
        code: libc::c_int,
        band: libc::c_long,
        fd: libc::c_int,
    }
    // SAFETY: siginfo_t is larger than PollInfo and at least as aligned,
    // and PollInfo's fields are exactly where the kernel's `_sigpoll`
    // member puts them (the `long` aligns the union as in C).
    let poll = unsafe { &*(&info as *const libc::siginfo_t).cast::<PollInfo>() };
    Ok(Some(poll.fd))
}

#[cfg(target_os = "linux")]
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}
// ANCHOR_END: signal_driven

// ---------------------------------------------------------------------------
// io_uring (for the io-models program)
// ---------------------------------------------------------------------------

// ANCHOR: ring
/// An io_uring that reads into buffers it owns: asynchronous IO, where the
/// kernel does the whole read (waiting *and* copying) and only reports that
/// it is done.
///
/// The buffers belong to the ring because the kernel writes into them
/// after `submit_reads` has returned, at a moment the program does not
/// choose. That is the whole reason `push` is `unsafe` in the `io-uring`
/// crate: the memory must stay put until the completion arrives.
#[cfg(target_os = "linux")]
pub struct ReadRing {
    /// The two queues shared with the kernel: submissions in, completions out.
    ring: io_uring::IoUring,
    /// One buffer per read; read `i` fills `buffers[i]`.
    buffers: Vec<Box<[u8]>>,
    /// Reads submitted whose completion has not been reaped yet.
    in_flight: usize,
}

#[cfg(target_os = "linux")]
impl ReadRing {
    /// A ring for `reads` reads of up to `size` bytes each. Fails if the
    /// kernel refuses io_uring (some containers and hardened kernels do).
    pub fn new(reads: usize, size: usize) -> io::Result<Self> {
        let entries = u32::try_from(reads.next_power_of_two().max(1))
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many reads"))?;
        Ok(ReadRing {
            ring: io_uring::IoUring::new(entries)?,
            buffers: (0..reads)
                .map(|_| vec![0; size].into_boxed_slice())
                .collect(),
            in_flight: 0,
        })
    }

    /// Queues one read per descriptor (`fds[i]` into buffer `i`) and hands
    /// them all to the kernel with one `io_uring_enter(2)`. Returns how
    /// many reads the kernel took.
    pub fn submit_reads(&mut self, fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        for (i, (fd, buffer)) in fds.iter().zip(&mut self.buffers).enumerate() {
            let read = io_uring::opcode::Read::new(
                io_uring::types::Fd(fd.as_raw_fd()),
                buffer.as_mut_ptr(),
                buffer.len() as u32,
            )
            .build()
            .user_data(i as u64);
            // SAFETY: the buffer is owned by `self` and is neither moved nor
            // freed while the read is in flight (see Drop).
            unsafe { self.ring.submission().push(&read) }
                .map_err(|_| io::Error::other("the submission queue is full"))?;
        }
        let taken = self.ring.submit()?;
        self.in_flight += taken;
        Ok(taken)
    }

    /// Sleeps in the kernel until at least one read has completed: one
    /// `io_uring_enter(2)`.
    pub fn wait(&mut self) -> io::Result<()> {
        self.ring.submit_and_wait(1)?;
        Ok(())
    }

    /// The reads that have completed since the last call: `(i, bytes read
    /// into buffer i)`, or the error that read ended with.
    pub fn reap(&mut self) -> Vec<(usize, io::Result<usize>)> {
        let done: Vec<_> = self
            .ring
            .completion()
            .map(|entry| {
                let result = entry.result();
                let outcome = if result < 0 {
                    Err(io::Error::from_raw_os_error(-result))
                } else {
                    Ok(result as usize)
                };
                (entry.user_data() as usize, outcome)
            })
            .collect();
        self.in_flight -= done.len();
        done
    }

    /// Buffer `i`, as the kernel left it.
    pub fn buffer(&self, i: usize) -> &[u8] {
        &self.buffers[i]
    }
}

#[cfg(target_os = "linux")]
impl Drop for ReadRing {
    fn drop(&mut self) {
        if self.in_flight > 0 {
            // A read still in flight may yet write into its buffer: never
            // free memory the kernel might write to. Leaking it is safe.
            std::mem::forget(std::mem::take(&mut self.buffers));
        }
    }
}
// ANCHOR_END: ring

/// CPU time this thread has used so far (`CLOCK_THREAD_CPUTIME_ID`): how
/// much of a wait it spent running rather than asleep in the kernel.
pub fn thread_cpu_time() -> Duration {
    // SAFETY: timespec is plain data, and the kernel writes one into it.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_micros(400))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(7))), 7);
        assert_eq!(
            timeout_ms(Some(Duration::from_secs(u64::MAX))),
            libc::c_int::MAX
        );
    }

    #[test]
    fn descriptors_fit_in_an_fd_set_below_fd_setsize_only() {
        assert!(FdSet::fits(0));
        assert!(FdSet::fits(1023));
        assert!(!FdSet::fits(1024));
        assert!(!FdSet::fits(-1));
    }
}
