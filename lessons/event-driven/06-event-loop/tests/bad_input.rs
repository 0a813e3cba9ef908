//! A line that is not UTF-8 is reported and skipped, and the lines after it
//! still count; `events | head` ends quietly; zero tasks are refused.

use std::io::Write;
use std::process::{Command, Stdio};

use support::testkit::{ends_quietly_when_the_reader_leaves, refused};

#[test]
fn a_line_that_is_not_utf8_is_reported_and_the_rest_still_counts() {
    // `timeout` bounds the run: a loop that hung would fail the test.
    let mut child = Command::new("timeout")
        .args(["60", env!("CARGO_BIN_EXE_events")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start events");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"click 1 2\n\xff\xfe oops\nkey a\nquit\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(stderr.contains("line 2 is not UTF-8 text"), "{stderr}");
    assert!(stdout.contains("on_key_down: 'a'"), "{stdout}");
    assert!(stdout.contains("dispatched 3 events"), "{stdout}");
}

#[test]
fn events_piped_into_head_ends_quietly() {
    // One line is read; the events after it print into a closed pipe.
    ends_quietly_when_the_reader_leaves(
        Command::new(env!("CARGO_BIN_EXE_events")),
        1,
        b"click 1 2\n",
        b"click 3 4\nkey a\nquit\n",
    );
}

#[test]
fn zero_tasks_are_refused() {
    let why = refused(env!("CARGO_BIN_EXE_three-models"), ["--tasks", "0"]);
    assert!(why.contains("at least 1"), "{why}");
}
