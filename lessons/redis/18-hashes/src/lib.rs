//! Lesson 18: Redis hashes, one command group at a time.
//!
//! A hash is one key holding a small table of fields and values, like a
//! Rust `HashMap<String, String>` stored on the server: a user's profile, a
//! shopping cart. Each field can be read, written and counted on its own,
//! without sending the whole table back and forth.
//!
//! The functions follow the list of the course notes, in order; each prints
//! what it sends and what comes back. Run it with `just run lesson-18`.
//! Every key lives under the run's prefix (`lesson18:` by default) and is
//! deleted at the end.

use std::collections::{BTreeMap, BTreeSet};

use redis::{Commands, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson18";

/// How many fields the HSCAN examples' hash gets: more than 512, Redis's
/// default `hash-max-listpack-entries`. Below that a hash is stored as one
/// compact list, and HSCAN sends it back whole in a single step; above it,
/// it is a real hash table, walked a batch at a time.
pub const ORDERS: usize = 1000;

/// How many elements of each HSCAN batch the output shows.
const BATCH_SHOWN: usize = 4;

// ANCHOR: tour
/// The whole lesson: every group of hash commands, in the notes' order.
pub fn tour(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    hset(con, keys)?;
    hset_many(con, keys)?;
    hget_hmget(con, keys)?;
    hgetall(con, keys)?;
    hlen_hkeys_hvals(con, keys)?;
    hexists(con, keys)?;
    hdel(con, keys)?;
    hincrby(con, keys)?;
    hincrbyfloat(con, keys)?;
    hscan(con, keys)?;
    hscan_iter(con, keys)?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: hset
/// `HSET key field value` writes one field. It answers how many fields it
/// *added*: 1 for a new field, 0 when it only changed an existing one.
/// `HSETNX` writes only a field that does not exist yet.
pub fn hset(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hset(name, key, value) and hsetnx(name, key, value)");
    let user = keys.key("user");
    let _: usize = con.hset(&user, "name", "alex")?;
    let _: usize = con.hset(&user, "name", "alexander")?;
    con.note("0 fields added: `name` existed, its value was replaced");
    let _: bool = con.hset_nx(&user, "name", "bob")?;
    let _: bool = con.hset_nx(&user, "age", 30)?;
    Ok(())
}
// ANCHOR_END: hset

// ANCHOR: hset_many
/// Many fields at once. The notes' `hmset` is the `HMSET` command, and the
/// crate's `hset_multiple` still sends it. Since Redis 4.0 `HSET` itself
/// takes any number of field/value pairs and answers how many were new,
/// so `HMSET` is deprecated; the crate has no method for the new form, so it
/// is sent with `redis::cmd`.
pub fn hset_many(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hmset(name, mapping), and HSET with many fields");
    let user = keys.key("user");
    let () = con.hset_multiple(&user, &[("city", "Beijing"), ("lang", "rust")])?;
    con.note("HMSET (deprecated): answers only OK");
    let added: usize = redis::cmd("HSET")
        .arg(&user)
        .arg(&[("email", "alex@example.com"), ("role", "teacher")])
        .query(con)?;
    con.note(&format!(
        "HSET with pairs (today's way): {added} new fields"
    ));
    Ok(())
}
// ANCHOR_END: hset_many

// ANCHOR: hget_hmget
/// `HGET` reads one field, `HMGET` several; a missing field is nil.
pub fn hget_hmget(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hget(name, key) and hmget(name, keys)");
    let user = keys.key("user");
    let _: Option<String> = con.hget(&user, "name")?;
    let _: Option<String> = con.hget(&user, "nickname")?;
    let fields: (String, u32, Option<String>) = con.hmget(&user, &["name", "age", "nickname"])?;
    con.note(&format!(
        "as a Rust tuple (String, u32, Option<String>): {fields:?}"
    ));
    Ok(())
}
// ANCHOR_END: hget_hmget

// ANCHOR: hgetall
/// `HGETALL` returns every field and value, flat: field, value, field,
/// value. The crate can pair them into a map for you. (Fine for a profile;
/// for a hash with a million fields, use HSCAN, below.)
pub fn hgetall(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hgetall(name)");
    let user: BTreeMap<String, String> = con.hgetall(keys.key("user"))?;
    con.note(&format!("as a BTreeMap: {user:?}"));
    Ok(())
}
// ANCHOR_END: hgetall

// ANCHOR: hlen_hkeys_hvals
/// `HLEN` counts the fields, `HKEYS` lists them, `HVALS` lists the values
/// (in the same order as `HKEYS` when the hash did not change in between).
pub fn hlen_hkeys_hvals(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hlen(name), hkeys(name), hvals(name)");
    let user = keys.key("user");
    let _: usize = con.hlen(&user)?;
    let _: Vec<String> = con.hkeys(&user)?;
    let _: Vec<String> = con.hvals(&user)?;
    Ok(())
}
// ANCHOR_END: hlen_hkeys_hvals

// ANCHOR: hexists
/// `HEXISTS`: is there such a field? 1 or 0, which Rust reads as a bool.
pub fn hexists(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hexists(name, key)");
    let user = keys.key("user");
    let _: bool = con.hexists(&user, "email")?;
    let _: bool = con.hexists(&user, "nickname")?;
    Ok(())
}
// ANCHOR_END: hexists

// ANCHOR: hdel
/// `HDEL key field...` removes fields and answers how many existed. When
/// the last field goes, the key itself is gone.
pub fn hdel(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hdel(name, *keys)");
    let user = keys.key("user");
    let _: usize = con.hdel(&user, &["email", "role", "nickname"])?;
    let _: usize = con.hlen(&user)?;
    Ok(())
}
// ANCHOR_END: hdel

// ANCHOR: hincrby
/// `HINCRBY key field n`: a counter inside a hash, atomic like INCR. A
/// missing field starts from 0.
pub fn hincrby(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hincrby(name, key, amount)");
    let user = keys.key("user");
    let _: i64 = con.hincr(&user, "age", 1)?;
    let _: i64 = con.hincr(&user, "visits", 5)?;
    Ok(())
}
// ANCHOR_END: hincrby

// ANCHOR: hincrbyfloat
/// `HINCRBYFLOAT`: the same with decimals; the crate chooses it when the
/// amount is a float.
pub fn hincrbyfloat(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("hincrbyfloat(name, key, amount)");
    let user = keys.key("user");
    let _: f64 = con.hincr(&user, "balance", 10.5)?;
    let _: f64 = con.hincr(&user, "balance", -0.25)?;
    Ok(())
}
// ANCHOR_END: hincrbyfloat

// ANCHOR: hscan
/// `HSCAN key cursor [MATCH pattern] [COUNT n]` walks a big hash a batch at
/// a time, so neither the server nor the client ever handles it whole.
/// Start with cursor 0; each reply is the next cursor and a batch of
/// field/value pairs; the walk is over when the cursor comes back as 0.
/// `COUNT` is a hint of how much to look at per step, not a promise.
///
/// Returns the fields that were found.
pub fn hscan(con: &mut Echo, keys: &KeySpace) -> RedisResult<BTreeSet<String>> {
    con.section("hscan(name, cursor, match, count)");
    let orders = make_orders(con, keys)?;
    let shown = con.set_array_limit(BATCH_SHOWN);

    let mut found = BTreeSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
            .arg(&orders)
            .arg(cursor)
            .arg("MATCH")
            .arg("order_1*")
            .arg("COUNT")
            .arg(200)
            .query(con)?;
        con.note(&format!(
            "{} matching fields; next cursor {next}",
            batch.len()
        ));
        found.extend(batch.into_iter().map(|(field, _)| field));
        if next == 0 {
            break;
        }
        cursor = next;
    }
    con.set_array_limit(shown);
    con.note(&format!(
        "the cursor is back at 0: done, {} fields match order_1*",
        found.len()
    ));
    Ok(found)
}

/// The big hash the HSCAN examples walk: `order_1` .. `order_1000`, each
/// with an amount, written with one HSET.
fn make_orders(con: &mut Echo, keys: &KeySpace) -> RedisResult<String> {
    let orders = keys.key("orders");
    let fields: Vec<(String, usize)> = (1..=ORDERS)
        .map(|n| (format!("order_{n}"), n * 10))
        .collect();
    let _: usize = redis::cmd("HSET").arg(&orders).arg(&fields).query(con)?;
    let _: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&orders)
        .query(con)?;
    con.note("stored as a hash table: HSCAN has to walk it step by step");
    Ok(orders)
}
// ANCHOR_END: hscan

