//! Every sorted-set command of the lesson, with the reply a real Redis
//! gives. Sorted sets are ordered by score, so (apart from ZSCAN's batches)
//! every reply is exact.

use std::process::Command;

use support::testkit::{assert_exchanges, redis_tour, shared_redis, unique_name};

use lesson_21_sorted_sets as lesson;

/// An array reply as shown, for plain members.
fn list(items: &[&str]) -> String {
    numbered(items.iter().map(|s| s.to_string()).collect())
}

/// A WITHSCORES reply as shown: member, score, member, score...
fn pairs(items: &[(&str, &str)]) -> String {
    numbered(
        items
            .iter()
            .flat_map(|(m, s)| [m.to_string(), s.to_string()])
            .collect(),
    )
}

fn numbered(items: Vec<String>) -> String {
    let width = items.len().to_string().len();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| format!("{:>width$}) \"{item}\"", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn adding_counting_and_reading_by_rank_and_score() {
    let t = redis_tour(|con, keys| {
        lesson::zadd(con, keys)?;
        lesson::zcard(con, keys)?;
        lesson::zcount(con, keys)?;
        lesson::zincrby(con, keys)?;
        lesson::zrange(con, keys)?;
        lesson::zrevrange(con, keys)?;
        lesson::zrangebyscore(con, keys)?;
        lesson::zrevrangebyscore(con, keys)?;
        lesson::zrank(con, keys)
    });
    let board = pairs(&[
        ("dave", "60"),
        ("erin", "81"),
        ("bob", "82"),
        ("alex", "90"),
        ("carol", "95"),
    ]);
    let top3 = pairs(&[("carol", "95"), ("alex", "90"), ("bob", "82")]);
    assert_exchanges(
        &t,
        &[
            (
                "ZADD P:scores 88 alex 72 bob 95 carol 60 dave 81 erin",
                "(integer) 5",
            ),
            ("ZADD P:scores 90 alex", "(integer) 0"),
            ("ZCARD P:scores", "(integer) 5"),
            ("ZCOUNT P:scores 80 90", "(integer) 2"),
            ("ZCOUNT P:scores (81 +inf", "(integer) 2"),
            ("ZINCRBY P:scores 10 bob", "\"82\""),
            (
                "ZRANGE P:scores 0 -1",
                &list(&["dave", "erin", "bob", "alex", "carol"]),
            ),
            ("ZRANGE P:scores 0 -1 WITHSCORES", &board),
            ("ZREVRANGE P:scores 0 2 WITHSCORES", &top3),
            ("ZRANGE P:scores 0 2 REV WITHSCORES", &top3),
            (
                "ZRANGEBYSCORE P:scores 80 90 WITHSCORES",
                &pairs(&[("erin", "81"), ("bob", "82"), ("alex", "90")]),
            ),
            ("ZRANGEBYSCORE P:scores 80 90 LIMIT 0 1", &list(&["erin"])),
            ("ZRANGE P:scores 80 90 BYSCORE LIMIT 0 1", &list(&["erin"])),
            (
                "ZREVRANGEBYSCORE P:scores +inf 85",
                &list(&["carol", "alex"]),
            ),
            (
                "ZRANGE P:scores +inf 85 BYSCORE REV",
                &list(&["carol", "alex"]),
            ),
            ("ZRANK P:scores carol", "(integer) 4"),
            ("ZREVRANK P:scores carol", "(integer) 0"),
            ("ZRANK P:scores nobody", "(nil)"),
        ],
    );
}

#[test]
fn removing_by_member_rank_and_score() {
    let t = redis_tour(|con, keys| {
        lesson::zadd(con, keys)?;
        lesson::zincrby(con, keys)?;
        lesson::zrem(con, keys)?;
        lesson::zremrangebyrank(con, keys)?;
        lesson::zremrangebyscore(con, keys)?;
        lesson::zscore(con, keys)
    });
    assert_exchanges(
        &t.skip(3),
        &[
            ("ZREM P:scores dave nobody", "(integer) 1"),
            ("ZREMRANGEBYRANK P:scores 0 0", "(integer) 1"),
            ("ZREMRANGEBYSCORE P:scores -inf 85", "(integer) 1"),
            (
                "ZRANGE P:scores 0 -1 WITHSCORES",
                &pairs(&[("alex", "90"), ("carol", "95")]),
            ),
            ("ZSCORE P:scores carol", "\"95\""),
            ("ZSCORE P:scores bob", "(nil)"),
        ],
    );
}

#[test]
fn intersections_and_unions_with_sum_min_max_and_weights() {
    let t = redis_tour(|con, keys| {
        lesson::zinterstore(con, keys)?;
        lesson::zunionstore(con, keys)
    });
    assert_exchanges(
        &t,
        &[
            ("ZADD P:exam1 80 alex 70 bob 90 carol", "(integer) 3"),
            ("ZADD P:exam2 60 alex 95 bob 85 dave", "(integer) 3"),
            ("ZINTERSTORE P:both:sum 2 P:exam1 P:exam2", "(integer) 2"),
            (
                "ZRANGE P:both:sum 0 -1 WITHSCORES",
                &pairs(&[("alex", "140"), ("bob", "165")]),
            ),
            (
                "ZINTERSTORE P:both:min 2 P:exam1 P:exam2 AGGREGATE MIN",
                "(integer) 2",
            ),
            (
                "ZRANGE P:both:min 0 -1 WITHSCORES",
                &pairs(&[("alex", "60"), ("bob", "70")]),
            ),
            (
                "ZINTERSTORE P:both:max 2 P:exam1 P:exam2 AGGREGATE MAX",
                "(integer) 2",
            ),
            (
                "ZRANGE P:both:max 0 -1 WITHSCORES",
                &pairs(&[("alex", "80"), ("bob", "95")]),
            ),
            ("EXISTS P:exam1", "(integer) 1"),
            ("ZUNIONSTORE P:any:sum 2 P:exam1 P:exam2", "(integer) 4"),
            (
                "ZRANGE P:any:sum 0 -1 WITHSCORES",
                &pairs(&[
                    ("dave", "85"),
                    ("carol", "90"),
                    ("alex", "140"),
                    ("bob", "165"),
                ]),
            ),
            (
                "ZUNIONSTORE P:any:min 2 P:exam1 P:exam2 AGGREGATE MIN",
                "(integer) 4",
            ),
            (
                "ZRANGE P:any:min 0 -1 WITHSCORES",
                &pairs(&[
                    ("alex", "60"),
                    ("bob", "70"),
                    ("dave", "85"),
                    ("carol", "90"),
                ]),
            ),
            (
                "ZUNIONSTORE P:any:max 2 P:exam1 P:exam2 AGGREGATE MAX",
                "(integer) 4",
            ),
            (
                "ZRANGE P:any:max 0 -1 WITHSCORES",
                &pairs(&[
                    ("alex", "80"),
                    ("dave", "85"),
                    ("carol", "90"),
                    ("bob", "95"),
                ]),
            ),
            (
                "ZUNIONSTORE P:any:average 2 P:exam1 P:exam2 WEIGHTS 0.5 0.5",
                "(integer) 4",
            ),
            (
                "ZRANGE P:any:average 0 -1 WITHSCORES",
                &pairs(&[
                    ("dave", "42.5"),
                    ("carol", "45"),
                    ("alex", "70"),
                    ("bob", "82.5"),
                ]),
            ),
        ],
    );
}

#[test]
fn zscan_and_its_iterator_find_every_match_in_several_steps() {
    let mut matched = 0;
    let mut iterated = (0, 0.0);
    let t = redis_tour(|con, keys| {
        matched = lesson::zscan(con, keys)?;
        iterated = lesson::zscan_iter(con, keys)?;
        Ok(())
    });
    assert_eq!(matched, 112, "player:1, 10..19, 100..199, 1000");
    let expected_sum: usize = (1..=lesson::PLAYERS)
        .filter(|n| n.to_string().starts_with('2'))
        .sum();
    assert_eq!(iterated, (111, expected_sum as f64));
    let steps = t
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("ZSCAN P:players") && c.contains("player:1*"))
        .count();
    assert!(steps > 1, "ZSCAN took one step: {}", t.text);
}

#[test]
fn the_program_runs_the_whole_tour_and_cleans_up() {
    let server = shared_redis();
    let prefix = unique_name("run21");
    let output = Command::new(env!("CARGO_BIN_EXE_sorted-sets"))
        .args(["--url", &server.url(), "--prefix", &prefix])
        .output()
        .expect("run sorted-sets");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== zadd(name, *args, **kwargs) ==",
            "== zcard(name) ==",
            "== zcount(name, min, max) ==",
            "== zincrby(name, value, amount) ==",
            "== zrange(name, start, end, desc, withscores) ==",
            "== zrevrange(name, start, end, withscores) ==",
            "== zrangebyscore(name, min, max, start, num, withscores) ==",
            "== zrevrangebyscore(name, max, min, start, num, withscores) ==",
            "== zrank(name, value) and zrevrank(name, value) ==",
            "== zrem(name, values) ==",
            "== zremrangebyrank(name, min, max) ==",
            "== zremrangebyscore(name, min, max) ==",
            "== zscore(name, value) ==",
            "== zinterstore(dest, keys, aggregate) ==",
            "== zunionstore(dest, keys, aggregate) ==",
            "== zscan(name, cursor, match, count) ==",
            "== zscan_iter(name, match, count) ==",
        ]
    );
    let mut con = support::redis::connect(&server.url()).unwrap();
    let left = support::redis::KeySpace::new(&prefix)
        .existing(&mut con)
        .unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}
