//! `--listen` reads as in every server of the course, and a taken port gets
//! a next step.

use support::testkit::{a_taken_port_gets_a_next_step, localhost_means_loopback};

#[test]
fn the_server_listens_like_every_server() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path().to_str().unwrap();
    let server = env!("CARGO_BIN_EXE_ftp-server");
    localhost_means_loopback(server, &["--root", root]);
    a_taken_port_gets_a_next_step(server, &["--root", root]);
}
