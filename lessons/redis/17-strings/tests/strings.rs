//! Every string command of the lesson, with the reply a real Redis gives.
//!
//! Each test runs one group of the tour against the shared throwaway
//! `redis-server` of this test binary, under a prefix of its own, and
//! compares the transcript (command, reply) with what Redis must answer.
//! The prefix shows as `P`.

use std::process::Command;

use redis::Value;
use support::redis::{KeySpace, Transcript};
use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_17_strings as lesson;

/// The integer reply of the `n`th exchange (for time-dependent values).
fn int(t: &Transcript, n: usize) -> i64 {
    match t.exchanges[n].value {
        Value::Int(i) => i,
        ref other => panic!("exchange {n} is not an integer: {other:?}"),
    }
}

#[test]
fn set_with_expiry_and_conditions() {
    let t = redis_tour(lesson::set);
    assert_exchanges(
        &t,
        &[
            ("SET P:name alex", "OK"),
            ("GET P:name", "\"alex\""),
            ("SET P:name bob NX", "(nil)"),
            ("SET P:name bob XX", "OK"),
            ("SET P:nobody x XX", "(nil)"),
            ("SET P:session token-1 EX 30", "OK"),
            ("TTL P:session", "*"),
            ("SET P:flash hello PX 1500", "OK"),
            ("PTTL P:flash", "*"),
        ],
    );
    assert!((29..=30).contains(&int(&t, 6)), "TTL {}", int(&t, 6));
    assert!((1..=1500).contains(&int(&t, 8)), "PTTL {}", int(&t, 8));
}

#[test]
fn setnx_takes_a_lock_once() {
    let t = redis_tour(lesson::setnx);
    assert_exchanges(
        &t,
        &[
            ("SETNX P:lock worker-1", "(integer) 1"),
            ("SETNX P:lock worker-2", "(integer) 0"),
            ("GET P:lock", "\"worker-1\""),
            ("SET P:lock2 worker-1 NX EX 30", "OK"),
        ],
    );
}

