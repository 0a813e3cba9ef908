//! The select server answers in upper case, per connection and in order,
//! serves many clients at once, and is never held up by one of them.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Running;
use lesson_08_select_server::{MAX_QUEUED, NOTES_MESSAGES, run_client};

fn connect(server: &Running) -> TcpStream {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Reads exactly `len` bytes (the server may split or join replies).
fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut reply = vec![0; len];
    stream.read_exact(&mut reply).unwrap();
    reply
}

#[test]
fn the_notes_client_gets_upper_case_replies_on_each_socket_in_order() {
    let server = Running::start();
    let messages: Vec<String> = NOTES_MESSAGES.iter().map(|m| m.to_string()).collect();
    let mut out = Vec::new();
    run_client(&server.addr.to_string(), 2, &messages, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();

    assert_eq!(lines[0], format!("connecting 2 sockets to {}", server.addr));
    // The two sockets, as the client names them (its local addresses).
    let socket = |line: &str| line.split(": ").next().unwrap().to_string();
    let (a, b) = (socket(lines[1]), socket(lines[2]));
    assert_ne!(a, b);
    let mut expected = vec![lines[0].to_string()];
    for message in NOTES_MESSAGES {
        for me in [&a, &b] {
            expected.push(format!("{me}: sending \"{message}\""));
        }
        for me in [&a, &b] {
            expected.push(format!("{me}: received \"{}\"", message.to_uppercase()));
        }
    }
    expected.push("closing 2 sockets".to_string());
    assert_eq!(lines, expected);
}

#[test]
fn two_hundred_concurrent_clients_are_served_each_in_its_own_order() {
    let server = Running::start();
    // All connected at the same time...
    let mut clients: Vec<TcpStream> = (0..200).map(|_| connect(&server)).collect();
    // ...each sending five messages without waiting for any reply...
    let mut sent = vec![String::new(); clients.len()];
    for round in 0..5 {
        for (i, client) in clients.iter_mut().enumerate() {
            let message = format!("client {i} says hello #{round}; ");
            client.write_all(message.as_bytes()).unwrap();
            sent[i].push_str(&message);
        }
    }
    // ...and each getting exactly its own bytes back, upper-cased, in order.
    for (i, client) in clients.iter_mut().enumerate() {
        let reply = read_exactly(client, sent[i].len());
        assert_eq!(String::from_utf8(reply).unwrap(), sent[i].to_uppercase());
    }
}

/// How much a client that never reads tries to send: far more than all the
/// socket buffers between it and the server hold (a few MiB each way).
const FLOOD_BYTES: usize = 64 * 1024 * 1024;

/// How long a write of the flooding client may make no progress before it
/// counts as held back.
const FLOOD_STALL: Duration = Duration::from_secs(1);

/// How much the server's resident memory may grow while a client floods it
/// without reading: its queue for that client ([`MAX_QUEUED`]), a read
/// buffer, allocator slack. A server that queued the whole flood would grow
/// by about [`FLOOD_BYTES`].
const MEMORY_SLACK: u64 = 16 * 1024 * 1024 + MAX_QUEUED as u64;

/// The resident memory of a process, from /proc/PID/status (`VmRSS`).
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

/// Writes up to [`FLOOD_BYTES`] without ever reading, until a write makes
/// no progress for [`FLOOD_STALL`]. Returns the bytes the kernel took and
/// whether the writes stalled before the end (the server stopped reading).
fn flood(mut stream: &TcpStream) -> (usize, bool) {
    stream.set_write_timeout(Some(FLOOD_STALL)).unwrap();
    let chunk = [b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < FLOOD_BYTES {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (sent, true);
            }
            Err(e) => panic!("flooding the server: {e} after {sent} bytes"),
        }
    }
    (sent, false)
}

/// One slow reader (it never reads) and one fast writer, against the
/// server binary so that its memory can be measured from outside: the
/// server stops reading from the greedy client once its queue of replies is
/// full (the flood stalls well before 64 MiB), its memory stays bounded,
/// and meanwhile another client is served as usual.
#[test]
fn a_client_that_stops_reading_is_held_back_and_stalls_nobody() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lesson-08-server"));
    command.args(["--listen", "127.0.0.1:0", "--quiet"]);
    let server = support::testkit::ServerProcess::start(command).unwrap();
    let before = resident_bytes(server.pid());

    let greedy = TcpStream::connect(server.addr()).unwrap();
    let (sent, held_back) = flood(&greedy);
    let grown = resident_bytes(server.pid()).saturating_sub(before);
    assert!(
        held_back,
        "a client that never reads sent all {} MiB: the server read it all",
        sent >> 20
    );
    assert!(
        grown < MEMORY_SLACK,
        "the server grew by {} MiB while one client sent {} MiB without reading",
        grown >> 20,
        sent >> 20
    );

    // The greedy client is still connected, its replies unread; another
    // client is served normally, many times over.
    let mut polite = TcpStream::connect(server.addr()).unwrap();
    polite
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    for i in 0..100 {
        let message = format!("still served, round {i}\n");
        polite.write_all(message.as_bytes()).unwrap();
        let reply = read_exactly(&mut polite, message.len());
        assert_eq!(reply, message.to_uppercase().as_bytes());
    }
    greedy.shutdown(std::net::Shutdown::Both).unwrap();
}
