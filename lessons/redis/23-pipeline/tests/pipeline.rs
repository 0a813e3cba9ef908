//! Pipelines and transactions send what they should and get every reply;
//! concurrent WATCH/MULTI transfers never create or lose money, though the
//! server aborted some of them, and the same load without WATCH does.
//!
//! Speeds are not asserted here (a loaded CI machine makes any bound
//! flaky): `just bench redis` measures them side by side.

use std::process::Command;

use support::redis::KeySpace;
use support::testkit::{RedisServer, assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_23_pipeline as lesson;
use lesson_23_pipeline::Transfer;

#[test]
fn the_notes_transaction_is_multi_sets_exec_in_one_go() {
    let t = redis_tour(lesson::notes_transaction);
    assert_exchanges(
        &t,
        &[
            ("EXEC", "1) OK\n2) OK"),
            ("GET P:name", "\"alex\""),
            ("GET P:role", "\"teacher\""),
        ],
    );
    // All four commands of the transaction left in one write, before the
    // reply: they are printed together, then EXEC's answer.
    assert!(
        t.text.contains(
            "> MULTI\n> SET P:name alex\n> SET P:role teacher\n> EXEC\n  1) OK\n  2) OK\n"
        ),
        "{}",
        t.text
    );
    assert!(
        t.text
            .contains("> GET P:name\n> GET P:role\n  \"alex\"\n  \"teacher\"\n")
    );
}

#[test]
fn every_way_of_sending_writes_every_key() {
    let server = shared_redis();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let keys = KeySpace::new(&unique_name("ways"));
    type Way = fn(&mut redis::Connection, &KeySpace) -> redis::RedisResult<lesson::Timing>;
    let ways: [Way; 4] = [
        |con, keys| lesson::by_round_trips(con, keys, 300),
        |con, keys| lesson::by_pipeline(con, keys, 300, 300),
        |con, keys| lesson::by_pipeline(con, keys, 300, 16),
        |con, keys| lesson::by_transaction(con, keys, 300),
    ];
    for way in ways {
        let timing = way(&mut con, &keys).unwrap();
        let written = keys.existing(&mut con).unwrap();
        assert_eq!(written.len(), 300, "{}", timing.how);
        let last: usize = redis::Commands::get(&mut con, keys.key("set:299")).unwrap();
        assert_eq!(last, 299);
        keys.cleanup(&mut con).unwrap();
    }
}

#[test]
fn a_transfer_moves_money_or_is_refused() {
    let server = shared_redis();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let keys = KeySpace::new(&unique_name("one-transfer"));
    let (a, b) = (keys.key("a"), keys.key("b"));
    let () = redis::Commands::mset(&mut con, &[(&a, 10), (&b, 0)]).unwrap();
    assert_eq!(
        lesson::transfer(&mut con, &a, &b, 7).unwrap(),
        Transfer::Done { retries: 0 }
    );
    assert_eq!(
        lesson::transfer(&mut con, &a, &b, 7).unwrap(),
        Transfer::Refused
    );
    let balances: (i64, i64) = redis::Commands::mget(&mut con, &[&a, &b]).unwrap();
    assert_eq!(balances, (3, 7));
    keys.cleanup(&mut con).unwrap();
}

/// How many times the server has run `command` (`INFO commandstats`). An
/// EXEC that WATCH aborted counts too: the server ran it, and it answered
/// nil.
fn calls(con: &mut redis::Connection, command: &str) -> u32 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    let line = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Both balances, as the server holds them.
fn total(con: &mut redis::Connection, keys: &KeySpace) -> i64 {
    let (a, b): (i64, i64) =
        redis::Commands::mget(con, &[keys.key("account:a"), keys.key("account:b")]).unwrap();
    a + b
}

/// How many times the race is run before concluding that the load made no
/// conflict at all (on an idle machine the first run has plenty).
const RACES: usize = 10;

/// The proof: many clients transferring at once, with WATCH and
/// MULTI/EXEC, keep the total exactly as it was, although the contention
/// was real: the server aborted some EXECs (retries), and counted every
/// attempt. On a server of the test's own, so that its command counters
/// hold this race's commands only.
#[test]
fn concurrent_watched_transfers_keep_the_total_through_real_conflicts() {
    let server = RedisServer::start().unwrap();
    let client = support::redis::client(&server.url()).unwrap();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let mut retried = false;
    for race in 0..RACES {
        let keys = KeySpace::new(&format!("race{race}"));
        let (watches, execs) = (calls(&mut con, "watch"), calls(&mut con, "exec"));
        let report = lesson::transfers_at_once(&client, &keys, (8, 100), true).unwrap();
        assert_eq!(total(&mut con, &keys), 2000, "{report:?}");
        // Every attempt WATCHed; every attempt that had the money ran EXEC,
        // and the ones the server aborted are the retries.
        let (watches, execs) = (
            calls(&mut con, "watch") - watches,
            calls(&mut con, "exec") - execs,
        );
        assert_eq!(execs, report.done + report.retries, "{report:?}");
        assert_eq!(
            watches,
            report.done + report.refused + report.retries,
            "{report:?}"
        );
        if report.retries > 0 {
            retried = true;
            break;
        }
    }
    assert!(
        retried,
        "no transaction was ever retried in {RACES} races: the clients never conflicted"
    );
}

/// The same load without WATCH: read, then write. Debits get overwritten
/// while their credits land, and the total changes (in one of a few races
/// at least: a conflict needs two clients to interleave).
#[test]
fn the_same_load_without_watch_loses_updates() {
    let server = shared_redis();
    let client = support::redis::client(&server.url()).unwrap();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let mut totals = Vec::new();
    for _ in 0..RACES {
        let keys = KeySpace::new(&unique_name("naive"));
        lesson::transfers_at_once(&client, &keys, (8, 100), false).unwrap();
        totals.push(total(&mut con, &keys));
        keys.cleanup(&mut con).unwrap();
        if totals.last() != Some(&2000) {
            break;
        }
    }
    assert_ne!(
        totals.last(),
        Some(&2000),
        "no update lost in {RACES} races: {totals:?}"
    );
}

#[test]
fn the_program_times_three_ways_and_races_two() {
    let server = shared_redis();
    let prefix = unique_name("run23");
    let output = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .args(["--sets", "200", "--workers", "4", "--transfers", "20"])
        .output()
        .expect("run pipeline");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for how in [
        "# one by one (a round trip each)",
        "# one pipeline ",
        "# pipelines of 16 ",
        "# one MULTI/EXEC transaction ",
    ] {
        assert!(stdout.contains(how), "no `{how}` in\n{stdout}");
    }
    assert!(stdout.contains(&format!("> GET {prefix}:set:199\n  \"199\"\n")));
    let watched = stdout
        .lines()
        .find(|l| l.starts_with("# with WATCH"))
        .expect("the WATCH race");
    assert!(
        watched.contains("total 2000 -> 2000 (the total is intact)"),
        "{watched}"
    );
    let mut con = support::redis::connect(&server.url()).unwrap();
    assert!(
        KeySpace::new(&prefix)
            .existing(&mut con)
            .unwrap()
            .is_empty()
    );
}
