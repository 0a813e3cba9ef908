//! Every list command of the lesson, with the reply a real Redis gives, and
//! blocking pops that return what a producer pushed while they waited, or
//! nil when their timeout runs out.

use std::process::Command;

use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_19_lists as lesson;

/// `LRANGE`'s reply as shown, for a list of strings.
fn list(items: &[&str]) -> String {
    if items.is_empty() {
        return "(empty array)".into();
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| format!("{}) \"{item}\"", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pushing_at_both_ends_inserting_and_setting() {
    let t = redis_tour(|con, keys| {
        lesson::lpush_rpush(con, keys)?;
        lesson::lpushx_rpushx(con, keys)?;
        lesson::llen(con, keys)?;
        lesson::linsert(con, keys)?;
        lesson::lset(con, keys)
    });
    let after_insert = list(&["0", "33", "22", "10", "11", "12", "44", "55", "66"]);
    let after_set = list(&["first", "33", "22", "10", "11", "12", "44", "55", "last"]);
    assert_exchanges(
        &t,
        &[
            ("LPUSH P:oo 11 22 33", "(integer) 3"),
            ("LRANGE P:oo 0 -1", &list(&["33", "22", "11"])),
            ("RPUSH P:oo 44 55", "(integer) 5"),
            ("LRANGE P:oo 0 -1", &list(&["33", "22", "11", "44", "55"])),
            ("LPUSHX P:missing x", "(integer) 0"),
            ("EXISTS P:missing", "(integer) 0"),
            ("LPUSHX P:oo 0", "(integer) 6"),
            ("RPUSHX P:oo 66", "(integer) 7"),
            ("LLEN P:oo", "(integer) 7"),
            ("LINSERT P:oo BEFORE 11 10", "(integer) 8"),
            ("LINSERT P:oo AFTER 11 12", "(integer) 9"),
            ("LINSERT P:oo BEFORE 99 98", "(integer) -1"),
            ("LRANGE P:oo 0 -1", &after_insert),
            ("LSET P:oo 0 first", "OK"),
            ("LSET P:oo -1 last", "OK"),
            ("LSET P:oo 100 x", "(error) ERR index out of range"),
            ("LRANGE P:oo 0 -1", &after_set),
        ],
    );
}

#[test]
fn lrem_counts_from_the_head_the_tail_or_removes_all() {
    let t = redis_tour(lesson::lrem);
    assert_exchanges(
        &t,
        &[
            ("RPUSH P:letters a b a c a b a", "(integer) 7"),
            ("LREM P:letters 2 a", "(integer) 2"),
            ("LRANGE P:letters 0 -1", &list(&["b", "c", "a", "b", "a"])),
            ("LREM P:letters -1 a", "(integer) 1"),
            ("LRANGE P:letters 0 -1", &list(&["b", "c", "a", "b"])),
            ("LREM P:letters 0 b", "(integer) 2"),
            ("LRANGE P:letters 0 -1", &list(&["c", "a"])),
        ],
    );
}

#[test]
fn popping_indexing_slicing_and_trimming() {
    let t = redis_tour(|con, keys| {
        lesson::lpush_rpush(con, keys)?;
        lesson::lpushx_rpushx(con, keys)?;
        lesson::linsert(con, keys)?;
        lesson::lset(con, keys)?;
        lesson::lpop_rpop(con, keys)?;
        lesson::lindex(con, keys)?;
        lesson::lrange(con, keys)?;
        lesson::ltrim(con, keys)
    });
    assert_exchanges(
        &t.skip(16),
        &[
            ("LPOP P:oo", "\"first\""),
            ("RPOP P:oo", "\"last\""),
            ("LPOP P:oo 2", &list(&["33", "22"])),
            ("LPOP P:missing", "(nil)"),
            ("LINDEX P:oo 0", "\"10\""),
            ("LINDEX P:oo -1", "\"55\""),
            ("LINDEX P:oo 99", "(nil)"),
            ("LRANGE P:oo 0 -1", &list(&["10", "11", "12", "44", "55"])),
            ("LRANGE P:oo 0 1", &list(&["10", "11"])),
            ("LRANGE P:oo -2 -1", &list(&["44", "55"])),
            ("LTRIM P:oo 1 3", "OK"),
            ("LRANGE P:oo 0 -1", &list(&["11", "12", "44"])),
        ],
    );
}

#[test]
fn rpoplpush_and_lmove_move_one_element_between_lists() {
    let t = redis_tour(lesson::rpoplpush);
    assert_exchanges(
        &t,
        &[
            ("RPUSH P:tasks t1 t2 t3", "(integer) 3"),
            ("RPOPLPUSH P:tasks P:doing", "\"t3\""),
            ("LMOVE P:tasks P:doing RIGHT LEFT", "\"t2\""),
            ("LRANGE P:doing 0 -1", &list(&["t2", "t3"])),
            ("LRANGE P:tasks 0 -1", &list(&["t1"])),
        ],
    );
}

/// The consumer blocks four times and each pop returns exactly the job the
/// producer pushed while it waited (the producer only pushes once the
/// server reports the consumer blocked); the last pop, fed by nobody,
/// returns nil after its timeout.
#[test]
fn blocking_pops_return_what_the_producer_pushed_then_time_out() {
    let client = redis::Client::open(shared_redis().url()).unwrap();
    let started = std::time::Instant::now();
    let t = redis_tour(|con, keys| lesson::blocking_pops(con, keys, &client));
    let took = started.elapsed();
    assert_exchanges(
        &t.of(""),
        &[
            ("CLIENT ID", "*"),
            (
                "BLPOP P:jobs:urgent P:jobs:normal 5.0",
                &list(&["P:jobs:normal", "job-1"]),
            ),
            (
                "BRPOP P:jobs:urgent P:jobs:normal 5.0",
                &list(&["P:jobs:urgent", "job-2"]),
            ),
            ("BRPOPLPUSH P:jobs:normal P:jobs:doing 5.0", "\"job-3\""),
            (
                "BLMOVE P:jobs:normal P:jobs:doing RIGHT LEFT 5.0",
                "\"job-4\"",
            ),
            ("LRANGE P:jobs:doing 0 -1", &list(&["job-4", "job-3"])),
            ("BLPOP P:jobs:empty 0.5", "(nil)"),
        ],
    );
    assert_exchanges(
        &t.of("[producer]"),
        &[
            ("RPUSH P:jobs:normal job-1", "(integer) 1"),
            ("RPUSH P:jobs:urgent job-2", "(integer) 1"),
            ("RPUSH P:jobs:normal job-3", "(integer) 1"),
            ("RPUSH P:jobs:normal job-4", "(integer) 1"),
        ],
    );
    // The timeout really was waited out: "after waiting 0.5 s".
    let waited: f64 = t
        .text
        .split("after waiting ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .expect("the timeout note");
    assert!(waited >= 0.4, "waited only {waited} s");
    // And on the test's own clock, not only on the lesson's: the whole
    // tour lasted at least the timeout, and at least what it claims to have
    // waited (which it prints rounded to 0.1 s).
    assert!(took.as_secs_f64() >= lesson::SHORT_TIMEOUT, "{took:?}");
    assert!(took.as_secs_f64() + 0.05 >= waited, "{took:?} < {waited} s");
}

#[test]
fn the_program_runs_the_whole_tour_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run19");
    let output = Command::new(env!("CARGO_BIN_EXE_lists"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run lists");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== lpush(name, values) and rpush(name, values) ==",
            "== lpushx(name, value) and rpushx(name, value) ==",
            "== llen(name) ==",
            "== linsert(name, where, refvalue, value) ==",
            "== lset(name, index, value) ==",
            "== lrem(name, value, num) ==",
            "== lpop(name) and rpop(name) ==",
            "== lindex(name, index) ==",
            "== lrange(name, start, end) ==",
            "== ltrim(name, start, end) ==",
            "== rpoplpush(src, dst) ==",
            "== blpop(keys, timeout), brpop(keys, timeout), brpoplpush(src, dst, timeout) ==",
        ]
    );
    assert!(stdout.contains(&format!("[producer] > RPUSH {prefix}:jobs:normal job-1\n")));
    let mut con = support::redis::connect(&server.url()).unwrap();
    let left = support::redis::KeySpace::new(&prefix)
        .existing(&mut con)
        .unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}
