//! Lesson 20: Redis sets, one command group at a time.
//!
//! A set is one key holding distinct strings, in no particular order:
//! adding a member twice keeps one. The server computes differences,
//! intersections and unions between sets, and can store the result as a
//! new set, without the members ever leaving it.
//!
//! The examples use two classes: who takes the Python course and who takes
//! the Rust course. The functions follow the list of the course notes, in
//! order; each prints what it sends and what comes back. Run it with
//! `just run lesson-20`. Every key lives under the run's prefix
//! (`lesson20:` by default) and is deleted at the end.
//!
//! The order in which Redis lists a set's members is whatever its hash
//! table holds, and changes from one server to the next: where order
//! matters to the reader, the Rust code sorts (a `BTreeSet`).

use std::collections::BTreeSet;

use redis::{Commands, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson20";

/// How many members the SSCAN examples' set gets: enough that Redis keeps
/// it as a hash table and SSCAN walks it in several steps.
pub const TAGS: usize = 1000;

/// How many elements of each SSCAN batch the output shows.
const BATCH_SHOWN: usize = 4;

// ANCHOR: tour
/// The whole lesson: every group of set commands, in the notes' order.
pub fn tour(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    sadd(con, keys)?;
    scard(con, keys)?;
    sdiff(con, keys)?;
    sinter(con, keys)?;
    sismember(con, keys)?;
    smembers(con, keys)?;
    smove(con, keys)?;
    spop(con, keys)?;
    srandmember(con, keys)?;
    srem(con, keys)?;
    sunion(con, keys)?;
    sscan(con, keys)?;
    sscan_iter(con, keys)?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: sadd
/// `SADD key member...` adds members and answers how many were new: a
/// member already there is not added twice.
pub fn sadd(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("sadd(name, values)");
    let (python, rust) = (keys.key("python"), keys.key("rust"));
    let _: usize = con.sadd(&python, &["alex", "bob", "carol"])?;
    let _: usize = con.sadd(&python, "alex")?;
    con.note("alex was there already: 0 added");
    let _: usize = con.sadd(&rust, &["bob", "dave"])?;
    Ok(())
}
// ANCHOR_END: sadd

// ANCHOR: scard
/// `SCARD`: how many members (the set's *cardinality*).
pub fn scard(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("scard(name)");
    let _: usize = con.scard(keys.key("python"))?;
    let _: usize = con.scard(keys.key("missing"))?;
    Ok(())
}
// ANCHOR_END: scard

// ANCHOR: sdiff
/// `SDIFF a b...`: the members of the first set that are in none of the
/// others. `SDIFFSTORE dest a b...` stores that as the set `dest` and
/// answers its size.
pub fn sdiff(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("sdiff(keys) and sdiffstore(dest, keys)");
    let (python, rust) = (keys.key("python"), keys.key("rust"));
    let only_python: BTreeSet<String> = con.sdiff(&[&python, &rust])?;
    con.note(&format!("in Python but not in Rust: {only_python:?}"));
    let _: usize = con.sdiffstore(keys.key("python-only"), &[&python, &rust])?;
    Ok(())
}
// ANCHOR_END: sdiff

// ANCHOR: sinter
/// `SINTER a b...`: the members in **every** set, the intersection (the
/// notes call it a union; it is not). `SINTERSTORE` stores it.
pub fn sinter(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("sinter(keys) and sinterstore(dest, keys)");
    let (python, rust) = (keys.key("python"), keys.key("rust"));
    let _: BTreeSet<String> = con.sinter(&[&python, &rust])?;
    let _: usize = con.sinterstore(keys.key("both"), &[&python, &rust])?;
    Ok(())
}
// ANCHOR_END: sinter

// ANCHOR: sismember
/// `SISMEMBER key member`: is it in the set? `SMISMEMBER` (Redis 6.2)
/// asks about several members at once.
pub fn sismember(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("sismember(name, value)");
    let python = keys.key("python");
    let _: bool = con.sismember(&python, "alex")?;
    let _: bool = con.sismember(&python, "dave")?;
    let _: Vec<bool> = con.smismember(&python, &["alex", "dave"])?;
    Ok(())
}
// ANCHOR_END: sismember

// ANCHOR: smembers
/// `SMEMBERS`: every member, in no useful order. (For a big set, SSCAN.)
pub fn smembers(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("smembers(name)");
    let members: BTreeSet<String> = con.smembers(keys.key("python"))?;
    con.note(&format!("sorted in Rust: {members:?}"));
    Ok(())
}
// ANCHOR_END: smembers

// ANCHOR: smove
/// `SMOVE src dst member` moves one member from one set to another,
/// atomically; 0 if it was not in `src`.
pub fn smove(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("smove(src, dst, value)");
    let (python, rust) = (keys.key("python"), keys.key("rust"));
    let _: bool = con.smove(&python, &rust, "carol")?;
    let _: bool = con.smove(&python, &rust, "nobody")?;
    let python_now: BTreeSet<String> = con.smembers(&python)?;
    let rust_now: BTreeSet<String> = con.smembers(&rust)?;
    con.note(&format!("python: {python_now:?}, rust: {rust_now:?}"));
    Ok(())
}
// ANCHOR_END: smove

// ANCHOR: spop
/// `SPOP key [count]` removes and returns **random** members. (The notes
/// say it takes from the right, the tail: a set has no ends; which member
/// comes out is chance.)
pub fn spop(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("spop(name)");
    let winners = keys.key("raffle");
    let _: usize = con.sadd(&winners, &["t1", "t2", "t3", "t4", "t5"])?;
    let drawn: String = con.spop(&winners)?;
    con.note(&format!("drawn at random and removed: {drawn}"));
    let _: usize = con.scard(&winners)?;
    Ok(())
}
// ANCHOR_END: spop

// ANCHOR: srandmember
/// `SRANDMEMBER key count` returns random members **without** removing
/// them: a positive count gives distinct members (at most the whole set),
/// a negative one may repeat members.
pub fn srandmember(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("srandmember(name, numbers)");
    let raffle = keys.key("raffle");
    let _: Vec<String> = con.srandmember_multiple(&raffle, 2)?;
    let _: Vec<String> = con.srandmember_multiple(&raffle, -6)?;
    let _: usize = con.scard(&raffle)?;
    con.note("the raffle still has all its tickets: nothing was removed");
    Ok(())
}
// ANCHOR_END: srandmember

// ANCHOR: srem
/// `SREM key member...` removes members; it answers how many were there.
pub fn srem(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("srem(name, values)");
    let _: usize = con.srem(keys.key("rust"), &["dave", "nobody"])?;
    Ok(())
}
// ANCHOR_END: srem

// ANCHOR: sunion
/// `SUNION a b...`: the members of any of the sets, the union.
/// `SUNIONSTORE` stores it.
pub fn sunion(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("sunion(keys) and sunionstore(dest, keys)");
    let (python, rust) = (keys.key("python"), keys.key("rust"));
    let everyone: BTreeSet<String> = con.sunion(&[&python, &rust])?;
    con.note(&format!("in either class: {everyone:?}"));
    let _: usize = con.sunionstore(keys.key("everyone"), &[&python, &rust])?;
    Ok(())
}
// ANCHOR_END: sunion

// ANCHOR: sscan
/// `SSCAN key cursor [MATCH pattern] [COUNT n]` walks a big set a batch at
/// a time, exactly as HSCAN walks a hash (lesson 18): start at cursor 0,
/// stop when the server hands back 0. Returns what it found.
pub fn sscan(con: &mut Echo, keys: &KeySpace) -> RedisResult<BTreeSet<String>> {
    con.section("sscan(name, cursor, match, count)");
    let tags = make_tags(con, keys)?;
    let shown = con.set_array_limit(BATCH_SHOWN);
    let mut found = BTreeSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg(&tags)
            .arg(cursor)
            .arg("MATCH")
            .arg("tag:1*")
            .arg("COUNT")
            .arg(200)
            .query(con)?;
        found.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    con.set_array_limit(shown);
    con.note(&format!(
        "back at cursor 0: {} members match tag:1*",
        found.len()
    ));
    Ok(found)
}

/// The big set the SSCAN examples walk: `tag:1` .. `tag:1000`.
fn make_tags(con: &mut Echo, keys: &KeySpace) -> RedisResult<String> {
    let tags = keys.key("tags");
    let members: Vec<String> = (1..=TAGS).map(|n| format!("tag:{n}")).collect();
    let _: usize = con.sadd(&tags, &members)?;
    Ok(tags)
}
// ANCHOR_END: sscan

// ANCHOR: sscan_iter
/// The notes' `sscan_iter`: an `Iterator` that sends SSCAN again each time
/// its batch runs out. `con.sscan_match(key, pattern)` makes one; to pass
/// COUNT too, build the command and call `Cmd::iter`, as here. Returns how
/// many members it saw.
pub fn sscan_iter(con: &mut Echo, keys: &KeySpace) -> RedisResult<usize> {
    con.section("sscan_iter(name, match, count)");
    let tags = keys.key("tags");
    if !con.exists(&tags)? {
        make_tags(con, keys)?;
    }
    let shown = con.set_array_limit(BATCH_SHOWN);
    let mut scan = redis::cmd("SSCAN");
    scan.arg(&tags)
        .cursor_arg(0)
        .arg("MATCH")
        .arg("tag:2*")
        .arg("COUNT")
        .arg(200);
    let mut seen = 0;
    for member in scan.iter::<String>(con)? {
        let _tag = member?;
        seen += 1;
    }
    con.set_array_limit(shown);
    con.note(&format!("the iterator gave {seen} members matching tag:2*"));
    Ok(seen)
}
// ANCHOR_END: sscan_iter
