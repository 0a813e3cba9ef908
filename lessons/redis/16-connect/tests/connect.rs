//! One connection answers; many workers sharing a few connections lose no
//! increment, whichever way they share them; a server that is not there is
//! reported with its address and how to start it.

use std::net::TcpListener;
use std::process::Command;

use support::redis::KeySpace;
use support::testkit::{RedisServer, assert_exchanges, redis_tour, shared_redis, unique_name};

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
    // Read back by the test itself, not taken from the run's report.
    let counter: i64 = redis::Commands::get(&mut observer, &counter).unwrap();
    assert_eq!(counter, 32_000, "{run}");
    assert!((1..=8).contains(&run.connections), "{run}");
    keys.cleanup(&mut observer).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_one_multiplexed_connection_lose_nothing() {
    let (client, mut observer, keys, counter) = setup("multiplexed");
    let run = lesson::with_multiplexed(&client, &mut observer, &keys, &counter, (32, 300))
        .await
        .unwrap();
    let counter: i64 = redis::Commands::get(&mut observer, &counter).unwrap();
    assert_eq!(counter, 32 * 300, "{run}");
    assert_eq!(run.connections, 1, "{run}");
    keys.cleanup(&mut observer).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_a_bb8_pool_lose_nothing() {
    let (client, mut observer, keys, counter) = setup("bb8");
    let run = lesson::with_bb8(&client, &mut observer, &keys, &counter, (32, 300, 4))
        .await
        .unwrap();
    let counter: i64 = redis::Commands::get(&mut observer, &counter).unwrap();
    assert_eq!(counter, 32 * 300, "{run}");
    assert!((1..=4).contains(&run.connections), "{run}");
    keys.cleanup(&mut observer).unwrap();
}

/// A server of this test's own, so that no other test's connection is
/// counted: it accepts exactly one connection per INCR, and the counter it
/// holds has every one of them.
#[test]
fn a_connection_per_incr_loses_nothing_either() {
    let server = RedisServer::start().unwrap();
    let client = support::redis::client(&server.url()).unwrap();
    let mut observer = support::redis::connect(&server.url()).unwrap();
    let key = "fresh:counter";
    let accepted_before = lesson::connections_accepted(&mut observer).unwrap();
    let run = lesson::without_pool(&client, &mut observer, key, (4, 10)).unwrap();
    let accepted_after = lesson::connections_accepted(&mut observer).unwrap();
    assert_eq!(accepted_after - accepted_before, 40, "{run}");
    assert_eq!(run.connections, 40, "{run}");
    let counter: i64 = redis::Commands::get(&mut observer, key).unwrap();
    assert_eq!(counter, 40);
}

/// On a server of its own, so that the connections the program reports
/// are its own (the server counts every client's).
#[test]
fn the_pool_program_compares_all_four_ways_and_cleans_up() {
    let server = RedisServer::start().unwrap();
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
    assert!(
        results[0].contains("4 x 5 INCR -> counter 20 (expected 20), 20 connection(s)"),
        "{}",
        results[0]
    );
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

/// The chapter's suggestion, `pool --workers 100 --size 2`: 100 workers
/// wait for 2 connections, which is the point, so every way must run to
/// its end (bb8's wait for a connection fits the whole run), lose nothing,
/// and the bb8 run must have used no more than its 2 connections.
#[test]
fn a_hundred_workers_on_two_connections_run_to_the_end() {
    let server = shared_redis();
    let prefix = unique_name("run16busy");
    let output = Command::new(env!("CARGO_BIN_EXE_pool"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .args(["--workers", "100", "--size", "2"])
        .output()
        .expect("run pool");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" INCR -> counter "))
        .collect();
    assert_eq!(results.len(), 4, "{stdout}");
    assert!(results[0].contains("100 x 20 INCR -> counter 2000 (expected 2000)"));
    for line in &results[1..] {
        assert!(
            line.contains("100 x 1000 INCR -> counter 100000 (expected 100000)"),
            "{line}"
        );
    }
    assert!(results[3].contains("bb8 pool of 2"), "{}", results[3]);
    assert!(
        results[3].contains(", 2 connection(s),") || results[3].contains(", 1 connection(s),"),
        "{}",
        results[3]
    );
    assert!(!stdout.contains("LOST UPDATES"));
}