#[test]
fn setex_and_psetex_give_a_lifetime() {
    let t = redis_tour(|con, keys| {
        lesson::setex(con, keys)?;
        lesson::psetex(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SETEX P:code 60 8421", "OK"),
            ("TTL P:code", "*"),
            ("PSETEX P:code-ms 1500 8421", "OK"),
            ("PTTL P:code-ms", "*"),
        ],
    );
    assert!((59..=60).contains(&int(&t, 1)));
    assert!((1..=1500).contains(&int(&t, 3)));
}

#[test]
fn mset_then_mget_with_a_missing_key() {
    let t = redis_tour(lesson::mset_mget);
    assert_exchanges(
        &t,
        &[
            ("MSET P:k1 v1 P:k2 v2", "OK"),
            ("MGET P:k1 P:k2 P:missing", "1) \"v1\"\n2) \"v2\"\n3) (nil)"),
        ],
    );
}

#[test]
fn getset_and_set_get_return_the_old_value() {
    let t = redis_tour(lesson::getset);
    assert_exchanges(
        &t,
        &[
            ("SET P:counter 10", "OK"),
            ("GETSET P:counter 0", "\"10\""),
            ("SET P:counter 5 GET", "\"0\""),
            ("GET P:counter", "\"5\""),
        ],
    );
}

#[test]
fn getrange_counts_bytes_not_characters() {
    let t = redis_tour(lesson::getrange);
    assert_exchanges(
        &t,
        &[
            ("SET P:title 事件驱动", "OK"),
            ("GETRANGE P:title 0 2", "\"事\""),
            ("GETRANGE P:title 0 1", "\"\\xe4\\xba\""),
            ("SET P:greeting \"hello world\"", "OK"),
            ("GETRANGE P:greeting 0 4", "\"hello\""),
            ("GETRANGE P:greeting -5 -1", "\"world\""),
        ],
    );
}

#[test]
fn setrange_overwrites_and_pads_with_zero_bytes() {
    let t = redis_tour(|con, keys| {
        lesson::getrange(con, keys)?;
        lesson::setrange(con, keys)
    });
    assert_exchanges(
        &t.skip(6),
        &[
            ("SETRANGE P:greeting 6 Redis", "(integer) 11"),
            ("GET P:greeting", "\"hello Redis\""),
            ("SETRANGE P:padded 3 x", "(integer) 4"),
            ("GET P:padded", "\"\\x00\\x00\\x00x\""),
        ],
    );
}

#[test]
fn setbit_turns_foo_into_goo_and_bitcount_counts_bytes_or_bits() {
    let t = redis_tour(|con, keys| {
        lesson::setbit_getbit(con, keys)?;
        lesson::bitcount(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SET P:bits foo", "OK"),
            ("SETBIT P:bits 7 1", "(integer) 0"),
            ("GET P:bits", "\"goo\""),
            ("GETBIT P:bits 7", "(integer) 1"),
            ("GETBIT P:bits 1000", "(integer) 0"),
            ("BITCOUNT P:bits", "(integer) 17"),
            ("BITCOUNT P:bits 0 0", "(integer) 5"),
            ("BITCOUNT P:bits 0 3 BIT", "(integer) 2"),
        ],
    );
}

#[test]
fn the_online_bitmap_counts_and_lists_users() {
    let t = redis_tour(lesson::online_users);
    assert_exchanges(
        &t,
        &[
            ("SETBIT P:online 3 1", "(integer) 0"),
            ("SETBIT P:online 7 1", "(integer) 0"),
            ("SETBIT P:online 1000 1", "(integer) 0"),
            ("BITCOUNT P:online", "(integer) 3"),
            ("GETBIT P:online 7", "(integer) 1"),
            ("GETBIT P:online 8", "(integer) 0"),
            ("STRLEN P:online", "(integer) 126"),
            ("GET P:online", "*"),
        ],
    );
    let Value::BulkString(bitmap) = &t.exchanges[7].value else {
        panic!("GET returned {:?}", t.exchanges[7].value)
    };
    assert_eq!(lesson::set_bits(bitmap), [3, 7, 1000]);
    assert!(t.text.contains("# online user ids: [3, 7, 1000]"));
}

#[test]
fn strlen_counts_bytes() {
    let t = redis_tour(|con, keys| {
        lesson::set(con, keys)?;
        lesson::getrange(con, keys)?;
        lesson::strlen(con, keys)
    });
    let replies: Vec<&str> = t.exchanges[t.exchanges.len() - 3..]
        .iter()
        .map(|e| e.shown.as_str())
        .collect();
    assert_eq!(replies, ["(integer) 3", "(integer) 12", "(integer) 0"]);
}

#[test]
fn counters_go_up_and_down_and_refuse_text() {
    let t = redis_tour(|con, keys| {
        let () = redis::Commands::set(con, keys.key("name"), "alex")?;
        lesson::incr(con, keys)?;
        lesson::incrbyfloat(con, keys)?;
        lesson::decr(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SET P:name alex", "OK"),
            ("INCR P:visits", "(integer) 1"),
            ("INCRBY P:visits 5", "(integer) 6"),
            (
                "INCRBY P:name 1",
                "(error) ERR value is not an integer or out of range",
            ),
            ("INCRBYFLOAT P:price 9.5", "\"9.5\""),
            ("INCRBYFLOAT P:price 0.25", "\"9.75\""),
            ("DECRBY P:visits 2", "(integer) 4"),
            ("DECRBY P:visits 10", "(integer) -6"),
        ],
    );
}

#[test]
fn append_grows_the_value() {
    let t = redis_tour(lesson::append);
    assert_exchanges(
        &t,
        &[
            ("APPEND P:log start;", "(integer) 6"),
            ("APPEND P:log stop;", "(integer) 11"),
            ("GET P:log", "\"start;stop;\""),
        ],
    );
}

/// The program itself: every group in the notes' order, then nothing left
/// behind under its prefix.
#[test]
fn the_program_runs_the_whole_tour_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run17");
    let output = Command::new(env!("CARGO_BIN_EXE_strings"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run strings");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== set(name, value, ex, px, nx, xx) ==",
            "== setnx(name, value) ==",
            "== setex(name, value, time) ==",
            "== psetex(name, time_ms, value) ==",
            "== mset(...) and mget(keys) ==",
            "== getset(name, value) ==",
            "== getrange(key, start, end) ==",
            "== setrange(name, offset, value) ==",
            "== setbit(name, offset, value) and getbit(name, offset) ==",
            "== bitcount(key, start, end) ==",
            "== the online-users bitmap ==",
            "== strlen(name) ==",
            "== incr(name, amount) ==",
            "== incrbyfloat(name, amount) ==",
            "== decr(name, amount) ==",
            "== append(key, value) ==",
        ]
    );
    assert!(stdout.contains(&format!("> SET {prefix}:name alex\n  OK\n")));
    assert!(stdout.contains(&format!("this run left under {prefix}:)")));
    let mut con = support::redis::connect(&server.url()).unwrap();
    let left = support::redis::KeySpace::new(&prefix)
        .existing(&mut con)
        .unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}

/// Keys that are not the run's own are never overwritten or deleted.
#[test]
fn a_prefix_in_use_is_refused_and_left_alone() {
    let server = shared_redis();
    let prefix = unique_name("taken17");
    let mut con = support::redis::connect(&server.url()).unwrap();
    let () = redis::Commands::set(&mut con, format!("{prefix}:name"), "keep me").unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_strings"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run strings");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("1 key(s) already exist under `{prefix}:`"))
            && stderr.contains("--clean"),
        "{stderr}"
    );
    let kept: String = redis::Commands::get(&mut con, format!("{prefix}:name")).unwrap();
    assert_eq!(kept, "keep me");
    let _: usize = redis::Commands::del(&mut con, format!("{prefix}:name")).unwrap();
}

/// Two places where the notes' own description is wrong, checked against
/// the server. GETRANGE: on "武沛齐" the notes say bytes 0-3 are "武", but
/// each of these characters is 3 bytes in UTF-8: bytes 0-2 are "武", and
/// 0-3 are "武" and the first byte of "沛". DECR: the notes say a missing
/// key is created as `amount`; it counts as 0, so it becomes `-amount`.
#[test]
fn where_the_notes_are_wrong_getrange_0_3_and_decr_on_a_missing_key() {
    let server = shared_redis();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let keys = KeySpace::new(&unique_name("notes17"));
    let name = keys.key("name");
    let () = redis::Commands::set(&mut con, &name, "武沛齐").unwrap();
    let first_three: String = redis::Commands::getrange(&mut con, &name, 0, 2).unwrap();
    assert_eq!(first_three, "武");
    let first_four: Vec<u8> = redis::Commands::getrange(&mut con, &name, 0, 3).unwrap();
    assert_eq!(first_four, [0xe6, 0xad, 0xa6, 0xe6]);
    assert!(String::from_utf8(first_four).is_err(), "not text at all");

    let missing = keys.key("missing");
    let after: i64 = redis::Commands::decr(&mut con, &missing, 5).unwrap();
    assert_eq!(after, -5);
    let stored: String = redis::Commands::get(&mut con, &missing).unwrap();
    assert_eq!(stored, "-5");
    keys.cleanup(&mut con).unwrap();
}
