//! Lesson 22: commands that work on keys of any type.
//!
//! Lessons 17 to 21 each worked inside one type of value. These commands
//! work on the keys themselves, whatever they hold: delete them, test them,
//! find them by pattern, give them a lifetime, rename them, move them to
//! another database, ask their type, and walk them all with SCAN.
//!
//! The functions follow the list of the course notes, in order; each prints
//! what it sends and what comes back. Run it with `just run lesson-22`.
//! Every key lives under the run's prefix (`lesson22:` by default) and is
//! deleted at the end.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use redis::{Commands, ConnectionLike, RedisResult, ScanOptions, ValueType};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson22";

/// How many keys the SCAN example makes: enough for SCAN to need several
/// steps.
pub const USERS: usize = 300;

/// How many elements of each SCAN batch the output shows.
const BATCH_SHOWN: usize = 4;

// ANCHOR: tour
/// The whole lesson: every group of key commands, in the notes' order.
pub fn tour(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    delete(con, keys)?;
    exists(con, keys)?;
    keys_patterns(con, keys)?;
    expire(con, keys)?;
    rename(con, keys)?;
    move_to_db(con, keys)?;
    randomkey(con, keys)?;
    key_type(con, keys)?;
    scan(con, keys)?;
    scan_iter(con, keys)?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: delete
/// `DEL key...` deletes keys of any type and answers how many existed.
/// `UNLINK` does the same but frees the memory in the background: better
/// for a big hash or list, which DEL would free while every client waits.
pub fn delete(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("delete(*names)");
    let (a, b, c) = (keys.key("a"), keys.key("b"), keys.key("c"));
    let () = con.mset(&[(&a, 1), (&b, 2), (&c, 3)])?;
    let _: usize = con.del(&[&a, &b, &keys.key("nope")])?;
    let _: usize = con.unlink(keys.key("nope"))?;
    Ok(())
}
// ANCHOR_END: delete

// ANCHOR: exists
/// `EXISTS key...` counts how many of the keys exist (a key named twice
/// counts twice). With one key, that is 1 or 0: a bool in Rust.
pub fn exists(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("exists(name)");
    let (a, c) = (keys.key("a"), keys.key("c"));
    let c_exists: bool = con.exists(&c)?;
    let a_exists: bool = con.exists(&a)?;
    con.note(&format!("c exists: {c_exists}, a exists: {a_exists}"));
    let _: usize = con.exists(&[&c, &c, &a])?;
    Ok(())
}
// ANCHOR_END: exists

// ANCHOR: keys_patterns
/// `KEYS pattern` lists the keys matching a glob pattern: `?` is one
/// character, `*` any run of characters, `[ae]` one of those characters.
///
/// KEYS looks at every key of the database in one go, and Redis serves
/// nobody else meanwhile: on a server with millions of keys that is a
/// pause everybody feels. Use it at the prompt; in programs use SCAN
/// (below). The order of the reply means nothing.
pub fn keys_patterns(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("keys(pattern)");
    let words = ["hello", "hallo", "hxllo", "hllo", "heeeeello", "hillo"];
    let pairs: Vec<(String, usize)> = words.iter().map(|w| (keys.key(w), 1)).collect();
    let () = con.mset(&pairs)?;
    for glob in ["h?llo", "h*llo", "h[ae]llo"] {
        let found: BTreeSet<String> = con.keys(keys.glob(glob))?;
        let names: Vec<&str> = found
            .iter()
            .filter_map(|key| key.strip_prefix(&keys.key("")))
            .collect();
        con.note(&format!("{glob} matches {names:?}"));
    }
    Ok(())
}
// ANCHOR_END: keys_patterns

// ANCHOR: expire
/// `EXPIRE key seconds` gives an existing key a lifetime; `TTL` tells what
/// is left (-1: no expiry, -2: no such key); `PERSIST` takes the lifetime
/// away again. When it runs out, Redis deletes the key by itself.
pub fn expire(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("expire(name, time)");
    let temp = keys.key("temp");
    let () = con.set(&temp, "short-lived")?;
    let _: bool = con.expire(&temp, 100)?;
    let _: i64 = con.ttl(&temp)?;
    let _: bool = con.persist(&temp)?;
    let _: i64 = con.ttl(&temp)?;
    let _: i64 = con.ttl(keys.key("nope"))?;

    // Watch one run out: 100 ms to live. Rather than sleep for a guessed
    // time, ask Redis (not shown) how long the key has left, until it says
    // -2: gone.
    let _: bool = con.pexpire(&temp, 100)?;
    wait_until_gone(con.get_mut(), &temp, EXPIRY_PATIENCE)?;
    let _: bool = con.exists(&temp)?;
    con.note("gone: Redis deleted it when its time was up");
    Ok(())
}

/// How long [`expire`] waits for its 100 ms key to run out: far more than
/// it needs, so that only a server that never expires it fails.
pub const EXPIRY_PATIENCE: Duration = Duration::from_secs(10);

/// Polls `PTTL key` until the key is gone (-2), sleeping for what it has
/// left between two looks; an error if it is still there after `patience`.
pub fn wait_until_gone(
    con: &mut impl ConnectionLike,
    key: &str,
    patience: Duration,
) -> RedisResult<()> {
    let deadline = Instant::now() + patience;
    loop {
        let left: i64 = con.pttl(key)?;
        if left == -2 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err((
                redis::ErrorKind::Client,
                "the key did not expire",
                format!("{key} still exists after {patience:?} (PTTL {left})"),
            )
                .into());
        }
        // -1 (no expiry) would be waited out to the deadline, a short look
        // at a time.
        let pause = u64::try_from(left).unwrap_or(0).clamp(1, 50);
        thread::sleep(Duration::from_millis(pause));
    }
}
// ANCHOR_END: expire

