//! Running one command on the agent's machine, safely. You write [`run`]
//! and [`Capture::read_all`]; the types and two small helpers are given.
//!
//! The rules (lesson 26's chapter, "Why no shell", says why):
//!
//! - **No shell.** The words go to the program as they are: `df -h; rm -rf x`
//!   runs `df` with the four arguments `-h;`, `rm`, `-rf` and `x`.
//! - **Its own process group**, so that the timeout can kill the command and
//!   everything it started (`sh -c 'sleep 100 & sleep 100'` is three processes).
//! - **Standard input is `/dev/null`**, so a command that reads input ends
//!   instead of waiting forever.
//! - **Output is read to the end but capped**: a child writing to a full
//!   pipe blocks, so never stop reading; keep only the first `max_output` bytes.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::io::AsyncRead;

use crate::protocol::{Outcome, Output};

// ANCHOR: given
/// The limits one command runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long the command, and everything it started, may run.
    pub timeout: Duration,
    /// How many bytes of stdout, and of stderr, are kept.
    pub max_output: usize,
}

/// How one run went: what the agent puts in its reply.
#[derive(Debug, Clone)]
pub struct Ran {
    /// How it ended: `Exited { code }`, `TimedOut { after_ms }`, ...
    pub outcome: Outcome,
    /// Its standard output, capped.
    pub stdout: Output,
    /// Its standard error, capped.
    pub stderr: Output,
    /// From just before the spawn to the end of the output.
    pub duration: Duration,
}

/// Sends SIGKILL to every process in the process group `group`: the group
/// a child started with `Command::process_group(0)` has the child's pid as
/// its id. Does nothing for `None` (`Child::id()` is `None` once reaped).
pub fn kill_group(group: Option<u32>) {
    if let Some(pid) = group.and_then(|pid| libc::pid_t::try_from(pid).ok()) {
        // SAFETY: a plain system call; a negative pid names a process group.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// The outcome of a process that exited by itself.
pub fn outcome_of(status: ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited { code },
        (None, Some(signal)) => Outcome::Signalled { signal },
        (None, None) => Outcome::FailedToStart {
            reason: format!("ended without an exit code: {status}"),
        },
    }
}

/// A command that never ran: the program does not exist, the list is empty...
pub fn not_started(reason: String, clock: Instant) -> Ran {
    Ran {
        outcome: Outcome::FailedToStart { reason },
        stdout: Output::default(),
        stderr: Output::default(),
        duration: clock.elapsed(),
    }
}

/// One output pipe, read to its end, of which the first `cap` bytes are kept.
pub struct Capture {
    /// The first bytes read, at most `cap` of them.
    pub kept: Vec<u8>,
    /// How many bytes to keep.
    pub cap: usize,
    /// Every byte read, kept or not: the reply says how many there were.
    pub total: u64,
}

impl Capture {
    pub fn new(cap: usize) -> Self {
        Capture {
            kept: Vec::new(),
            cap,
            total: 0,
        }
    }

    /// What goes into the reply.
    pub fn finish(self) -> Output {
        Output {
            text: String::from_utf8_lossy(&self.kept).into_owned(),
            bytes: self.total,
            truncated: self.total > self.kept.len() as u64,
        }
    }
}
// ANCHOR_END: given

// ANCHOR: todo
impl Capture {
    /// Reads `pipe` until end of file (a read of 0 bytes), adding every
    /// chunk's length to `total` and keeping bytes in `kept` only while it
    /// holds fewer than `cap`.
    ///
    /// Keep going after the cap: a command whose pipe is full stops until
    /// someone reads. Store each chunk as soon as it is read, so that what
    /// was read survives when [`run`] gives up at the timeout (it drops this
    /// future) and calls `read_all` again to drain what is left.
    ///
    /// Hint: `tokio::io::AsyncReadExt::read` into a `[0u8; 8192]` buffer.
    pub async fn read_all(&mut self, pipe: &mut (impl AsyncRead + Unpin)) -> std::io::Result<()> {
        let _ = pipe;
        todo!("Capture::read_all: read to the end, keep the first `cap` bytes, count them all")
    }
}

/// Runs `argv` (the program, then its arguments) under `limits`. Never
/// fails: a command that cannot start is an outcome too ([`not_started`]).
///
/// 1. `tokio::process::Command::new(program).args(args)`: no `sh -c`, ever.
///    Standard input from `Stdio::null()`, stdout and stderr `piped()`,
///    `.process_group(0)` so it gets a group of its own, and
///    `.kill_on_drop(true)` so a dropped future leaves no child behind.
/// 2. Spawn it; keep `child.id()`, the group's id, for [`kill_group`].
/// 3. Under `tokio::time::timeout(limits.timeout, ...)`, wait for the child
///    to exit *and* both pipes to reach their end, all at once:
///    `tokio::join!(child.wait(), out.read_all(..), err.read_all(..))`.
/// 4. In time: the outcome is [`outcome_of`] its exit status. Too late: kill
///    the whole group, reap the child (`child.wait().await`), drain the pipes
///    for a moment more, and the outcome is
///    `Outcome::TimedOut { after_ms: limits.timeout.as_millis() as u64 }`.
/// 5. Return a [`Ran`] with both [`Capture::finish`]es and the time taken.
pub async fn run(argv: &[String], limits: Limits) -> Ran {
    let clock = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return not_started("the command is empty".to_string(), clock);
    };
    let _ = (program, args, limits, Capture::new(limits.max_output));
    todo!(
        "exec::run: spawn without a shell in its own process group, read, time out, kill the group"
    )
}
// ANCHOR_END: todo
