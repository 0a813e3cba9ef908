//! Lesson 21: Redis sorted sets, one command group at a time.
//!
//! A sorted set is a set whose members each carry a number, the *score*,
//! and which is always kept ordered by it (members with equal scores by
//! name). Reading the top ten, a member's rank, or everyone between two
//! scores is cheap, which makes it the structure behind leaderboards,
//! priority queues and time lines (score = timestamp).
//!
//! The example is a leaderboard of exam points. The functions follow the
//! list of the course notes, in order; each prints what it sends and what
//! comes back. Run it with `just run lesson-21`. Every key lives under the
//! run's prefix (`lesson21:` by default) and is deleted at the end.
//!
//! Since Redis 6.2 one command, `ZRANGE`, does what `ZREVRANGE`,
//! `ZRANGEBYSCORE` and `ZREVRANGEBYSCORE` did (with `REV`, `BYSCORE` and
//! `LIMIT`); the old ones still work but are deprecated. Each appears below
//! next to its `ZRANGE` form.

use std::collections::BTreeMap;

use redis::{Commands, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson21";

/// How many members the ZSCAN examples' sorted set gets: more than 128,
/// Redis's default `zset-max-listpack-entries`, so that ZSCAN walks it in
/// steps instead of sending it whole.
pub const PLAYERS: usize = 1000;

/// How many elements of each ZSCAN batch the output shows.
const BATCH_SHOWN: usize = 4;

// ANCHOR: tour
/// The whole lesson: every group of sorted-set commands, in the notes'
/// order.
pub fn tour(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    zadd(con, keys)?;
    zcard(con, keys)?;
    zcount(con, keys)?;
    zincrby(con, keys)?;
    zrange(con, keys)?;
    zrevrange(con, keys)?;
    zrangebyscore(con, keys)?;
    zrevrangebyscore(con, keys)?;
    zrank(con, keys)?;
    zrem(con, keys)?;
    zremrangebyrank(con, keys)?;
    zremrangebyscore(con, keys)?;
    zscore(con, keys)?;
    zinterstore(con, keys)?;
    zunionstore(con, keys)?;
    zscan(con, keys)?;
    zscan_iter(con, keys)?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: zadd
/// `ZADD key score member [score member ...]` adds members with their
/// scores; for a member already there it only changes the score. It answers
/// how many members are new. (Careful with argument orders: Redis wants the
/// score first; the crate's `zadd(key, member, score)` takes the member
/// first, and `zadd_multiple` takes `(score, member)` pairs.)
pub fn zadd(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zadd(name, *args, **kwargs)");
    let scores = keys.key("scores");
    let _: usize = con.zadd_multiple(
        &scores,
        &[
            (88, "alex"),
            (72, "bob"),
            (95, "carol"),
            (60, "dave"),
            (81, "erin"),
        ],
    )?;
    let _: usize = con.zadd(&scores, "alex", 90)?;
    con.note("alex was there: 0 new members, but the score is now 90");
    Ok(())
}
// ANCHOR_END: zadd

// ANCHOR: zcard
/// `ZCARD`: how many members.
pub fn zcard(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zcard(name)");
    let _: usize = con.zcard(keys.key("scores"))?;
    Ok(())
}
// ANCHOR_END: zcard

// ANCHOR: zcount
/// `ZCOUNT key min max`: how many scores lie in `[min, max]`. A `(` makes a
/// bound exclusive; `-inf` and `+inf` are the open ends.
pub fn zcount(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zcount(name, min, max)");
    let scores = keys.key("scores");
    let _: usize = con.zcount(&scores, 80, 90)?;
    let _: usize = con.zcount(&scores, "(81", "+inf")?;
    Ok(())
}
// ANCHOR_END: zcount

// ANCHOR: zincrby
/// `ZINCRBY key amount member` adds to a member's score (atomically, like
/// INCR) and answers the new score.
pub fn zincrby(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zincrby(name, value, amount)");
    let _: f64 = con.zincr(keys.key("scores"), "bob", 10)?;
    Ok(())
}
// ANCHOR_END: zincrby

// ANCHOR: zrange
/// `ZRANGE key start stop [WITHSCORES]`: members by **rank** (position),
/// lowest score first, both ends included. With scores, the crate pairs
/// them up into `(member, score)` tuples.
pub fn zrange(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zrange(name, start, end, desc, withscores)");
    let scores = keys.key("scores");
    let _: Vec<String> = con.zrange(&scores, 0, -1)?;
    let board: Vec<(String, f64)> = con.zrange_withscores(&scores, 0, -1)?;
    con.note(&format!("as Rust pairs: {board:?}"));
    Ok(())
}
// ANCHOR_END: zrange

// ANCHOR: zrevrange
/// `ZREVRANGE`: the same from the highest score down: the top three.
/// Today: `ZRANGE key 0 2 REV`.
pub fn zrevrange(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zrevrange(name, start, end, withscores)");
    let scores = keys.key("scores");
    let _: Vec<(String, f64)> = con.zrevrange_withscores(&scores, 0, 2)?;
    let _: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&scores)
        .arg(0)
        .arg(2)
        .arg("REV")
        .arg("WITHSCORES")
        .query(con)?;
    Ok(())
}
// ANCHOR_END: zrevrange

// ANCHOR: zrangebyscore
/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`: members
/// by **score**, lowest first; `LIMIT` pages through them. Today:
/// `ZRANGE key min max BYSCORE [LIMIT offset count]`.
pub fn zrangebyscore(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zrangebyscore(name, min, max, start, num, withscores)");
    let scores = keys.key("scores");
    let _: Vec<(String, f64)> = con.zrangebyscore_withscores(&scores, 80, 90)?;
    let _: Vec<String> = con.zrangebyscore_limit(&scores, 80, 90, 0, 1)?;
    let _: Vec<String> = redis::cmd("ZRANGE")
        .arg(&scores)
        .arg(80)
        .arg(90)
        .arg("BYSCORE")
        .arg("LIMIT")
        .arg(0)
        .arg(1)
        .query(con)?;
    Ok(())
}
// ANCHOR_END: zrangebyscore

// ANCHOR: zrevrangebyscore
/// `ZREVRANGEBYSCORE key max min`: by score, highest first (note: max
/// before min). Today: `ZRANGE key max min BYSCORE REV`.
pub fn zrevrangebyscore(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zrevrangebyscore(name, max, min, start, num, withscores)");
    let scores = keys.key("scores");
    let _: Vec<String> = con.zrevrangebyscore(&scores, "+inf", 85)?;
    let _: Vec<String> = redis::cmd("ZRANGE")
        .arg(&scores)
        .arg("+inf")
        .arg(85)
        .arg("BYSCORE")
        .arg("REV")
        .query(con)?;
    Ok(())
}
// ANCHOR_END: zrevrangebyscore

// ANCHOR: zrank
/// `ZRANK` is a member's position from the lowest score (from 0);
/// `ZREVRANK` from the highest: carol, the best, is rank 0 on the
/// leaderboard. A missing member has no rank (nil).
pub fn zrank(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zrank(name, value) and zrevrank(name, value)");
    let scores = keys.key("scores");
    let _: Option<usize> = con.zrank(&scores, "carol")?;
    let _: Option<usize> = con.zrevrank(&scores, "carol")?;
    let _: Option<usize> = con.zrank(&scores, "nobody")?;
    Ok(())
}
// ANCHOR_END: zrank

// ANCHOR: zrem
/// `ZREM key member...` removes members; it answers how many were there.
pub fn zrem(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zrem(name, values)");
    let _: usize = con.zrem(keys.key("scores"), &["dave", "nobody"])?;
    Ok(())
}
// ANCHOR_END: zrem

// ANCHOR: zremrangebyrank
/// `ZREMRANGEBYRANK key start stop` removes by position: `0 0` drops the
/// lowest score ("keep the best N" is `ZREMRANGEBYRANK key 0 -(N+1)`).
pub fn zremrangebyrank(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zremrangebyrank(name, min, max)");
    let _: usize = con.zremrangebyrank(keys.key("scores"), 0, 0)?;
    Ok(())
}
// ANCHOR_END: zremrangebyrank

// ANCHOR: zremrangebyscore
/// `ZREMRANGEBYSCORE key min max` removes by score.
pub fn zremrangebyscore(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zremrangebyscore(name, min, max)");
    let scores = keys.key("scores");
    let _: usize = con.zrembyscore(&scores, "-inf", 85)?;
    let _: Vec<(String, f64)> = con.zrange_withscores(&scores, 0, -1)?;
    Ok(())
}
// ANCHOR_END: zremrangebyscore

// ANCHOR: zscore
/// `ZSCORE key member`: one member's score, nil if it is not there.
pub fn zscore(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zscore(name, value)");
    let scores = keys.key("scores");
    let _: Option<f64> = con.zscore(&scores, "carol")?;
    let _: Option<f64> = con.zscore(&scores, "bob")?;
    Ok(())
}
// ANCHOR_END: zscore

/// Two exams; alex and bob sat both, carol only the first, dave only the
/// second. Returns the keys.
fn make_exams(con: &mut Echo, keys: &KeySpace) -> RedisResult<[String; 2]> {
    let exams = [keys.key("exam1"), keys.key("exam2")];
    let _: usize = con.zadd_multiple(&exams[0], &[(80, "alex"), (70, "bob"), (90, "carol")])?;
    let _: usize = con.zadd_multiple(&exams[1], &[(60, "alex"), (95, "bob"), (85, "dave")])?;
    Ok(exams)
}

/// Reads a stored result as a map, member to score, and shows it.
fn show_result(con: &mut Echo, key: &str) -> RedisResult<BTreeMap<String, f64>> {
    let result: Vec<(String, f64)> = con.zrange_withscores(key, 0, -1)?;
    Ok(result.into_iter().collect())
}

// ANCHOR: zinterstore
/// `ZINTERSTORE dest n key... [AGGREGATE SUM|MIN|MAX]` keeps the members in
/// **all** the sets; a member's new score combines its scores: their sum
/// (the default), the lowest or the highest.
pub fn zinterstore(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zinterstore(dest, keys, aggregate)");
    let exams = make_exams(con, keys)?;
    let (sum, min, max) = (
        keys.key("both:sum"),
        keys.key("both:min"),
        keys.key("both:max"),
    );
    let _: usize = con.zinterstore(&sum, &exams)?;
    show_result(con, &sum)?;
    let _: usize = con.zinterstore_min(&min, &exams)?;
    show_result(con, &min)?;
    let _: usize = con.zinterstore_max(&max, &exams)?;
    show_result(con, &max)?;
    Ok(())
}
// ANCHOR_END: zinterstore

// ANCHOR: zunionstore
/// `ZUNIONSTORE dest n key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]` keeps
/// the members of **any** set. `WEIGHTS` multiplies each set's scores
/// first: weights of 0.5 and a SUM give the average of two exams (for
/// those who sat both).
pub fn zunionstore(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("zunionstore(dest, keys, aggregate)");
    let exams = [keys.key("exam1"), keys.key("exam2")];
    if !con.exists(&exams[0])? {
        make_exams(con, keys)?;
    }
    let (sum, min, max) = (
        keys.key("any:sum"),
        keys.key("any:min"),
        keys.key("any:max"),
    );
    let _: usize = con.zunionstore(&sum, &exams)?;
    show_result(con, &sum)?;
    let _: usize = con.zunionstore_min(&min, &exams)?;
    show_result(con, &min)?;
    let _: usize = con.zunionstore_max(&max, &exams)?;
    show_result(con, &max)?;

    let average = keys.key("any:average");
    let _: usize = con.zunionstore_weights(&average, &[(&exams[0], 0.5), (&exams[1], 0.5)])?;
    let averages = show_result(con, &average)?;
    con.note(&format!("in Rust: {averages:?}"));
    con.note("carol and dave sat one exam each: the missing one counted as 0");
    Ok(())
}
// ANCHOR_END: zunionstore

// ANCHOR: zscan
/// `ZSCAN key cursor [MATCH pattern] [COUNT n]` walks a big sorted set a
/// batch at a time, member then score, like HSCAN and SSCAN. Note that it
/// does **not** walk in score order: for that, page with `ZRANGE ... LIMIT`.
/// Returns how many members matched.
pub fn zscan(con: &mut Echo, keys: &KeySpace) -> RedisResult<usize> {
    con.section("zscan(name, cursor, match, count)");
    let players = make_players(con, keys)?;
    let shown = con.set_array_limit(BATCH_SHOWN);
    let mut matched = 0;
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<(String, f64)>) = redis::cmd("ZSCAN")
            .arg(&players)
            .arg(cursor)
            .arg("MATCH")
            .arg("player:1*")
            .arg("COUNT")
            .arg(200)
            .query(con)?;
        matched += batch.len();
        if next == 0 {
            break;
        }
        cursor = next;
    }
    con.set_array_limit(shown);
    con.note(&format!(
        "back at cursor 0: {matched} members match player:1*"
    ));
    Ok(matched)
}

/// The big sorted set: `player:1` .. `player:1000`, player n scoring n.
fn make_players(con: &mut Echo, keys: &KeySpace) -> RedisResult<String> {
    let players = keys.key("players");
    let members: Vec<(usize, String)> = (1..=PLAYERS).map(|n| (n, format!("player:{n}"))).collect();
    let _: usize = con.zadd_multiple(&players, &members)?;
    Ok(players)
}
// ANCHOR_END: zscan

// ANCHOR: zscan_iter
/// The notes' `zscan_iter`: an `Iterator` over `(member, score)` pairs that
/// sends ZSCAN again each time its batch runs out (`con.zscan_match(key,
/// pattern)` makes one without COUNT). Returns the number of members and
/// the sum of their scores.
pub fn zscan_iter(con: &mut Echo, keys: &KeySpace) -> RedisResult<(usize, f64)> {
    con.section("zscan_iter(name, match, count)");
    let players = keys.key("players");
    if !con.exists(&players)? {
        make_players(con, keys)?;
    }
    let shown = con.set_array_limit(BATCH_SHOWN);
    let mut scan = redis::cmd("ZSCAN");
    scan.arg(&players)
        .cursor_arg(0)
        .arg("MATCH")
        .arg("player:2*")
        .arg("COUNT")
        .arg(200);
    let (mut count, mut total) = (0, 0.0);
    for pair in scan.iter::<(String, f64)>(con)? {
        let (_member, score) = pair?;
        count += 1;
        total += score;
    }
    con.set_array_limit(shown);
    con.note(&format!(
        "the iterator gave {count} members matching player:2*, scores adding up to {total}"
    ));
    Ok((count, total))
}
// ANCHOR_END: zscan_iter
