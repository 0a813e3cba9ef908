//! Lesson programs started by tests: their output read line by line as it
//! comes, and the process killed when the test is done with it.
//!
//! A test of a consumer has to know *when* the consumer is ready (its queue
//! bound, its consumer registered) before it publishes, and must then see
//! what it printed. Sleeping "long enough" is slow and still flaky, so tests
//! wait for the line the program prints when it is ready:
//!
//! ```no_run
//! use support::testkit::Program;
//! let mut receiver = Program::start("receive", ["--url", "amqp://..."]);
//! receiver.expect_line("Waiting for messages");
//! // ... now publish, then:
//! assert!(receiver.expect_line("Received").contains("Hello World!"));
//! ```
//!
//! Like the brokers, a program cannot outlive its test: it is killed (with
//! everything it started) when the [`Program`] is dropped, also when the test
//! panics, and by the kernel if the whole test process dies.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for an expected line or for a program to exit.
/// Generous: on a loaded 2-core CI machine a debug build can be slow, and a
/// test that passes only on an idle machine is a broken test.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Waits for something another process does (a socket closed, a queue
/// deleted, a key expired): asks `condition` every 10 ms until it holds,
/// and fails the test after [`PATIENCE`]. Bounded polling, never a fixed
/// sleep that hopes the other side was quick enough.
pub fn eventually(what: &str, condition: impl FnMut() -> bool) {
    eventually_within(what, PATIENCE, condition);
}

/// [`eventually`] with a bound of its own, for when the time it takes is
/// part of what the test checks.
pub fn eventually_within(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}, in vain"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A lesson program running in the background.
pub struct Program {
    /// The program's file name, for failure messages.
    name: String,
    /// The process; `None` once it has been waited for.
    child: Option<Child>,
    /// Lines of standard output, sent by a reader thread as they come.
    lines: mpsc::Receiver<String>,
    /// Every line of standard output received so far, for failure messages.
    seen: Vec<String>,
    /// Everything written to standard error, collected by a thread.
    stderr: Arc<Mutex<String>>,
    /// That thread, joined when the program has exited.
    stderr_reader: Option<JoinHandle<()>>,
}

/// How a program that ran to its end ended, and everything it printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Runs a program to its end and returns what it printed. Panics if it
/// takes longer than [`PATIENCE`].
pub fn run<I, S>(program: impl AsRef<Path>, args: I) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Program::start(program, args).finish()
}

impl Program {
    /// Starts `program` with `args`; panics if it cannot be started.
    pub fn start<I, S>(program: impl AsRef<Path>, args: I) -> Program
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program.as_ref());
        command.args(args);
        Program::start_command(command)
    }

    /// Starts a prepared command (to set its environment, say). Its stdin,
    /// stdout and stderr are replaced: tests never share their terminal.
    pub fn start_command(command: Command) -> Program {
        let name = Path::new(command.get_program())
            .file_name()
            .unwrap_or(command.get_program())
            .to_string_lossy()
            .into_owned();
        let (child, piped) =
            Piped::spawn(command).unwrap_or_else(|error| panic!("could not start {name}: {error}"));
        let Piped {
            lines,
            stderr,
            stderr_reader,
            ..
        } = piped;
        Program {
            name,
            child: Some(child),
            lines,
            seen: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The next line of output within `timeout`, or `None` if none came
    /// (or the program closed its output).
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Waits for a line that contains `needle` and returns it. Panics, with
    /// everything the program printed, if it exits first or [`PATIENCE`]
    /// runs out.
    pub fn expect_line(&mut self, needle: &str) -> String {
        self.wait_for(|line| line.contains(needle), needle)
    }

    /// Waits for a line for which `wanted` is true; `what` describes it for
    /// the failure message.
    pub fn wait_for(&mut self, mut wanted: impl FnMut(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "{} printed no line with {what:?} within {PATIENCE:?}.\n{}",
                        self.name,
                        self.transcript()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.reap(Instant::now() + PATIENCE);
                    panic!(
                        "{} ended without printing {what:?}.\n{}",
                        self.name,
                        self.transcript()
                    )
                }
            }
        }
    }

    /// Every line of standard output received so far.
    pub fn stdout_lines(&self) -> &[String] {
        &self.seen
    }

    /// What the program has written to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }

    /// Kills the program at once with SIGKILL, as a crash or `kill -9`
    /// would: it gets no chance to clean up, close its connection or ack.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        if let Some(child) = &self.child {
            // SAFETY: plain system call on our own child.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        }
    }

    /// Waits for the program to exit on its own and returns everything it
    /// printed. Panics if that takes longer than [`PATIENCE`].
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + PATIENCE;
        // Read standard output to its end first, so that a program blocked
        // on a full pipe can go on and exit.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "{} did not finish within {PATIENCE:?}.\n{}",
                        self.name,
                        self.transcript()
                    )
                }
            }
        }
        let Some(status) = self.reap(deadline) else {
            panic!(
                "{} did not exit within {PATIENCE:?}.\n{}",
                self.name,
                self.transcript()
            )
        };
        let mut stdout = self.seen.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Finished {
            status,
            stdout,
            stderr: self.stderr(),
        }
    }

    /// Waits for the process to exit, until `deadline`, and for its stderr.
    fn reap(&mut self, deadline: Instant) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => return None,
            }
        };
        self.child = None;
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        Some(status)
    }

    fn transcript(&self) -> String {
        format!(
            "--- its stdout:\n{}\n--- its stderr:\n{}",
            self.seen.join("\n"),
            self.stderr()
        )
    }
}

