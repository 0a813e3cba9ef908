//! The echo server, run for real: a hundred clients at once on one worker
//! thread (threads counted in /proc), every byte checked; clients that
//! vanish mid-message, their sockets closed by the server; the interactive
//! client; and the clear errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use socket2::SockRef;

/// A server process, killed when dropped (also when a test panics).
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(workers: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lesson-05-server"))
            .args(["--listen", "127.0.0.1:0", "--workers", workers])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("read the first line");
        let addr = first
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("first line should say where: {first:?}"));
        // Keep reading whatever else it prints, so it can never block on a
        // full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Server { child, addr }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the server").is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many threads the server process has, counted by the kernel.
fn threads(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", server.child.id()))
        .expect("read the server's /proc/PID/task")
        .count()
}

/// How many descriptors the server process holds open right now.
fn open_fds(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))
        .expect("read the server's /proc/PID/fd")
        .count()
}

/// Polls the server's open descriptors until they are back to `wanted`:
/// the server has noticed every vanished client and closed its socket.
fn wait_for_fds(server: &Server, wanted: usize) {
    support::testkit::eventually_within(
        &format!(
            "the server to close the vanished clients' sockets (back to {wanted} descriptors)"
        ),
        Duration::from_secs(30),
        || open_fds(server) == wanted,
    );
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a timeout");
    stream
}

fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).expect("send");
    let mut echo = vec![0; message.len()];
    stream.read_exact(&mut echo).expect("read the echo");
    echo
}

#[test]
fn a_hundred_clients_times_ten_messages_on_one_worker_all_echo_exactly() {
    let server = Server::start("1");
    let output = Command::new(env!("CARGO_BIN_EXE_stress"))
        .args(["--server", &server.addr.to_string()])
        .args(["--connections", "100", "--messages", "10", "--size", "200"])
        .output()
        .expect("run stress");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("connected at once: 100 of 100"), "{stdout}");
    assert!(
        stdout.contains("echoes matched:    1000 of 1000 byte for byte (0 different)"),
        "{stdout}"
    );
    assert!(stdout.contains("round trips:       1000 in"), "{stdout}");
    assert!(stdout.contains("p50") && stdout.contains("p99"), "{stdout}");
}

/// One worker thread, as the kernel counts them: a hundred connections,
/// each with its coroutine, add no thread to the server, and each
/// `--workers` adds exactly one.
#[test]
fn a_hundred_connections_add_no_thread_and_each_worker_adds_one() {
    let server = Server::start("1");
    let idle = threads(&server);
    let mut clients: Vec<TcpStream> = (0..100).map(|_| connect(&server)).collect();
    // One round trip each: every connection has been accepted and its
    // coroutine is running (parked in a read) while we count.
    for (i, client) in clients.iter_mut().enumerate() {
        let message = format!("client {i}");
        assert_eq!(round_trip(client, message.as_bytes()), message.as_bytes());
    }
    assert_eq!(threads(&server), idle, "threads with 100 clients vs idle");
    drop(clients);

    let two = Server::start("2");
    assert_eq!(threads(&two), idle + 1, "--workers 2 vs --workers 1");
}

#[test]
fn clients_that_vanish_mid_message_leave_the_server_serving() {
    let mut server = Server::start("1");
    let mut survivor = connect(&server);
    assert_eq!(round_trip(&mut survivor, b"before"), b"before");
    // The descriptors of a server serving only the survivor.
    let serving_one = open_fds(&server);

    // 1. Sends half a message and resets the connection (SO_LINGER 0 makes
    //    close send RST instead of FIN), as a crashed client's kernel does.
    let reset = connect(&server);
    (&reset).write_all(b"half a mess").expect("send");
    SockRef::from(&reset)
        .set_linger(Some(Duration::ZERO))
        .expect("linger 0");
    drop(reset);

    // 2. Sends 64 KiB and closes without reading the echo. Closing with
    //    unread data makes the kernel send a reset, so the server's writes
    //    meet a dead socket (broken pipe or connection reset). 64 KiB fits
    //    in the socket buffers, so this write cannot wait for the server.
    let mut deaf = connect(&server);
    deaf.set_write_timeout(Some(Duration::from_secs(10)))
        .expect("set a timeout");
    deaf.write_all(&vec![b'x'; 64 * 1024]).expect("send 64 KiB");
    drop(deaf);

    // 3. Connects and disconnects without a word.
    drop(connect(&server));

    // The server has handled all three: it closed their sockets, which
    // the kernel shows as its descriptors back to what they were.
    wait_for_fds(&server, serving_one);

    // The server is alive, the old connection still works, new ones too.
    assert!(server.is_running(), "the server died");
    assert_eq!(round_trip(&mut survivor, b"after"), b"after");
    let mut newcomer = connect(&server);
    assert_eq!(round_trip(&mut newcomer, b"hello again"), b"hello again");
    assert!(server.is_running(), "the server died");
}

#[test]
fn a_client_that_closes_gets_everything_echoed_then_eof() {
    let server = Server::start("1");
    let mut stream = connect(&server);
    stream.write_all(b"last words").expect("send");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let mut everything = Vec::new();
    stream
        .read_to_end(&mut everything)
        .expect("read to the end");
    assert_eq!(everything, b"last words");
}

#[test]
fn the_interactive_client_echoes_each_line() {
    let server = Server::start("1");
    let mut client = Command::new(env!("CARGO_BIN_EXE_lesson-05-client"))
        .args(["--server", &server.addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client");
    client
        .stdin
        .take()
        .expect("piped stdin")
        .write_all("hello\n\nnǐ hǎo, 世界\n".as_bytes())
        .expect("type");
    let output = client.wait_with_output().expect("wait for the client");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "echo: hello\necho: nǐ hǎo, 世界\n"
    );
}

#[test]
fn a_second_server_on_a_port_in_use_fails_clearly() {
    let server = Server::start("1");
    let output = Command::new(env!("CARGO_BIN_EXE_lesson-05-server"))
        .args(["--listen", &server.addr.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run a second server");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {}", server.addr)),
        "{stderr}"
    );
}

#[test]
fn clients_without_a_server_say_where_they_tried() {
    // A port that was free a moment ago: bind, note it, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port");
    let output = Command::new(env!("CARGO_BIN_EXE_lesson-05-client"))
        .args(["--server", &addr.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run the client");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("could not connect to {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("just run lesson-05 server"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_stress"))
        .args(["--server", &addr.to_string(), "-c", "3", "-m", "1"])
        .output()
        .expect("run stress");
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("connected at once: 0 of 3"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("connect:"));
}