// ANCHOR: rename
/// `RENAME src dst` gives a key a new name, overwriting `dst` if it
/// exists; renaming a missing key is an error. `RENAMENX` renames only if
/// `dst` does not exist.
pub fn rename(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("rename(src, dst)");
    let (old, new) = (keys.key("old"), keys.key("new"));
    let () = con.set(&old, "v")?;
    let () = con.rename(&old, &new)?;
    let _: bool = con.exists(&old)?;
    let _: String = con.get(&new)?;
    let refused: RedisResult<()> = con.rename(keys.key("nope"), keys.key("x"));
    if let Err(error) = refused {
        con.note(&format!("refused: {}", error.detail().unwrap_or("?")));
    }
    let _: bool = con.rename_nx(&new, keys.key("c"))?;
    con.note("RENAMENX: c exists, so nothing was renamed");
    Ok(())
}
// ANCHOR_END: rename

// ANCHOR: move_to_db
/// `MOVE key db` moves a key to another of the server's numbered databases
/// (16 by default, 0 to 15; a connection starts in the one its URL names).
/// It answers 0 if the key is missing here or already exists there. The
/// crate has no method for MOVE: `redis::cmd` sends any command.
///
/// To look at the other database, this connection switches to it with
/// `SELECT`, and back (also if something fails in between).
pub fn move_to_db(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("move(name, db)");
    let here = con.get_db();
    let there = other_db(here);
    let new = keys.key("new");
    let _: bool = redis::cmd("MOVE").arg(&new).arg(there).query(con)?;
    let _: bool = con.exists(&new)?;

    let () = redis::cmd("SELECT").arg(there).query(con)?;
    let seen_there: RedisResult<Option<String>> = con.get(&new);
    // Deleted there at once: the run's clean-up only looks at its own
    // database.
    let deleted: RedisResult<usize> = con.del(&new);
    let () = redis::cmd("SELECT").arg(here).query(con)?;
    con.note(&format!("in database {there} it was {:?}", seen_there?));
    deleted?;
    Ok(())
}

/// The database MOVE sends keys to: 1, or 2 when the lesson runs in 1.
pub fn other_db(here: i64) -> i64 {
    if here == 1 { 2 } else { 1 }
}
// ANCHOR_END: move_to_db

