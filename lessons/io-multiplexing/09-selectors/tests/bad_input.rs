//! `--listen` reads as in every server of the course; a taken port and a
//! port reserved for root each get their own next step.

use std::process::Command;

use support::testkit::{Program, a_taken_port_gets_a_next_step, localhost_means_loopback};

const SERVER: &str = env!("CARGO_BIN_EXE_lesson-09-server");

#[test]
fn the_server_listens_like_every_server() {
    localhost_means_loopback(SERVER, &[]);
    a_taken_port_gets_a_next_step(SERVER, &[]);
}

/// Port 1 as an ordinary user is EACCES: the hint must talk about
/// privileged ports, not about another server using it. Root may bind it,
/// so as root the server runs as `nobody` (with `setpriv`).
#[test]
fn a_privileged_port_says_why_not_another_server() {
    let unprivileged_from: u16 =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(1024);
    if unprivileged_from <= 1 {
        eprintln!("not measured: every port is unprivileged on this machine");
        return;
    }
    // SAFETY: a plain query of our own user id.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", SERVER]);
        command
    } else {
        Command::new(SERVER)
    };
    command.args(["--listen", "127.0.0.1:1"]);
    let finished = Program::start_command(command).finish();
    assert!(!finished.success(), "{finished:?}");
    let stderr = &finished.stderr;
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(stderr.contains("below 1024"), "{stderr}");
    assert!(!stderr.contains("another"), "{stderr}");
}
