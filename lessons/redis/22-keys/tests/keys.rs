//! Every key command of the lesson, with the reply a real Redis gives:
//! patterns, expiry, rename, MOVE into a second database of the throwaway
//! server, TYPE and the WRONGTYPE refusal, SCAN.

use std::collections::BTreeSet;
use std::process::Command;

use support::redis::{KeySpace, Transcript};
use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_22_keys as lesson;

/// The keys in the reply to the `n`th command, as a set, prefix removed.
fn names(t: &Transcript, n: usize) -> BTreeSet<String> {
    let keys: Vec<String> = redis::from_redis_value(t.exchanges[n].value.clone()).unwrap();
    keys.into_iter()
        .map(|k| k.split_once(':').map(|(_, name)| name.to_string()).unwrap())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn delete_exists_and_glob_patterns() {
    let t = redis_tour(|con, keys| {
        lesson::delete(con, keys)?;
        lesson::exists(con, keys)?;
        lesson::keys_patterns(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("MSET P:a 1 P:b 2 P:c 3", "OK"),
            ("DEL P:a P:b P:nope", "(integer) 2"),
            ("UNLINK P:nope", "(integer) 0"),
            ("EXISTS P:c", "(integer) 1"),
            ("EXISTS P:a", "(integer) 0"),
            ("EXISTS P:c P:c P:a", "(integer) 2"),
            (
                "MSET P:hello 1 P:hallo 1 P:hxllo 1 P:hllo 1 P:heeeeello 1 P:hillo 1",
                "OK",
            ),
            ("KEYS P:h?llo", "*"),
            ("KEYS P:h*llo", "*"),
            ("KEYS P:h[ae]llo", "*"),
        ],
    );
    assert_eq!(names(&t, 7), set(&["hello", "hallo", "hxllo", "hillo"]));
    assert_eq!(
        names(&t, 8),
        set(&["hello", "hallo", "hxllo", "hllo", "heeeeello", "hillo"])
    );
    assert_eq!(names(&t, 9), set(&["hello", "hallo"]));
}

#[test]
fn expire_ttl_persist_and_a_key_that_runs_out() {
    let t = redis_tour(lesson::expire);
    assert_exchanges(
        &t,
        &[
            ("SET P:temp short-lived", "OK"),
            ("EXPIRE P:temp 100", "(integer) 1"),
            ("TTL P:temp", "*"),
            ("PERSIST P:temp", "(integer) 1"),
            ("TTL P:temp", "(integer) -1"),
            ("TTL P:nope", "(integer) -2"),
            ("PEXPIRE P:temp 100", "(integer) 1"),
            ("EXISTS P:temp", "(integer) 0"),
        ],
    );
    assert!(["(integer) 100", "(integer) 99"].contains(&t.exchanges[2].shown.as_str()));
}

/// The wait in `expire` is bounded polling of the server's own clock: it
/// returns once Redis has deleted the key (the test then checks itself),
/// not before its time, and a key that never expires is an error at the
/// deadline, not a hang.
#[test]
fn waiting_for_a_key_to_expire_polls_the_server_with_a_deadline() {
    let server = shared_redis();
    let mut con = support::redis::connect(&server.url()).unwrap();
    let keys = KeySpace::new(&unique_name("wait"));
    let (short, forever) = (keys.key("short"), keys.key("forever"));
    let () = redis::Commands::set(&mut con, &short, 1).unwrap();
    let () = redis::Commands::set(&mut con, &forever, 1).unwrap();

    let _: bool = redis::Commands::pexpire(&mut con, &short, 300).unwrap();
    let asked = std::time::Instant::now();
    lesson::wait_until_gone(&mut con, &short, lesson::EXPIRY_PATIENCE).unwrap();
    let waited = asked.elapsed();
    let exists: bool = redis::Commands::exists(&mut con, &short).unwrap();
    assert!(!exists);
    // It waited for the key (300 ms to live, less one round trip), not less.
    assert!(
        waited >= std::time::Duration::from_millis(200),
        "{waited:?}"
    );

    let patience = std::time::Duration::from_millis(300);
    let error = lesson::wait_until_gone(&mut con, &forever, patience).unwrap_err();
    assert!(error.to_string().contains("still exists"), "{error}");
    keys.cleanup(&mut con).unwrap();
}

#[test]
fn rename_renamenx_and_move_to_another_database() {
    let server = shared_redis();
    let mut prefix = String::new();
    let t = redis_tour(|con, keys| {
        prefix = keys.prefix().to_string();
        let () = redis::Commands::set(con, keys.key("c"), 3)?;
        lesson::rename(con, keys)?;
        lesson::move_to_db(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SET P:c 3", "OK"),
            ("SET P:old v", "OK"),
            ("RENAME P:old P:new", "OK"),
            ("EXISTS P:old", "(integer) 0"),
            ("GET P:new", "\"v\""),
            ("RENAME P:nope P:x", "(error) ERR no such key"),
            ("RENAMENX P:new P:c", "(integer) 0"),
            ("MOVE P:new 1", "(integer) 1"),
            ("EXISTS P:new", "(integer) 0"),
            ("SELECT 1", "OK"),
            ("GET P:new", "\"v\""),
            ("DEL P:new", "(integer) 1"),
            ("SELECT 0", "OK"),
        ],
    );
    // Nothing stays behind in database 1 either.
    let mut db1 = support::redis::connect(&format!("{}1", server.url())).unwrap();
    assert!(
        KeySpace::new(&prefix)
            .existing(&mut db1)
            .unwrap()
            .is_empty()
    );
    assert_eq!(lesson::other_db(0), 1);
    assert_eq!(lesson::other_db(1), 2);
}

#[test]
fn randomkey_names_an_existing_key() {
    let t = redis_tour(|con, keys| {
        lesson::delete(con, keys)?;
        lesson::randomkey(con, keys)
    });
    let picked: Option<String> = redis::from_redis_value(t.exchanges[3].value.clone()).unwrap();
    // Other tests share this server, so the key may be anybody's; it
    // cannot be nil, since this test's own key `c` exists.
    assert!(picked.is_some(), "{}", t.text);
}

/// TYPE names each type, and a list command on a string is refused with
/// WRONGTYPE, explained in plain words, and changes nothing.
#[test]
fn type_names_each_type_and_wrongtype_is_explained() {
    let t = redis_tour(|con, keys| {
        let () = redis::Commands::set(con, keys.key("c"), 3)?;
        lesson::key_type(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("SET P:c 3", "OK"),
            ("RPUSH P:list x", "(integer) 1"),
            ("HSET P:hash field x", "(integer) 1"),
            ("SADD P:set x", "(integer) 1"),
            ("ZADD P:zset 1 x", "(integer) 1"),
            ("TYPE P:c", "string"),
            ("TYPE P:list", "list"),
            ("TYPE P:hash", "hash"),
            ("TYPE P:set", "set"),
            ("TYPE P:zset", "zset"),
            ("TYPE P:nope", "none"),
            (
                "LPUSH P:c x",
                "(error) WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            ("GET P:c", "\"3\""),
        ],
    );
    assert!(
        t.text.contains(
            "# Redis refused the command: WRONGTYPE Operation against a key holding the wrong kind of value\n\
             #   The key already holds a different type of value"
        ),
        "{}",
        t.text
    );
}

#[test]
fn scan_walks_in_steps_and_the_iterator_filters_by_type() {
    let mut found = BTreeSet::new();
    let mut counted = (0, 0);
    let t = redis_tour(|con, keys| {
        found = lesson::scan(con, keys)?;
        let _: usize = redis::Commands::hset(con, keys.key("hash"), "field", "x")?;
        counted = lesson::scan_iter(con, keys)?;
        Ok(())
    });
    let expected: BTreeSet<String> = (1..=lesson::USERS)
        .filter(|n| n.to_string().starts_with('1'))
        .map(|n| format!("P:user:{n}"))
        .collect();
    let found: BTreeSet<String> = found
        .into_iter()
        .map(|k| format!("P:{}", k.split_once(':').unwrap().1))
        .collect();
    assert_eq!(found, expected);
    let steps = t
        .commands()
        .into_iter()
        .filter(|c| c.contains("MATCH P:user:1*"))
        .count();
    assert!(steps > 1, "SCAN took one step: {}", t.text);
    assert_eq!(counted, (lesson::USERS + 1, 1));
}

#[test]
fn the_program_runs_the_whole_tour_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run22");
    let output = Command::new(env!("CARGO_BIN_EXE_keys"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run keys");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== delete(*names) ==",
            "== exists(name) ==",
            "== keys(pattern) ==",
            "== expire(name, time) ==",
            "== rename(src, dst) ==",
            "== move(name, db) ==",
            "== randomkey() ==",
            "== type(name) ==",
            "== scan(cursor, match, count) ==",
            "== scan_iter(match, count) ==",
        ]
    );
    let mut con = support::redis::connect(&server.url()).unwrap();
    let left = KeySpace::new(&prefix).existing(&mut con).unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}