// ANCHOR: randomkey
/// `RANDOMKEY` names a random key of the **whole database**, not only of
/// this lesson (nil if the database is empty).
pub fn randomkey(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("randomkey()");
    let picked: Option<String> = redis::cmd("RANDOMKEY").query(con)?;
    let ours = picked
        .as_deref()
        .is_some_and(|key| key.starts_with(&keys.key("")));
    con.note(&format!("one of this lesson's keys: {ours}"));
    Ok(())
}
// ANCHOR_END: randomkey

// ANCHOR: key_type
/// `TYPE key` says what a key holds: string, list, hash, set or zset (or
/// none). Every command works on one type only; using it on a key of
/// another type is refused with `WRONGTYPE`, and nothing is changed.
pub fn key_type(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("type(name)");
    let _: usize = con.rpush(keys.key("list"), "x")?;
    let _: usize = con.hset(keys.key("hash"), "field", "x")?;
    let _: usize = con.sadd(keys.key("set"), "x")?;
    let _: usize = con.zadd(keys.key("zset"), "x", 1)?;
    for name in ["c", "list", "hash", "set", "zset", "nope"] {
        let _: ValueType = con.key_type(keys.key(name))?;
    }

    // A list command on a string: refused.
    let refused: RedisResult<usize> = con.lpush(keys.key("c"), "x");
    if let Err(error) = refused {
        con.note(&support::redis::describe(&error).replace('\n', "\n# "));
    }
    let _: String = con.get(keys.key("c"))?;
    con.note("the string is untouched");
    Ok(())
}
// ANCHOR_END: key_type

// ANCHOR: scan
/// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]` walks the keys of the
/// database a batch at a time, like HSCAN walks a hash, without KEYS's
/// long pause. MATCH is applied after each batch is picked, so a batch can
/// be empty while the walk is not over: only cursor 0 means done. A key
/// that exists the whole time is returned at least once (maybe twice).
///
/// Returns the keys it found.
pub fn scan(con: &mut Echo, keys: &KeySpace) -> RedisResult<BTreeSet<String>> {
    con.section("scan(cursor, match, count)");
    let users: Vec<(String, usize)> = (1..=USERS)
        .map(|n| (keys.key(&format!("user:{n}")), n))
        .collect();
    let () = con.mset(&users)?;
    let shown = con.set_array_limit(BATCH_SHOWN);
    let mut found = BTreeSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(keys.glob("user:1*"))
            .arg("COUNT")
            .arg(100)
            .query(con)?;
        found.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    con.set_array_limit(shown);
    con.note(&format!(
        "back at cursor 0: {} keys match user:1*",
        found.len()
    ));
    Ok(found)
}
// ANCHOR_END: scan

// ANCHOR: scan_iter
/// The notes' `scan_iter`: the crate's `scan_options` returns an
/// `Iterator` over the keys, sending SCAN again whenever its batch runs
/// out; `ScanOptions` carries MATCH, COUNT and TYPE. Here it counts this
/// run's keys, and then only its hashes.
pub fn scan_iter(con: &mut Echo, keys: &KeySpace) -> RedisResult<(usize, usize)> {
    con.section("scan_iter(match, count)");
    let shown = con.set_array_limit(BATCH_SHOWN);
    let everything = ScanOptions::default()
        .with_pattern(keys.pattern())
        .with_count(500);
    let all = count_keys(con, everything)?;
    let hashes = ScanOptions::default()
        .with_pattern(keys.pattern())
        .with_count(500)
        .with_type("hash");
    let only_hashes = count_keys(con, hashes)?;
    con.set_array_limit(shown);
    con.note(&format!(
        "this run has {all} keys, {only_hashes} of them hashes"
    ));
    Ok((all, only_hashes))
}

/// Counts the keys a SCAN with these options walks over.
fn count_keys(con: &mut impl ConnectionLike, options: ScanOptions) -> RedisResult<usize> {
    let mut count = 0;
    for key in con.scan_options::<String>(options)? {
        key?;
        count += 1;
    }
    Ok(count)
}
// ANCHOR_END: scan_iter
