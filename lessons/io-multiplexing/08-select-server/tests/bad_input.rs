//! `--listen` reads as in every server of the course, and a taken port gets
//! a next step.

use support::testkit::{a_taken_port_gets_a_next_step, localhost_means_loopback};

#[test]
fn the_server_listens_like_every_server() {
    let server = env!("CARGO_BIN_EXE_lesson-08-server");
    localhost_means_loopback(server, &["--quiet"]);
    a_taken_port_gets_a_next_step(server, &["--quiet"]);
}
