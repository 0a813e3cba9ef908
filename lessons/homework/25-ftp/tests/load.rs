//! 100 clients at once against one server thread: each uploads and
//! downloads its own file, every byte is checked, and the server process
//! has exactly one thread throughout.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Server, eventually, part_files};

const CLIENTS: usize = 100;
const SIZE: usize = 256 * 1024;

/// Sessions the server has open, from its log: connected minus closed.
fn open_sessions(server: &Server) -> usize {
    let log = server.log();
    let connected = log.lines().filter(|l| l.ends_with(" connected")).count();
    let closed = log.lines().filter(|l| l.contains("] closed (")).count();
    connected - closed
}

#[test]
fn a_hundred_clients_at_once_on_one_thread() {
    let server = Server::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hundred_clients.py");
    let mut python = Command::new("python3")
        .arg(script)
        .args([
            server.port().to_string(),
            CLIENTS.to_string(),
            SIZE.to_string(),
        ])
        .arg(server.root.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test (apt-get install python3)");
    let mut lines = BufReader::new(python.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    if first != format!("connected {CLIENTS}") {
        let output = python.wait_with_output().unwrap();
        panic!(
            "the clients did not all connect: {first:?}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // All of them are logged in at this moment, on one server thread.
    eventually("100 open sessions in the log", || {
        open_sessions(&server) == CLIENTS
    });
    assert_eq!(server.threads(), 1);

    // Go: all transfer at once.
    python.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = python.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{rest:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(rest, [format!("verified {CLIENTS}")]);

    assert_eq!(server.threads(), 1);
    let stored = std::fs::read_dir(server.root.path()).unwrap().count();
    assert_eq!(stored, CLIENTS);
    assert!(part_files(server.root.path()).is_empty());
}
