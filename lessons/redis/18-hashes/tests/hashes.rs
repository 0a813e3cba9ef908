//! Every hash command of the lesson, with the reply a real Redis gives, and
//! HSCAN walking a big hash in several steps without missing a field.

use std::collections::BTreeSet;
use std::process::Command;

use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_18_hashes as lesson;

#[test]
fn hset_reports_new_fields_and_hsetnx_keeps_old_ones() {
    let t = redis_tour(lesson::hset);
    assert_exchanges(
        &t,
        &[
            ("HSET P:user name alex", "(integer) 1"),
            ("HSET P:user name alexander", "(integer) 0"),
            ("HSETNX P:user name bob", "(integer) 0"),
            ("HSETNX P:user age 30", "(integer) 1"),
        ],
    );
}

#[test]
fn all_the_reads_of_a_hash() {
    let t = redis_tour(|con, keys| {
        lesson::hset(con, keys)?;
        lesson::hset_many(con, keys)?;
        lesson::hget_hmget(con, keys)?;
        lesson::hgetall(con, keys)?;
        lesson::hlen_hkeys_hvals(con, keys)?;
        lesson::hexists(con, keys)
    });
    assert_exchanges(
        &t.skip(4),
        &[
            ("HMSET P:user city Beijing lang rust", "OK"),
            (
                "HSET P:user email alex@example.com role teacher",
                "(integer) 2",
            ),
            ("HGET P:user name", "\"alexander\""),
            ("HGET P:user nickname", "(nil)"),
            (
                "HMGET P:user name age nickname",
                "1) \"alexander\"\n2) \"30\"\n3) (nil)",
            ),
            (
                "HGETALL P:user",
                " 1) \"name\"\n 2) \"alexander\"\n 3) \"age\"\n 4) \"30\"\n \
                 5) \"city\"\n 6) \"Beijing\"\n 7) \"lang\"\n 8) \"rust\"\n \
                 9) \"email\"\n10) \"alex@example.com\"\n11) \"role\"\n12) \"teacher\"",
            ),
            ("HLEN P:user", "(integer) 6"),
            (
                "HKEYS P:user",
                "1) \"name\"\n2) \"age\"\n3) \"city\"\n4) \"lang\"\n5) \"email\"\n6) \"role\"",
            ),
            (
                "HVALS P:user",
                "1) \"alexander\"\n2) \"30\"\n3) \"Beijing\"\n4) \"rust\"\n\
                 5) \"alex@example.com\"\n6) \"teacher\"",
            ),
            ("HEXISTS P:user email", "(integer) 1"),
            ("HEXISTS P:user nickname", "(integer) 0"),
        ],
    );
    assert!(t.text.contains(r#"("alexander", 30, None)"#), "{}", t.text);
}

#[test]
fn hdel_and_the_counters() {
    let t = redis_tour(|con, keys| {
        lesson::hset(con, keys)?;
        lesson::hset_many(con, keys)?;
        lesson::hdel(con, keys)?;
        lesson::hincrby(con, keys)?;
        lesson::hincrbyfloat(con, keys)
    });
    assert_exchanges(
        &t.skip(6),
        &[
            ("HDEL P:user email role nickname", "(integer) 2"),
            ("HLEN P:user", "(integer) 4"),
            ("HINCRBY P:user age 1", "(integer) 31"),
            ("HINCRBY P:user visits 5", "(integer) 5"),
            ("HINCRBYFLOAT P:user balance 10.5", "\"10.5\""),
            ("HINCRBYFLOAT P:user balance -0.25", "\"10.25\""),
        ],
    );
}

/// The manual HSCAN loop takes several steps, starts and ends at cursor 0,
/// and finds each matching field: order_1, order_10..19, order_100..199
/// and order_1000.
#[test]
fn hscan_walks_the_big_hash_in_steps_and_finds_every_match() {
    let mut found = BTreeSet::new();
    let t = redis_tour(|con, keys| {
        found = lesson::hscan(con, keys)?;
        Ok(())
    });
    let expected: BTreeSet<String> = (1..=lesson::ORDERS)
        .map(|n| format!("order_{n}"))
        .filter(|f| f.starts_with("order_1"))
        .collect();
    assert_eq!(expected.len(), 112);
    assert_eq!(found, expected);

    assert_eq!(t.exchanges[0].shown, "(integer) 1000");
    assert_eq!(t.exchanges[1].command, "OBJECT ENCODING P:orders");
    assert_eq!(t.exchanges[1].shown, "\"hashtable\"");
    let scans = &t.exchanges[2..];
    assert!(scans.len() > 1, "one step only: {}", t.text);
    assert_eq!(
        scans[0].command,
        "HSCAN P:orders 0 MATCH order_1* COUNT 200"
    );
    assert!(scans.last().unwrap().shown.starts_with("1) \"0\"\n"));
    for pair in scans.windows(2) {
        // Each call sends the cursor the previous reply handed back.
        let (cursor, _): (String, redis::Value) =
            redis::from_redis_value(pair[0].value.clone()).unwrap();
        assert!(
            pair[1]
                .command
                .starts_with(&format!("HSCAN P:orders {cursor} "))
        );
    }
}

#[test]
fn the_hscan_iterator_sees_every_matching_field_once() {
    let mut result = (0, 0);
    let t = redis_tour(|con, keys| {
        result = lesson::hscan_iter(con, keys)?;
        Ok(())
    });
    // order_2, order_20..29, order_200..299: 111 fields.
    let expected_total: usize = (1..=lesson::ORDERS)
        .filter(|n| n.to_string().starts_with('2'))
        .map(|n| n * 10)
        .sum();
    assert_eq!(result, (111, expected_total));
    let scans = t
        .commands()
        .iter()
        .filter(|c| c.starts_with("HSCAN"))
        .count();
    assert!(scans > 1, "the iterator should have made several calls");
}

#[test]
fn the_program_runs_the_whole_tour_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run18");
    let output = Command::new(env!("CARGO_BIN_EXE_hashes"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run hashes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== hset(name, key, value) and hsetnx(name, key, value) ==",
            "== hmset(name, mapping), and HSET with many fields ==",
            "== hget(name, key) and hmget(name, keys) ==",
            "== hgetall(name) ==",
            "== hlen(name), hkeys(name), hvals(name) ==",
            "== hexists(name, key) ==",
            "== hdel(name, *keys) ==",
            "== hincrby(name, key, amount) ==",
            "== hincrbyfloat(name, key, amount) ==",
            "== hscan(name, cursor, match, count) ==",
            "== hscan_iter(name, match, count) ==",
        ]
    );
    let mut con = support::redis::connect(&server.url()).unwrap();
    let left = support::redis::KeySpace::new(&prefix)
        .existing(&mut con)
        .unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}
