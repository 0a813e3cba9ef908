//! Both clients, run for real against the delay server: every body arrives
//! whole, the concurrent run takes about the longest delay instead of the
//! sum, and a URL that fails is reported without stopping the others.
//!
//! Only loopback URLs: never the internet.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use lesson_04_io_switch::delay_server;
use support::testkit::run_timed;

/// One delay server for this test binary, in a thread of the test process.
fn server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| delay_server::start_in_background().expect("start the delay server"))
}

fn url(delay_ms: u64, bytes: u64) -> String {
    format!("http://{}/delay/{delay_ms}/bytes/{bytes}", server())
}

/// A URL nothing listens on: a port that was free a moment ago.
fn refused_url() -> String {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port");
    format!("http://{addr}/delay/10/bytes/10")
}

fn run(bin: &str, args: &[String]) -> (Output, String) {
    let output = Command::new(bin)
        .args(args)
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// `sequential: N ms (...)` from the summary.
fn millis(stdout: &str, label: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix(label)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"))
}

/// The three downloads: (delay ms, bytes).
const PAGES: [(u64, u64); 3] = [(150, 10_000), (300, 300_000), (200, 50_000)];

fn both_runs_complete_and_overlap(bin: &str) {
    let urls: Vec<String> = PAGES.iter().map(|&(ms, bytes)| url(ms, bytes)).collect();
    let (output, stdout) = run(bin, &urls);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every body arrives complete, in both runs.
    for (&(_, bytes), url) in PAGES.iter().zip(&urls) {
        let line = format!("  {bytes} bytes from {url} in ");
        assert_eq!(stdout.matches(&line).count(), 2, "{line}\n{stdout}");
    }
    let sum: u64 = PAGES.iter().map(|&(ms, _)| ms).sum();
    let longest = PAGES.iter().map(|&(ms, _)| ms).max().unwrap_or(0);
    let sequential = millis(&stdout, "sequential:");
    let concurrent = millis(&stdout, "concurrent:");
    assert!(sequential >= sum, "one by one adds the delays\n{stdout}");
    assert!(concurrent >= longest, "{stdout}");
    // Near the longest delay, far from the sum (650 ms): generous for CI.
    assert!(
        concurrent < longest + 150,
        "at once overlaps the delays\n{stdout}"
    );
    assert!(stdout.contains("(360000 bytes, 0 failed)"), "{stdout}");
    the_test_clock_agrees(bin, &urls);
}

/// The same run, timed from outside: the test's clock notes when each line
/// arrives. One by one, the last body cannot arrive before the delays add
/// up; at once, every body arrives within less than their sum after the
/// run is announced. A client that printed a made-up "at once" timeline
/// for downloads made one by one would fail here.
fn the_test_clock_agrees(bin: &str, urls: &[String]) {
    let timed = run_timed(bin, urls);
    assert!(timed.finished.success(), "{timed}");
    let sum: u64 = PAGES.iter().map(|&(ms, _)| ms).sum();
    let sum = Duration::from_millis(sum);
    let bodies = timed.arrivals(" bytes from ");
    assert_eq!(bodies.len(), 2 * PAGES.len(), "{timed}");
    let (one_by_one, at_once) = bodies.split_at(PAGES.len());
    // From the start of the process.
    assert!(one_by_one[PAGES.len() - 1] >= sum, "{timed}");
    // From the line that announces the concurrent run.
    let announced = timed.arrival("At once", 0);
    assert!(at_once[PAGES.len() - 1] - announced < sum, "{timed}");
}

#[test]
fn may_coroutines_fetch_everything_and_overlap_the_waits() {
    both_runs_complete_and_overlap(env!("CARGO_BIN_EXE_fetch"));
}

#[test]
fn tokio_tasks_fetch_everything_and_overlap_the_waits() {
    both_runs_complete_and_overlap(env!("CARGO_BIN_EXE_fetch-async"));
}

fn a_failing_url_does_not_stop_the_others(bin: &str) {
    let good = url(50, 4_321);
    let missing = format!("http://{}/no/such/page", server());
    let refused = refused_url();
    // https to a server that speaks plain HTTP: the TLS handshake fails.
    // (It also proves that TLS is set up: a missing crypto provider or a
    // coroutine stack too small for rustls would crash instead.)
    let not_tls = format!("https://{}/delay/10/bytes/10", server());
    let urls = [
        refused.clone(),
        good.clone(),
        missing.clone(),
        not_tls.clone(),
    ];
    let (output, stdout) = run(bin, &urls);
    assert!(
        !output.status.success(),
        "failures make the exit code non-zero"
    );
    assert_eq!(
        stdout.matches(&format!("  4321 bytes from {good}")).count(),
        2,
        "{stdout}"
    );
    for failing in [&refused, &missing, &not_tls] {
        let row = format!("  FAILED {failing}: ");
        assert_eq!(stdout.matches(&row).count(), 2, "{row}\n{stdout}");
    }
    assert!(stdout.contains("404"), "{stdout}");
    assert!(stdout.contains("refused"), "{stdout}");
    assert!(stdout.contains("(4321 bytes, 3 failed)"), "{stdout}");
}

#[test]
fn may_a_failing_url_does_not_stop_the_others() {
    a_failing_url_does_not_stop_the_others(env!("CARGO_BIN_EXE_fetch"));
}

#[test]
fn tokio_a_failing_url_does_not_stop_the_others() {
    a_failing_url_does_not_stop_the_others(env!("CARGO_BIN_EXE_fetch-async"));
}

#[test]
fn with_no_urls_both_clients_use_an_in_process_delay_server() {
    // Both at once: each takes about 2.6 s.
    let children: Vec<Child> = [
        env!("CARGO_BIN_EXE_fetch"),
        env!("CARGO_BIN_EXE_fetch-async"),
    ]
    .into_iter()
    .map(|bin| {
        Command::new(bin)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a client")
    })
    .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait for the client");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(
            stdout.starts_with("no URLs given: fetching from a delay server started on 127.0.0.1:")
        );
        assert!(stdout.contains("(688000 bytes, 0 failed)"), "{stdout}");
        let sequential = millis(&stdout, "sequential:");
        let concurrent = millis(&stdout, "concurrent:");
        assert!(sequential >= 1800 && concurrent >= 800, "{stdout}");
        assert!(concurrent < sequential, "{stdout}");
    }
}

/// The delay-server program, killed when dropped.
struct DelayServer(Child);

impl Drop for DelayServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    String::from_utf8(response).expect("text")
}

#[test]
fn the_delay_server_program_answers_as_its_paths_say() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_delay-server"))
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start delay-server");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = DelayServer(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .expect("says where")
        .to_string();

    let ok = get(&addr, "/delay/20/bytes/5000");
    let (head, body) = ok.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Length: 5000"), "{head}");
    assert_eq!(body.len(), 5000);

    assert!(get(&addr, "/nope").starts_with("HTTP/1.1 404 Not Found"));
    assert!(get(&addr, "/").contains("/delay/{ms}/bytes/{n}"));
    drop(server);
}
