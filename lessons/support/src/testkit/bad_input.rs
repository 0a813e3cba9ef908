//! Feeding programs what a careless user would, and checking they answer
//! with a clear error instead of a panic.
//!
//! ```no_run
//! // Refused when the arguments are parsed, with the reason:
//! let why = support::testkit::refused("spawn", ["--workers", "100000"]);
//! assert!(why.contains("at most"), "{why}");
//! // `compare | head -1` ends quietly:
//! support::testkit::ends_quietly_when_the_reader_leaves(
//!     std::process::Command::new("compare"), 1, b"", b"");
//! ```

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

use super::PATIENCE;

/// Runs `program` with `args`, which it must refuse as clap refuses a bad
/// argument (exit status 2), before doing anything, without a panic.
/// Returns what it printed on stderr, the reason, for the test to check.
pub fn refused<I, S>(program: impl AsRef<Path>, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program.as_ref());
    command.args(args);
    refused_command(command)
}

/// [`refused`], for a prepared command (a lowered limit, say).
pub fn refused_command(command: Command) -> String {
    let shown = format!("{command:?}");
    let finished = super::Program::start_command(command).finish();
    assert!(
        !finished.stderr.contains("panicked"),
        "{shown} panicked:\n{}",
        finished.stderr
    );
    assert_eq!(
        finished.status.code(),
        Some(2),
        "{shown} was not refused as a bad argument: {finished:?}"
    );
    finished.stderr
}

/// Starts `command` with its stdout on a pipe, writes `first` to its stdin,
/// reads `lines` lines, then closes the pipe, as `command | head -n LINES`
/// does, and writes `then` to its stdin (to make it print more), then
/// closes that. The program
/// must end by SIGPIPE (what C tools do; the proof that it did write into
/// the closed pipe), print no panic, and do so within [`PATIENCE`].
#[cfg(unix)]
pub fn ends_quietly_when_the_reader_leaves(
    command: Command,
    lines: usize,
    first: &[u8],
    then: &[u8],
) {
    use std::os::unix::process::ExitStatusExt;

    let shown = format!("{command:?}");
    // A clean exit 0 means the pipe never broke: for a moment another
    // child of this test process (forked by a test running beside this
    // one, not yet exec'd) still held a copy of the pipe's read end. That
    // is the test's race, not the program's fault, so it tries again; a
    // panic or any other ending fails at once.
    for _ in 0..5 {
        let (status, stderr) = reader_leaves(copy_of(&command), &shown, lines, first, then);
        assert!(!stderr.contains("panicked"), "{shown} panicked:\n{stderr}");
        if status.signal() == Some(libc::SIGPIPE) {
            return;
        }
        assert!(
            status.success(),
            "{shown} did not end by SIGPIPE ({status}); its stderr:\n{stderr}"
        );
    }
    panic!("{shown} exited 0 five times: it never wrote into the closed pipe");
}

/// The same program, arguments, environment and folder, as a new command.
#[cfg(unix)]
fn copy_of(command: &Command) -> Command {
    let mut copy = Command::new(command.get_program());
    copy.args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => copy.env(name, value),
            None => copy.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        copy.current_dir(dir);
    }
    copy
}

/// One run of [`ends_quietly_when_the_reader_leaves`]: how it ended, and
/// its stderr.
#[cfg(unix)]
fn reader_leaves(
    mut command: Command,
    shown: &str,
    lines: usize,
    first: &[u8],
    then: &[u8],
) -> (ExitStatus, String) {
    use std::io::Write;

    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = super::spawn_bound_to_us(command).expect("start the program");
    let stderr = child.stderr.take().expect("stderr was piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut stdin = child.stdin.take().expect("stdin was piped");
    // A program that has ended already closed its end: nothing to report.
    let _ = stdin.write_all(first);
    {
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout was piped"));
        for _ in 0..lines {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
        }
        // `stdout` is dropped here: the pipe's only reader is gone.
    }
    let _ = stdin.write_all(then);
    drop(stdin);
    let status = wait(&mut child, shown);
    (status, stderr.join().unwrap_or_default())
}

/// Waits for `child` to exit, polling (it may already have), until PATIENCE.
fn wait(child: &mut Child, shown: &str) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                panic!("{shown} did not exit within {PATIENCE:?}");
            }
        }
    }
}

/// Starts the server `program` (with `args`) on a port another socket
/// already holds: it must fail (not panic), say so, and give the next step.
pub fn a_taken_port_gets_a_next_step(program: impl AsRef<Path>, args: &[&str]) {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("take a port");
    let addr = holder.local_addr().expect("its address").to_string();
    let mut command = Command::new(program.as_ref());
    command.args(args).args(["--listen", &addr]);
    let shown = format!("{command:?}");
    let finished = super::Program::start_command(command).finish();
    assert!(!finished.success(), "{shown} did not fail: {finished:?}");
    let stderr = &finished.stderr;
    assert!(!stderr.contains("panicked"), "{shown} panicked:\n{stderr}");
    assert!(stderr.contains("Address already in use"), "{stderr}");
    assert!(
        stderr.contains("--listen 127.0.0.1:0"),
        "no next step: {stderr}"
    );
    drop(holder);
}

/// Starts the server `program` (with `args`) with `--listen localhost:0`:
/// it must take `localhost` to mean 127.0.0.1, like every other server.
pub fn localhost_means_loopback(program: impl AsRef<Path>, args: &[&str]) {
    let mut command = Command::new(program.as_ref());
    command.args(args).args(["--listen", "localhost:0"]);
    let mut server = super::Program::start_command(command);
    let line = server.expect_line("listening on");
    assert!(line.contains("listening on 127.0.0.1:"), "{line}");
}
