//! Running one command the careful way: no shell, a time limit that kills
//! everything the command started, and a cap on what it may print.
//!
//! - **No shell.** The words go straight to `execve`: `df -h; rm -rf x`
//!   runs `df` with the arguments `-h;`, `rm`, `-rf` and `x`. Nothing
//!   interprets `;`, `|`, `>`, `$(...)` or globs, so a command cannot smuggle
//!   in a second one.
//! - **Its own process group.** A command may start children (`make`,
//!   `sh -c`, a pipeline). Killing only the first process would leave them
//!   running; killing the group ends them all.
//! - **Dies with the agent.** On Linux each command gets `PR_SET_PDEATHSIG`,
//!   so if the agent itself is killed, its commands are killed too.
//! - **Nothing to read, no secrets.** Standard input is `/dev/null`, and the
//!   agent's `AMQP_URL` (which may hold a password) is not passed on.
//! - **Capped output.** Both pipes are read to the end (a child blocked on a
//!   full pipe would never exit), but only the first `max_output` bytes are
//!   kept, and the answer says how many there were in all.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::protocol::{Outcome, Output};

/// How long to wait for the pipes to close after the group was killed.
/// Only a process that left the group (`setsid`) can hold them longer.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);

/// The limits one command runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long the command (and anything it started) may run.
    pub timeout: Duration,
    /// How many bytes of stdout, and of stderr, are kept.
    pub max_output: usize,
}

/// How one run went.
#[derive(Debug, Clone)]
pub struct Ran {
    /// How it ended.
    pub outcome: Outcome,
    /// Its standard output, capped.
    pub stdout: Output,
    /// Its standard error, capped.
    pub stderr: Output,
    /// From just before the spawn to the end of the output.
    pub duration: Duration,
}

// ANCHOR: run
/// Runs `argv` (program first) under `limits`. Never fails: a command that
/// cannot start is an outcome too, reported like any other.
pub async fn run(argv: &[String], limits: Limits) -> Ran {
    let clock = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return not_started("the command is empty".to_string(), clock);
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The agent's broker address may hold a password: not for commands.
        .env_remove("AMQP_URL")
        // If this future is dropped, do not leave the child behind.
        .kill_on_drop(true);
    isolate(&mut command);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return not_started(format!("could not start `{program}`: {error}"), clock),
    };
    // The group's id is the child's pid (`process_group(0)`), known until
    // the child is reaped; keep it to kill the whole group later.
    let group = child.id();
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(group);
        return not_started(
            "the command's output pipes were not set up".to_string(),
            clock,
        );
    };
    let mut out = Capture::new(limits.max_output);
    let mut err = Capture::new(limits.max_output);
    let deadline = tokio::time::Instant::now() + limits.timeout;

    // Wait for the process to exit AND for both pipes to close (a background
    // job it started may still hold them), reading as it goes. `Capture`
    // lives out here, so what was read survives a timeout.
    let in_time = tokio::time::timeout_at(deadline, async {
        tokio::join!(
            child.wait(),
            out.read_all(&mut stdout),
            err.read_all(&mut stderr)
        )
        .0
    })
    .await;

    let outcome = match in_time {
        Ok(Ok(status)) => outcome_of(status),
        Ok(Err(error)) => Outcome::FailedToStart {
            reason: format!("lost track of `{program}`: {error}"),
        },
        Err(_elapsed) => {
            // Did the command itself finish, and only something it left in
            // the background keep the pipes open? Then its own exit status
            // stands; either way, everything left in the group is killed.
            let finished = child.try_wait().ok().flatten();
            kill_group(group);
            let _ = child.wait().await; // reap it: no zombie left behind
            let _ = tokio::time::timeout(DRAIN_AFTER_KILL, async {
                tokio::join!(out.read_all(&mut stdout), err.read_all(&mut stderr))
            })
            .await;
            match finished {
                Some(status) => outcome_of(status),
                None => Outcome::TimedOut {
                    after_ms: limits.timeout.as_millis() as u64,
                },
            }
        }
    };
    Ran {
        outcome,
        stdout: out.finish(),
        stderr: err.finish(),
        duration: clock.elapsed(),
    }
}
// ANCHOR_END: run

// ANCHOR: isolate
/// Puts the command in a process group of its own and, on Linux, makes the
/// kernel kill it if the agent dies. (Strictly: if the *thread* that spawned
/// it ends; the agent spawns from its one long-lived thread.)
fn isolate(command: &mut Command) {
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let agent = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec only async-signal-safe calls run:
        // prctl, getppid and _exit.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The agent may have died before prctl took effect.
                if libc::getppid() != agent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}

