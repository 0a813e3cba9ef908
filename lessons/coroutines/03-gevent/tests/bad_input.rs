//! Bad arguments are refused when they are parsed, with the reason, never
//! with a panic inside may's scheduler.

use support::testkit::{refused, refused_command};

#[test]
fn too_many_workers_are_refused_with_the_reason() {
    for bin in [
        env!("CARGO_BIN_EXE_spawn"),
        env!("CARGO_BIN_EXE_sync-vs-async"),
    ] {
        let why = refused(bin, ["--workers", "100000"]);
        assert!(
            why.contains("at most") || why.contains("more than"),
            "{why}"
        );
        let why = refused(bin, ["--workers", "0"]);
        assert!(why.contains("at least 1"), "{why}");
    }
}

/// Each may worker holds descriptors: under a low open-file limit, a count
/// that would run out of them is refused, naming the limit.
#[test]
fn workers_past_the_open_file_limit_are_refused() {
    let mut command = std::process::Command::new("bash");
    command.args([
        "-c",
        "ulimit -n 200 && exec \"$0\" --workers 150",
        env!("CARGO_BIN_EXE_spawn"),
    ]);
    let why = refused_command(command);
    assert!(why.contains("open-file limit is 200"), "{why}");
}

#[test]
fn zero_tasks_are_refused() {
    let why = refused(env!("CARGO_BIN_EXE_sync-vs-async"), ["--tasks", "0"]);
    assert!(why.contains("at least 1"), "{why}");
}
