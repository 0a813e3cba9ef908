//! The order of the lines proves the switches; the times prove what
//! concurrency buys. Small delays keep the tests quick; the bounds are
//! generous because CI machines are shared and slow.

use std::process::Command;
use std::time::Duration;

use support::testkit::run_timed;

fn run(bin: &str, args: &[&str]) -> String {
    let output = Command::new(bin)
        .args(args)
        .output()
        .expect("run the lesson");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// The text of each stamped line, without its `[  time]` stamp.
fn messages(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|line| {
            line.strip_prefix('[')?
                .split_once("] ")
                .map(|(_, text)| text)
        })
        .collect()
}

#[test]
fn spawn_interleaves_exactly_as_gevent_does() {
    let unit = Duration::from_millis(60);
    let timed = run_timed(env!("CARGO_BIN_EXE_spawn"), ["--unit-ms", "60"]);
    assert!(timed.finished.success(), "{timed}");
    // On the test's clock: nobody wakes before their sleep is over.
    assert!(timed.arrival("bar: awake again", 0) >= unit, "{timed}");
    assert!(timed.arrival("foo: awake again", 0) >= unit * 2, "{timed}");
    let stdout = timed.finished.stdout;
    assert_eq!(
        messages(&stdout),
        [
            "foo: started, going to sleep for 2 units",
            "bar: started, going to sleep for 1 unit",
            "func3: started, yielding to the others",
            "func3: resumed at once: nobody else was ready",
            "bar: awake again, while foo still sleeps",
            "foo: awake again, last of all: it slept the longest",
        ],
        "{stdout}"
    );
}

#[test]
fn spawn_draws_one_lane_per_coroutine() {
    let stdout = run(
        env!("CARGO_BIN_EXE_spawn"),
        &["--unit-ms", "30", "--width", "40"],
    );
    let lanes: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains('|'))
        .map(|line| line.split('|').next().unwrap_or("").trim())
        .collect();
    assert_eq!(lanes, ["foo", "bar", "func3"], "{stdout}");
    // foo slept twice as long as bar: its row of `~` is longer (by how much
    // depends on how busy the machine is, so only the order is checked).
    let waits = |lane: &str| {
        let row = stdout.lines().find(|l| l.starts_with(lane)).unwrap();
        row.matches('~').count()
    };
    assert!(waits("foo") > waits("bar"), "{stdout}");
}

/// `sequential: N ms` and `concurrent: N ms` from the summary.
fn millis(stdout: &str, label: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix(label)?
                .trim()
                .strip_suffix(" ms")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"))
}

#[test]
fn sequential_adds_the_waits_and_concurrent_overlaps_them() {
    let (tasks, delay) = (8, 80);
    let stdout = run(
        env!("CARGO_BIN_EXE_sync-vs-async"),
        &[
            "--tasks",
            &tasks.to_string(),
            "--delay-ms",
            &delay.to_string(),
        ],
    );
    let sequential = millis(&stdout, "sequential:");
    let concurrent = millis(&stdout, "concurrent:");
    assert!(sequential >= tasks * delay, "{stdout}");
    assert!(concurrent >= delay, "{stdout}");
    assert!(concurrent < 2 * delay, "{stdout}");
    // Every task reported, twice (once per run).
    for pid in 0..tasks {
        assert_eq!(
            stdout.matches(&format!("task {pid} done at")).count(),
            2,
            "{stdout}"
        );
    }
}

/// The same, timed from outside: the test's own clock notes when each line
/// arrives. The synchronous run cannot end before the waits add up, and
/// the asynchronous run's lines all come within a fraction of that, so a
/// program that printed an overlapped timeline for tasks run one by one
/// would fail here.
#[test]
fn the_test_clock_sees_the_waits_add_up_then_overlap() {
    let (tasks, delay) = (8u32, Duration::from_millis(80));
    let timed = run_timed(
        env!("CARGO_BIN_EXE_sync-vs-async"),
        [
            "--tasks",
            &tasks.to_string(),
            "--delay-ms",
            &delay.as_millis().to_string(),
        ],
    );
    assert!(timed.finished.success(), "{timed}");
    // From the start of the process to the end of the synchronous run.
    let sequential = timed.arrival("all done in", 0);
    assert!(sequential >= delay * tasks, "{timed}");
    // From the line announcing the asynchronous run to its end.
    let concurrent = timed.arrival("all done in", 1) - timed.arrival("Asynchronous", 0);
    assert!(concurrent < delay * tasks / 2, "{timed}");
}

#[test]
fn the_synchronous_timeline_is_a_staircase() {
    let stdout = run(
        env!("CARGO_BIN_EXE_sync-vs-async"),
        &["--tasks", "3", "--delay-ms", "40", "--width", "30"],
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("task ") && l.contains('|'))
        .collect();
    assert_eq!(rows.len(), 6, "{stdout}");
    // Synchronous: each task waits for the ones before it (`.`), then for
    // its own timer (`~`); the first never waits its turn.
    assert!(!rows[0].contains('.'), "{stdout}");
    assert!(rows[1].contains(".~") && rows[2].contains(".~"), "{stdout}");
    // Asynchronous: nobody waits for a turn; every row is all timer.
    assert!(rows[3..].iter().all(|row| !row.contains('.')), "{stdout}");
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_sync-vs-async"))
        .args(["--tasks", "many"])
        .output()
        .expect("run sync-vs-async");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value"));
}
