//! The notes' client of a hundred OS threads against the one-thread server:
//! every echo checked, a hundred distinct thread ids, and the contrast the
//! chapter draws, measured from /proc: the client's threads against the
//! server's.

use std::collections::HashSet;
use std::process::Command;

use support::testkit::{self, ServerProcess};

fn threads_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn a_hundred_threads_each_get_their_echo_from_a_server_with_a_few() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lesson-05-server"));
    command.args(["--listen", "127.0.0.1:0"]);
    let server = ServerProcess::start(command).unwrap();

    let run = testkit::run(
        env!("CARGO_BIN_EXE_threads-client"),
        ["--server", &server.addr().to_string()],
    );
    assert!(run.success(), "{}\n{}", run.stdout, run.stderr);

    // One line per thread: its kernel thread id, what it sent, what came back.
    let mut ids = HashSet::new();
    let mut echoed = 0;
    for line in run.stdout.lines().filter(|l| l.starts_with("thread ")) {
        let id: i32 = line["thread ".len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        ids.insert(id);
        let (sent, got) = line.split_once(", got ").unwrap();
        let sent = sent.split_once("sent ").unwrap().1;
        let got = got.trim_end_matches(" ok");
        assert_eq!(sent, got, "{line}");
        // The thread wrote its own id into its message, and it came back.
        assert!(got.contains(&format!("thread {id} ")), "{line}");
        echoed += 1;
    }
    assert_eq!(echoed, 100, "{}", run.stdout);
    assert_eq!(ids.len(), 100, "every connection had a thread of its own");

    // The client needed a thread per connection (plus main), measured by
    // the client from /proc while all were open; the server holds the same
    // hundred connections on a handful (may's one worker, its IO and timer
    // threads, main).
    let client_threads: u64 = run
        .stdout
        .lines()
        .find_map(|l| l.split("connections open: ").nth(1))
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no footprint line in:\n{}", run.stdout));
    assert!(
        client_threads > 100,
        "the client had {client_threads} threads"
    );
    let server_threads = threads_of(server.pid());
    assert!(
        server_threads <= 4,
        "the server has {server_threads} threads"
    );
}

#[test]
fn no_server_is_a_clear_error() {
    // A port nobody listens on: bind one, note it, close it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let run = testkit::run(
        env!("CARGO_BIN_EXE_threads-client"),
        ["--server", &addr.to_string(), "--threads", "3"],
    );
    assert!(!run.success());
    assert!(
        run.stderr.contains("3 of 3 threads failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("just run lesson-05 server"),
        "{}",
        run.stderr
    );
}
