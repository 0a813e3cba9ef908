//! The `rpc` command line and shell meet bad input with a clear message:
//! a line that is not UTF-8 is reported and the lines after it still run;
//! `run --hosts web-1 df` (the order clap's usage used to show) explains how
//! to write it.

use std::io::Write;
use std::process::{Command, Stdio};

use support::testkit::{refused, shared_rabbitmq, shared_redis, unique_name};

#[test]
fn hosts_before_the_command_is_explained() {
    let why = refused(env!("CARGO_BIN_EXE_rpc"), ["run", "--hosts", "web-1", "df"]);
    assert!(why.contains("put the command first"), "{why}");
    assert!(why.contains("Usage: rpc run <CMD> --hosts"), "{why}");
}

#[test]
fn the_shell_reports_a_line_that_is_not_utf8_and_goes_on() {
    // `timeout` bounds the run: a shell that hung would fail the test.
    let mut child = Command::new("timeout")
        .args(["60", env!("CARGO_BIN_EXE_rpc")])
        .args(["--amqp-url", &shared_rabbitmq().url()])
        .args(["--redis-url", &shared_redis().url()])
        .args(["--namespace", &unique_name("rpc-bad-input")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rpc");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"tas\xffks\nrun --hosts web-1 df\ntasks\n")
        .unwrap();
    drop(stdin);
    // wait_with_output reads both pipes to their end; the shell ends at the
    // end of its input.
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("not UTF-8 text (nothing was run)"),
        "{stderr}"
    );
    assert!(stderr.contains("put the command first"), "{stderr}");
    assert!(stdout.contains(">>: tasks\nno tasks yet"), "{stdout}");
}