// ANCHOR: hscan_iter
/// The notes' `hscan_iter` is a generator around that loop. The crate has
/// the same as a Rust `Iterator`: each time its batch runs out, it sends the
/// next HSCAN with the cursor it was given (watch the calls in the output).
/// `con.hscan_match(key, pattern)` makes one; to pass COUNT as well, build
/// the command and turn it into an iterator with `Cmd::iter`.
///
/// Returns how many fields matched and the sum of their amounts.
pub fn hscan_iter(con: &mut Echo, keys: &KeySpace) -> RedisResult<(usize, usize)> {
    con.section("hscan_iter(name, match, count)");
    let orders = keys.key("orders");
    if !con.exists(&orders)? {
        make_orders(con, keys)?;
    }
    let shown = con.set_array_limit(BATCH_SHOWN);
    let mut scan = redis::cmd("HSCAN");
    scan.arg(&orders)
        .cursor_arg(0)
        .arg("MATCH")
        .arg("order_2*")
        .arg("COUNT")
        .arg(200);
    let (mut count, mut total) = (0, 0);
    for pair in scan.iter::<(String, usize)>(con)? {
        let (_field, amount) = pair?;
        count += 1;
        total += amount;
    }
    con.set_array_limit(shown);
    con.note(&format!(
        "the iterator gave {count} fields matching order_2*, amounts adding up to {total}"
    ));
    Ok((count, total))
}
// ANCHOR_END: hscan_iter