/// Sends SIGKILL to every process in the group `group`.
fn kill_group(group: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = group.and_then(|pid| libc::pid_t::try_from(pid).ok()) {
        // SAFETY: a plain system call. A negative pid names a process group;
        // the id is not reused while any process of the group is alive.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}
// ANCHOR_END: isolate

fn outcome_of(status: ExitStatus) -> Outcome {
    if let Some(code) = status.code() {
        return Outcome::Exited { code };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Outcome::Signalled { signal };
        }
    }
    Outcome::FailedToStart {
        reason: format!("ended without an exit code: {status}"),
    }
}

fn not_started(reason: String, clock: Instant) -> Ran {
    Ran {
        outcome: Outcome::FailedToStart { reason },
        stdout: Output::default(),
        stderr: Output::default(),
        duration: clock.elapsed(),
    }
}

// ANCHOR: capture
/// One output pipe, read to the end, of which the first `cap` bytes are kept.
struct Capture {
    /// The first bytes, at most `cap` of them.
    kept: Vec<u8>,
    /// How many bytes to keep.
    cap: usize,
    /// Every byte read, kept or not.
    total: u64,
}

impl Capture {
    fn new(cap: usize) -> Self {
        Capture {
            kept: Vec::new(),
            cap,
            total: 0,
        }
    }

    /// Reads until end of file. Safe to stop (drop) and call again: a chunk
    /// is stored in the same poll that reads it.
    async fn read_all(&mut self, pipe: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        loop {
            let n = pipe.read(&mut chunk).await?;
            if n == 0 {
                return Ok(()); // end of file: every writer has closed the pipe
            }
            self.total += n as u64;
            let room = self.cap.saturating_sub(self.kept.len());
            self.kept.extend_from_slice(&chunk[..n.min(room)]);
        }
    }

    fn finish(self) -> Output {
        Output {
            text: String::from_utf8_lossy(&self.kept).into_owned(),
            bytes: self.total,
            truncated: self.total > self.kept.len() as u64,
        }
    }
}
// ANCHOR_END: capture

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    const LIMITS: Limits = Limits {
        timeout: Duration::from_secs(10),
        max_output: 64 * 1024,
    };

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        let ran = run(&argv("sh -c 'echo out; echo err >&2; exit 3'"), LIMITS).await;
        assert_eq!(ran.outcome, Outcome::Exited { code: 3 });
        assert_eq!(ran.stdout.text, "out\n");
        assert_eq!(ran.stderr.text, "err\n");
        assert!(!ran.stdout.truncated);
    }

    #[tokio::test]
    async fn no_shell_sees_the_words() {
        let ran = run(&argv("echo a; echo $(id) | x"), LIMITS).await;
        assert_eq!(ran.stdout.text, "a; echo $(id) | x\n");
    }

    #[tokio::test]
    async fn a_missing_program_is_an_outcome_not_an_error() {
        let ran = run(&argv("no-such-program-here"), LIMITS).await;
        assert!(
            matches!(&ran.outcome, Outcome::FailedToStart { reason } if reason.contains("no-such-program-here")),
            "{:?}",
            ran.outcome
        );
    }

    #[tokio::test]
    async fn output_past_the_cap_is_counted_but_not_kept() {
        let limits = Limits {
            max_output: 100,
            ..LIMITS
        };
        let ran = run(&argv("seq 1 10000"), limits).await;
        // The command was read to the end, so it finished normally.
        assert_eq!(ran.outcome, Outcome::Exited { code: 0 });
        assert_eq!(ran.stdout.text.len(), 100);
        assert!(ran.stdout.text.starts_with("1\n2\n3\n"));
        assert_eq!(ran.stdout.bytes, 48894);
        assert!(ran.stdout.truncated);
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group_and_keeps_early_output() {
        let limits = Limits {
            timeout: Duration::from_millis(300),
            ..LIMITS
        };
        let started = Instant::now();
        let seconds = unique_sleep();
        // The shell starts a background sleep and a foreground one; both
        // hold the pipes. Only killing the group ends them both.
        let script = format!("echo started; sleep {seconds} & sleep {seconds}");
        let ran = run(&["sh".into(), "-c".into(), script], limits).await;
        assert_eq!(ran.outcome, Outcome::TimedOut { after_ms: 300 });
        assert_eq!(ran.stdout.text, "started\n");
        assert!(started.elapsed() < Duration::from_secs(5));
        wait_until_gone(&seconds);
    }

    #[tokio::test]
    async fn a_finished_command_keeps_its_status_when_a_leftover_is_killed() {
        let limits = Limits {
            timeout: Duration::from_millis(300),
            ..LIMITS
        };
        let seconds = unique_sleep();
        let script = format!("sleep {seconds} & exit 4");
        let ran = run(&["sh".into(), "-c".into(), script], limits).await;
        assert_eq!(ran.outcome, Outcome::Exited { code: 4 });
        // The leftover itself: killed, not merely forgotten.
        wait_until_gone(&seconds);
    }

    /// A `sleep` argument no other process uses: `800.<pid><n>`.
    fn unique_sleep() -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("800.{}{n:03}", std::process::id())
    }

    /// Polls /proc (bounded) until no `sleep SECONDS` process is left.
    /// A zombie (dead, not yet reaped by its parent) counts as gone.
    fn wait_until_gone(seconds: &str) {
        let wanted = format!("sleep\0{seconds}\0").into_bytes();
        let alive = || {
            std::fs::read_dir("/proc")
                .expect("read /proc")
                .flatten()
                .filter(|entry| {
                    std::fs::read(entry.path().join("cmdline")).ok() == Some(wanted.clone())
                })
                .any(|entry| {
                    std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                        stat.rsplit_once(')')
                            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
                    })
                })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while alive() {
            assert!(
                Instant::now() < deadline,
                "`sleep {seconds}` is still running"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
