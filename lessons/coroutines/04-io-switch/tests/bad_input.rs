//! Bad input gets a clear error: too many workers, a zero timeout, a port
//! in use; `fetch | head -1` ends quietly; the help text reads right.

use std::process::Command;

use support::testkit::{
    a_taken_port_gets_a_next_step, ends_quietly_when_the_reader_leaves, localhost_means_loopback,
    refused, run,
};

#[test]
fn too_many_workers_are_refused_with_the_reason() {
    let why = refused(env!("CARGO_BIN_EXE_fetch"), ["--workers", "100000"]);
    assert!(why.contains("more than"), "{why}");
}

#[test]
fn a_zero_timeout_is_refused() {
    for bin in [
        env!("CARGO_BIN_EXE_fetch"),
        env!("CARGO_BIN_EXE_fetch-async"),
    ] {
        let why = refused(bin, ["--timeout-ms", "0"]);
        assert!(why.contains("at least 1"), "{why}");
    }
}

#[test]
fn fetch_piped_into_head_ends_quietly() {
    for bin in [
        env!("CARGO_BIN_EXE_fetch"),
        env!("CARGO_BIN_EXE_fetch-async"),
    ] {
        ends_quietly_when_the_reader_leaves(Command::new(bin), 1, b"", b"");
    }
}

#[test]
fn the_delay_server_listens_like_every_server() {
    localhost_means_loopback(env!("CARGO_BIN_EXE_delay-server"), &[]);
    a_taken_port_gets_a_next_step(env!("CARGO_BIN_EXE_delay-server"), &[]);
}

/// clap reads `{n}` in a doc comment as a line break: the route must show
/// in one piece.
#[test]
fn the_delay_servers_help_shows_its_route() {
    let help = run(env!("CARGO_BIN_EXE_delay-server"), ["--help"]);
    assert!(help.success(), "{help:?}");
    assert!(
        help.stdout.contains("GET /delay/MS/bytes/N after MS"),
        "{}",
        help.stdout
    );
}
