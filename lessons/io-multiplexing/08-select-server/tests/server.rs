//! The select server answers in upper case, per connection and in order,
//! serves many clients at once, and is never held up by one of them.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Running;
use lesson_08_select_server::{NOTES_MESSAGES, run_client};

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

#[test]
fn a_client_that_stops_reading_does_not_stall_the_others() {
    let server = Running::start();
    // The greedy client sends and sends, and never reads a reply. A server
    // that blocked on writing to it, or queued its replies forever, would
    // stop serving everyone else (or run out of memory).
    let greedy = connect(&server);
    let mut writer = greedy.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        let chunk = [b'x'; 64 * 1024];
        let mut sent = 0usize;
        // Far more than all the socket buffers between us and the server
        // hold: this write blocks once the server stops reading from us.
        while sent < 64 * 1024 * 1024 {
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break, // the test shut the socket down
            }
        }
        sent
    });

    // Meanwhile, another client is served normally, many times over.
    let mut polite = connect(&server);
    for i in 0..100 {
        let message = format!("still served, round {i}\n");
        polite.write_all(message.as_bytes()).unwrap();
        let reply = read_exactly(&mut polite, message.len());
        assert_eq!(reply, message.to_uppercase().as_bytes());
    }

    // The flood really was held back: it could not send all it wanted.
    greedy.shutdown(std::net::Shutdown::Both).unwrap();
    let sent = flood.join().unwrap();
    assert!(sent < 64 * 1024 * 1024, "the greedy client sent everything");
}
