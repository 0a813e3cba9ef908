//! Every set command of the lesson, with the reply a real Redis gives.
//!
//! A set's members come back in an order that depends on how the server
//! stores the set (checked in its own test below), so array replies are
//! compared as sets; random picks are
//! checked for what they promise: members of the set, distinct or not,
//! removed or not.

use std::collections::BTreeSet;
use std::process::Command;

use support::redis::Transcript;
use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_20_sets as lesson;

/// The members in the reply to the `n`th command, as a set.
fn members(t: &Transcript, n: usize) -> BTreeSet<String> {
    redis::from_redis_value(t.exchanges[n].value.clone())
        .unwrap_or_else(|e| panic!("reply {n} is not a list of members: {e}"))
}

/// The same, as a list (to see repeats).
fn picks(t: &Transcript, n: usize) -> Vec<String> {
    redis::from_redis_value(t.exchanges[n].value.clone()).unwrap()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn adding_counting_and_the_set_algebra() {
    let t = redis_tour(|con, keys| {
        lesson::sadd(con, keys)?;
        lesson::scard(con, keys)?;
        lesson::sdiff(con, keys)?;
        lesson::sinter(con, keys)?;
        lesson::sismember(con, keys)?;
        lesson::smembers(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SADD P:python alex bob carol", "(integer) 3"),
            ("SADD P:python alex", "(integer) 0"),
            ("SADD P:rust bob dave", "(integer) 2"),
            ("SCARD P:python", "(integer) 3"),
            ("SCARD P:missing", "(integer) 0"),
            ("SDIFF P:python P:rust", "*"),
            ("SDIFFSTORE P:python-only P:python P:rust", "(integer) 2"),
            ("SINTER P:python P:rust", "1) \"bob\""),
            ("SINTERSTORE P:both P:python P:rust", "(integer) 1"),
            ("SISMEMBER P:python alex", "(integer) 1"),
            ("SISMEMBER P:python dave", "(integer) 0"),
            (
                "SMISMEMBER P:python alex dave",
                "1) (integer) 1\n2) (integer) 0",
            ),
            ("SMEMBERS P:python", "*"),
        ],
    );
    assert_eq!(members(&t, 5), set(&["alex", "carol"]));
    assert_eq!(members(&t, 12), set(&["alex", "bob", "carol"]));
}

#[test]
fn smove_srem_and_sunion() {
    let t = redis_tour(|con, keys| {
        lesson::sadd(con, keys)?;
        lesson::smove(con, keys)?;
        lesson::srem(con, keys)?;
        lesson::sunion(con, keys)
    });
    assert_exchanges(
        &t.skip(3),
        &[
            ("SMOVE P:python P:rust carol", "(integer) 1"),
            ("SMOVE P:python P:rust nobody", "(integer) 0"),
            ("SMEMBERS P:python", "*"),
            ("SMEMBERS P:rust", "*"),
            ("SREM P:rust dave nobody", "(integer) 1"),
            ("SUNION P:python P:rust", "*"),
            ("SUNIONSTORE P:everyone P:python P:rust", "(integer) 3"),
        ],
    );
    assert_eq!(members(&t, 5), set(&["alex", "bob"]));
    assert_eq!(members(&t, 6), set(&["bob", "carol", "dave"]));
    assert_eq!(members(&t, 8), set(&["alex", "bob", "carol"]));
}

#[test]
fn spop_removes_a_random_member_and_srandmember_removes_none() {
    let t = redis_tour(|con, keys| {
        lesson::spop(con, keys)?;
        lesson::srandmember(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SADD P:raffle t1 t2 t3 t4 t5", "(integer) 5"),
            ("SPOP P:raffle", "*"),
            ("SCARD P:raffle", "(integer) 4"),
            ("SRANDMEMBER P:raffle 2", "*"),
            ("SRANDMEMBER P:raffle -6", "*"),
            ("SCARD P:raffle", "(integer) 4"),
        ],
    );
    let tickets = set(&["t1", "t2", "t3", "t4", "t5"]);
    let drawn: String = redis::from_redis_value(t.exchanges[1].value.clone()).unwrap();
    assert!(tickets.contains(&drawn));
    let left: BTreeSet<String> = tickets.iter().filter(|t| **t != drawn).cloned().collect();

    let two = picks(&t, 3);
    assert_eq!(two.len(), 2);
    assert_eq!(
        members(&t, 3).len(),
        2,
        "a positive count gives distinct members"
    );
    assert!(members(&t, 3).is_subset(&left), "{two:?} not from {left:?}");

    let six = picks(&t, 4);
    assert_eq!(
        six.len(),
        6,
        "a negative count may repeat: 6 from a set of 4"
    );
    assert!(members(&t, 4).is_subset(&left));
}

#[test]
fn sscan_and_its_iterator_find_every_match_in_several_steps() {
    let mut found = BTreeSet::new();
    let mut seen = 0;
    let t = redis_tour(|con, keys| {
        found = lesson::sscan(con, keys)?;
        seen = lesson::sscan_iter(con, keys)?;
        Ok(())
    });
    let expected: BTreeSet<String> = (1..=lesson::TAGS)
        .map(|n| format!("tag:{n}"))
        .filter(|tag| tag.starts_with("tag:1"))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(seen, 111, "tag:2, tag:20..29, tag:200..299");

    assert_eq!(t.exchanges[0].shown, "(integer) 1000");
    let first_walk: Vec<&str> = t
        .commands()
        .into_iter()
        .filter(|c| c.contains("MATCH tag:1*"))
        .collect();
    assert!(first_walk.len() > 1, "SSCAN took one step: {}", t.text);
    assert_eq!(first_walk[0], "SSCAN P:tags 0 MATCH tag:1* COUNT 200");
}

#[test]
fn the_program_runs_the_whole_tour_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run20");
    let output = Command::new(env!("CARGO_BIN_EXE_sets"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run sets");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== sadd(name, values) ==",
            "== scard(name) ==",
            "== sdiff(keys) and sdiffstore(dest, keys) ==",
            "== sinter(keys) and sinterstore(dest, keys) ==",
            "== sismember(name, value) ==",
            "== smembers(name) ==",
            "== smove(src, dst, value) ==",
            "== spop(name) ==",
            "== srandmember(name, numbers) ==",
            "== srem(name, values) ==",
            "== sunion(keys) and sunionstore(dest, keys) ==",
            "== sscan(name, cursor, match, count) ==",
            "== sscan_iter(name, match, count) ==",
        ]
    );
    let mut con = support::redis::connect(&server.url()).unwrap();
    let left = support::redis::KeySpace::new(&prefix)
        .existing(&mut con)
        .unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}

/// `major.minor` of the server, from `INFO server`.
fn server_version(con: &mut redis::Connection) -> (u32, u32) {
    let info: String = redis::cmd("INFO").arg("server").query(con).unwrap();
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .expect("a redis_version line");
    let mut parts = version.trim().split('.').map(|n| n.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// Adds `members` one by one, in this order, then asks how the server
/// stores the set and in which order SMEMBERS gives them back.
fn stored(con: &mut redis::Connection, key: &str, members: &[String]) -> (String, Vec<String>) {
    for member in members {
        let _: i64 = redis::cmd("SADD").arg(key).arg(member).query(con).unwrap();
    }
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(con)
        .unwrap();
    let order: Vec<String> = redis::cmd("SMEMBERS").arg(key).query(con).unwrap();
    (encoding, order)
}

/// What the chapter says about the order of SMEMBERS, checked on this
/// server: it depends on how the set is stored. Small sets of integers are
/// an `intset`, kept sorted; on Redis 7.2 and later, other small sets are a
/// `listpack`, kept in insertion order; big sets (and, before 7.2, small
/// sets of strings) are a `hashtable`, in no order at all.
#[test]
fn the_order_of_smembers_follows_the_encoding() {
    let server = shared_redis();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let keys = support::redis::KeySpace::new(&unique_name("order"));
    let strings = |names: &[&str]| -> Vec<String> { names.iter().map(|s| s.to_string()).collect() };

    let (encoding, order) = stored(&mut con, &keys.key("ints"), &strings(&["30", "10", "20"]));
    assert_eq!(encoding, "intset");
    assert_eq!(order, ["10", "20", "30"], "an intset is sorted");

    let words = strings(&["pear", "apple", "fig"]);
    let (encoding, order) = stored(&mut con, &keys.key("words"), &words);
    if server_version(&mut con) >= (7, 2) {
        assert_eq!(encoding, "listpack");
        assert_eq!(order, words, "a listpack keeps insertion order");
    } else {
        assert_eq!(encoding, "hashtable");
        assert_eq!(
            order.iter().collect::<BTreeSet<_>>(),
            words.iter().collect()
        );
    }

    // Far past any small-set limit (128 entries for a listpack).
    let many: Vec<String> = (0..300).map(|i| format!("member-{i}")).collect();
    let (encoding, order) = stored(&mut con, &keys.key("many"), &many);
    assert_eq!(encoding, "hashtable");
    assert_eq!(order.len(), many.len());
    assert_ne!(order, many, "a hash table does not keep insertion order");
    keys.cleanup(&mut con).unwrap();
}
