//! Bad arguments are refused when they are parsed, with the reason; a taken
//! port gets a next step; `localhost` works as in every server.

use support::testkit::{a_taken_port_gets_a_next_step, localhost_means_loopback, refused};

#[test]
fn too_many_workers_are_refused_with_the_reason() {
    for bin in [
        env!("CARGO_BIN_EXE_lesson-05-server"),
        env!("CARGO_BIN_EXE_stress"),
    ] {
        let why = refused(bin, ["--workers", "20000"]);
        assert!(why.contains("more than"), "{why}");
    }
}

/// `stress -c 0` used to report success after checking nothing.
#[test]
fn a_stress_run_of_nothing_is_refused() {
    let bin = env!("CARGO_BIN_EXE_stress");
    for flag in ["-c", "-m", "--timeout-ms"] {
        let why = refused(bin, [flag, "0"]);
        assert!(why.contains("at least 1"), "{flag}: {why}");
    }
}

#[test]
fn the_server_listens_like_every_server() {
    localhost_means_loopback(env!("CARGO_BIN_EXE_lesson-05-server"), &[]);
    a_taken_port_gets_a_next_step(env!("CARGO_BIN_EXE_lesson-05-server"), &[]);
}
