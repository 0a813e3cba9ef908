//! Past FD_SETSIZE, the server refuses politely and keeps serving.
//!
//! In a test file of its own: it needs more than a thousand descriptors,
//! and descriptor numbers are shared by every test of the same process.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Running;
use lesson_08_select_server::REFUSAL;

#[test]
fn connections_past_fd_setsize_are_refused_politely_and_the_rest_served() {
    support::fdlimit::raise_to(2_000).unwrap();
    let server = Running::start();
    // Client and server share this process, so each connection costs two
    // descriptors: after 600, the server's newest ones are numbered well
    // past 1023.
    let mut clients: Vec<TcpStream> = (0..600)
        .map(|_| {
            let stream = TcpStream::connect(server.addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            stream
        })
        .collect();

    // The last one is told why, and closed.
    let mut refusal = String::new();
    let last = clients.last_mut().unwrap();
    last.read_to_string(&mut refusal).unwrap();
    assert_eq!(refusal, REFUSAL);

    // The first one is served as if nothing happened.
    let first = &mut clients[0];
    first.write_all(b"still here?").unwrap();
    let mut reply = [0; 11];
    first.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"STILL HERE?");
}
