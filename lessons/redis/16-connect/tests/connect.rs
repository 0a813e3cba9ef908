//! One connection answers; many workers sharing a few connections lose no
//! increment, whichever way they share them; a server that is not there is
//! reported with its address and how to start it.

use std::net::TcpListener;
use std::process::Command;

use support::redis::KeySpace;
use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_16_connect as lesson;

/// A fresh key space and the connections a pool test needs.
fn setup(name: &str) -> (redis::Client, redis::Connection, KeySpace, String) {
    let url = shared_redis().url();
    let client = support::redis::client(&url).unwrap();
    let observer = support::redis::connect(&url).unwrap();
    let keys = KeySpace::new(&unique_name(name));
    let counter = keys.key("counter");
    (client, observer, keys, counter)
}

#[test]
fn one_connection_sets_gets_and_names_itself() {
    let t = redis_tour(lesson::one_connection);
    assert_exchanges(
        &t,
        &[
            ("SET P:foo Bar", "OK"),
            ("GET P:foo", "\"Bar\""),
            ("PING", "PONG"),
            ("CLIENT SETNAME P-connect", "OK"),
            ("CLIENT ID", "*"),
            ("CLIENT INFO", "*"),
            ("INFO server", "*"),
        ],
    );
    let info: String = redis::from_redis_value(t.exchanges[5].value.clone()).unwrap();
    // The raw reply still has the real prefix (only the shown text says P).
    assert!(
        info.split_whitespace()
            .any(|f| f.starts_with("name=tour-") && f.ends_with("-connect")),
        "{info}"
    );
    assert!(
        t.text
            .contains("# (INFO server, not shown) redis_version: ")
    );
}

/// The numbers: 32 threads × 1,000 INCR through an r2d2 pool of 8
/// end at exactly 32,000, over no more than 8 connections.
#[test]
fn r2d2_pool_32_threads_1000_incrs_each_end_at_32000() {
    let (client, mut observer, keys, counter) = setup("r2d2");
    let run = lesson::with_r2d2(&client, &mut observer, &keys, &counter, (32, 1000, 8)).unwrap();
    assert_eq!(run.counter, 32_000);
    assert_eq!(run.expected(), 32_000);
    assert!((1..=8).contains(&run.connections), "{run}");
    keys.cleanup(&mut observer).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_one_multiplexed_connection_lose_nothing() {
    let (client, mut observer, keys, counter) = setup("multiplexed");
    let run = lesson::with_multiplexed(&client, &mut observer, &keys, &counter, (32, 300))
        .await
        .unwrap();
    assert_eq!(run.counter, 32 * 300);
    assert_eq!(run.connections, 1, "{run}");
    keys.cleanup(&mut observer).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_a_bb8_pool_lose_nothing() {
    let (client, mut observer, keys, counter) = setup("bb8");
    let run = lesson::with_bb8(&client, &mut observer, &keys, &counter, (32, 300, 4))
        .await
        .unwrap();
    assert_eq!(run.counter, 32 * 300);
    assert!((1..=4).contains(&run.connections), "{run}");
    keys.cleanup(&mut observer).unwrap();
}

#[test]
fn a_connection_per_incr_loses_nothing_either() {
    let (client, mut observer, keys, counter) = setup("fresh");
    let run = lesson::without_pool(&client, &counter, 4, 10).unwrap();
    assert_eq!((run.counter, run.connections), (40, 40));
    keys.cleanup(&mut observer).unwrap();
}

#[test]
fn the_pool_program_compares_all_four_ways_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run16");
    let output = Command::new(env!("CARGO_BIN_EXE_pool"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .args(["--workers", "4", "--incrs", "50", "--fresh-incrs", "5"])
        .output()
        .expect("run pool");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" INCR -> counter "))
        .collect();
    assert_eq!(results.len(), 4, "{stdout}");
    assert!(results[0].contains("4 x 5 INCR -> counter 20 (expected 20), 20 connection(s)"));
    for line in &results[1..] {
        assert!(
            line.contains("4 x 50 INCR -> counter 200 (expected 200)"),
            "{line}"
        );
    }
    assert!(results[2].contains(", 1 connection(s),"), "{}", results[2]);
    assert!(!stdout.contains("LOST UPDATES"));
    let mut con = support::redis::connect(&server.url()).unwrap();
    assert!(
        KeySpace::new(&prefix)
            .existing(&mut con)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_connect_program_shows_foo_bar() {
    let server = shared_redis();
    let prefix = unique_name("run16c");
    let output = Command::new(env!("CARGO_BIN_EXE_connect"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run connect");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    // The URL carries the test server's password, which is never printed.
    let shown = support::redact(&server.url());
    assert!(shown.contains(":***@"), "{shown}");
    assert!(stdout.starts_with(&format!("connecting to {shown}\n")));
    assert!(stdout.contains(&format!("> GET {prefix}:foo\n  \"Bar\"\n")));
}

/// Nothing listens on the port: the error names the address and says how
/// to start Redis, and no panic trace appears.
#[test]
fn a_server_that_is_down_is_reported_with_its_address_and_the_hint() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let url = format!("redis://127.0.0.1:{port}/");
    for program in [env!("CARGO_BIN_EXE_connect"), env!("CARGO_BIN_EXE_pool")] {
        let output = Command::new(program)
            .args(["--url", &url])
            .output()
            .expect("run the program");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("could not reach Redis at {url}"))
                && stderr.contains("just up")
                && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}