/// A program run to its end, with the moment each line of its output
/// arrived, on the test's own clock: time since just before it started.
///
/// Where a lesson's point is a timing, the test times it from outside as
/// well: a program that printed a made-up timeline would still have to
/// print its lines at the moments it claims.
#[derive(Debug)]
pub struct Timed {
    /// How it ended, and everything it printed.
    pub finished: Finished,
    /// Each line of standard output, with when it arrived.
    pub lines: Vec<(Duration, String)>,
}

impl Timed {
    /// When each line containing `needle` arrived, in order.
    pub fn arrivals(&self, needle: &str) -> Vec<Duration> {
        self.lines
            .iter()
            .filter(|(_, line)| line.contains(needle))
            .map(|(at, _)| *at)
            .collect()
    }

    /// When the `nth` (from 0) line containing `needle` arrived. Panics,
    /// with the output, if there are not that many.
    pub fn arrival(&self, needle: &str, nth: usize) -> Duration {
        self.arrivals(needle)
            .get(nth)
            .copied()
            .unwrap_or_else(|| panic!("no line {nth} with {needle:?} in:\n{self}"))
    }
}

impl std::fmt::Display for Timed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (at, line) in &self.lines {
            writeln!(f, "{:>6} ms  {line}", at.as_millis())?;
        }
        write!(f, "--- stderr:\n{}", self.finished.stderr)
    }
}

/// Runs a program to its end like [`run`], noting when each line of its
/// output arrived. Panics if that takes longer than [`PATIENCE`].
pub fn run_timed<I, S>(program: impl AsRef<Path>, args: I) -> Timed
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let started = Instant::now();
    let mut program = Program::start(program, args);
    let deadline = started + PATIENCE;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match program.lines.recv_timeout(left) {
            Ok(line) => {
                lines.push((started.elapsed(), line.clone()));
                program.seen.push(line);
            }
            // Its output is closed: `finish` waits for the exit.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => break, // `finish` reports it
        }
    }
    Timed {
        finished: program.finish(),
        lines,
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The whole group: the program and anything it started.
            super::kill_group(child.id() as i32, libc::SIGKILL);
            let _ = child.wait();
        }
    }
}

/// A child's output, read by two threads as it comes: stdout line by line
/// (into a channel, and into a copy of the whole), stderr as it is. Both
/// are read to their end whether or not anyone looks, so the child never
/// blocks on a full pipe. [`Program`] and [`super::ServerProcess`] both
/// start their processes this way.
pub(super) struct Piped {
    /// Lines of stdout, in order, as they come.
    pub lines: mpsc::Receiver<String>,
    /// Every line of stdout so far.
    pub stdout: Arc<Mutex<String>>,
    /// Everything written to stderr so far.
    pub stderr: Arc<Mutex<String>>,
    /// The stderr thread, done when the child has closed its stderr.
    pub stderr_reader: JoinHandle<()>,
}

impl Piped {
    /// Spawns `command` bound to this process (it dies with it, in a
    /// process group of its own), stdin from nothing, stdout and stderr
    /// read as above.
    pub fn spawn(mut command: Command) -> std::io::Result<(Child, Piped)> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = super::spawn_bound_to_us(command)?;

        let (sender, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let pipe = child.stdout.take().expect("stdout was piped");
        let copy = Arc::clone(&stdout);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            // Byte lines, so that output that is not UTF-8 is shown, not lost.
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                if let Ok(mut all) = copy.lock() {
                    all.push_str(&text);
                    all.push('\n');
                }
                // Nobody may be listening any more: read on regardless.
                let _ = sender.send(text);
                line.clear();
            }
        });

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr was piped");
        let collected = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                if let Ok(mut text) = collected.lock() {
                    text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        Ok((
            child,
            Piped {
                lines,
                stdout,
                stderr,
                stderr_reader,
            },
        ))
    }
}
