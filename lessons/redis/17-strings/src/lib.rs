//! Lesson 17: Redis strings, one command group at a time.
//!
//! A Redis string is one key holding one value: text, a number, or any bytes
//! up to 512 MB. The functions below follow the list of the course notes, in
//! the same order; each one prints what it sends and what comes back (the
//! connection is a [`support::redis::Echo`]), so the program's output reads
//! like a `redis-cli` session.
//!
//! Run it with `just run lesson-17` (Redis must be up: `just up`).
//!
//! Every key lives under the run's prefix (`lesson17:` unless `--prefix`
//! says otherwise) and is deleted at the end.

use redis::{Commands, ExistenceCheck, RedisResult, SetExpiry, SetOptions};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson17";

// ANCHOR: tour
/// The whole lesson: every group of string commands, in the notes' order.
pub fn tour(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    set(con, keys)?;
    setnx(con, keys)?;
    setex(con, keys)?;
    psetex(con, keys)?;
    mset_mget(con, keys)?;
    getset(con, keys)?;
    getrange(con, keys)?;
    setrange(con, keys)?;
    setbit_getbit(con, keys)?;
    bitcount(con, keys)?;
    online_users(con, keys)?;
    strlen(con, keys)?;
    incr(con, keys)?;
    incrbyfloat(con, keys)?;
    decr(con, keys)?;
    append(con, keys)?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: set
/// `SET` creates a key or overwrites it. Its options give the key a lifetime
/// (`EX` seconds, `PX` milliseconds) or make it conditional (`NX`: only if
/// the key is missing, `XX`: only if it exists).
pub fn set(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("set(name, value, ex, px, nx, xx)");
    let name = keys.key("name");
    let () = con.set(&name, "alex")?;
    let value: String = con.get(&name)?;
    con.note(&format!("the value came back as a Rust String: {value:?}"));

    // A conditional SET answers OK when it did something and nil when it
    // did not, so `Option` tells which.
    let nx = SetOptions::default().conditional_set(ExistenceCheck::NX);
    let done: Option<String> = con.set_options(&name, "bob", nx)?;
    con.note(&format!(
        "NX on an existing key: nothing written ({done:?})"
    ));
    let xx = SetOptions::default().conditional_set(ExistenceCheck::XX);
    let _: Option<String> = con.set_options(&name, "bob", xx.clone())?;
    let _: Option<String> = con.set_options(keys.key("nobody"), "x", xx)?;
    con.note("XX: only keys that exist are overwritten; `nobody` was not created");

    // A key with a lifetime: Redis deletes it by itself when it runs out.
    let ex = SetOptions::default().with_expiration(SetExpiry::EX(30));
    let _: Option<String> = con.set_options(keys.key("session"), "token-1", ex)?;
    let _: i64 = con.ttl(keys.key("session"))?;
    let px = SetOptions::default().with_expiration(SetExpiry::PX(1500));
    let _: Option<String> = con.set_options(keys.key("flash"), "hello", px)?;
    let _: i64 = con.pttl(keys.key("flash"))?;
    Ok(())
}
// ANCHOR_END: set

// ANCHOR: setnx
/// `SETNX` is the old spelling of `SET ... NX`. It answers 1 or 0, and it
/// cannot set an expiry in the same step, which is why a lock today is
/// `SET key owner NX EX seconds`: one atomic command.
pub fn setnx(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("setnx(name, value)");
    let lock = keys.key("lock");
    let first: bool = con.set_nx(&lock, "worker-1")?;
    let second: bool = con.set_nx(&lock, "worker-2")?;
    con.note(&format!(
        "worker-1 got it: {first}; worker-2 got it: {second}"
    ));
    let _: String = con.get(&lock)?;

    let lock_with_expiry = SetOptions::default()
        .conditional_set(ExistenceCheck::NX)
        .with_expiration(SetExpiry::EX(30));
    let _: Option<String> = con.set_options(keys.key("lock2"), "worker-1", lock_with_expiry)?;
    con.note("the modern lock: taken and given a lifetime in one atomic command");
    Ok(())
}
// ANCHOR_END: setnx

// ANCHOR: setex
/// `SETEX key seconds value`: SET with an expiry in seconds. Beware the
/// orders: Redis puts the seconds before the value, Python's `setex` after
/// the value, and the crate's `set_ex(key, value, seconds)` after too.
pub fn setex(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("setex(name, value, time)");
    let code = keys.key("code");
    let () = con.set_ex(&code, "8421", 60)?;
    let _: i64 = con.ttl(&code)?;
    Ok(())
}
// ANCHOR_END: setex

// ANCHOR: psetex
/// `PSETEX key milliseconds value`: the same in milliseconds.
pub fn psetex(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("psetex(name, time_ms, value)");
    let code = keys.key("code-ms");
    let () = con.pset_ex(&code, "8421", 1500)?;
    let _: i64 = con.pttl(&code)?;
    Ok(())
}
// ANCHOR_END: psetex

// ANCHOR: mset_mget
/// `MSET` and `MGET`: many keys in one command, one round trip. A key that
/// does not exist comes back as nil, which Rust reads as `None`.
pub fn mset_mget(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("mset(...) and mget(keys)");
    let (k1, k2) = (keys.key("k1"), keys.key("k2"));
    let () = con.mset(&[(&k1, "v1"), (&k2, "v2")])?;
    let values: Vec<Option<String>> = con.mget(&[&k1, &k2, &keys.key("missing")])?;
    con.note(&format!("in Rust: {values:?}"));
    Ok(())
}
// ANCHOR_END: mset_mget

// ANCHOR: getset
/// `GETSET` writes a new value and returns the old one. It is deprecated
/// since Redis 6.2: `SET key value GET` does the same and can be combined
/// with the other SET options (NX, EX, ...).
pub fn getset(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("getset(name, value)");
    let counter = keys.key("counter");
    let () = con.set(&counter, 10)?;
    let old: Option<i64> = con.getset(&counter, 0)?;
    con.note(&format!(
        "GETSET (deprecated) returned the old value {old:?}"
    ));
    let old: Option<String> = con.set_options(&counter, 5, SetOptions::default().get(true))?;
    con.note(&format!("SET ... GET (today's way) returned {old:?}"));
    let _: i64 = con.get(&counter)?;
    Ok(())
}
// ANCHOR_END: getset

// ANCHOR: getrange
/// `GETRANGE key start end`: a slice of the value, by **byte** positions,
/// both ends included; negative positions count from the end. A Chinese
/// character is 3 bytes in UTF-8, so a range can cut one in half.
pub fn getrange(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("getrange(key, start, end)");
    let title = keys.key("title");
    let () = con.set(&title, "事件驱动")?;
    let first_char: String = con.getrange(&title, 0, 2)?;
    con.note(&format!("bytes 0..=2 are one character: {first_char:?}"));
    // Two bytes are not valid UTF-8: ask for raw bytes, not a String.
    let half: Vec<u8> = con.getrange(&title, 0, 1)?;
    con.note(&format!(
        "bytes 0..=1 are half a character, {half:?}, which is not valid text"
    ));

    let greeting = keys.key("greeting");
    let () = con.set(&greeting, "hello world")?;
    let _: String = con.getrange(&greeting, 0, 4)?;
    let _: String = con.getrange(&greeting, -5, -1)?;
    Ok(())
}
// ANCHOR_END: getrange

// ANCHOR: setrange
/// `SETRANGE key offset value` overwrites bytes from `offset` on, growing
/// the string if needed (with zero bytes if `offset` is past the end).
/// It answers the new length.
pub fn setrange(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("setrange(name, offset, value)");
    let greeting = keys.key("greeting");
    let _: usize = con.setrange(&greeting, 6, "Redis")?;
    let _: String = con.get(&greeting)?;
    let padded = keys.key("padded");
    let _: usize = con.setrange(&padded, 3, "x")?;
    let _: Vec<u8> = con.get(&padded)?;
    Ok(())
}
// ANCHOR_END: setrange

// ANCHOR: setbit_getbit
/// `SETBIT` and `GETBIT` treat the value as a row of bits, bit 0 being the
/// highest bit of the first byte. `"foo"` is `01100110 01101111 01101111`;
/// setting bit 7 turns the `f` (0x66) into a `g` (0x67).
pub fn setbit_getbit(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("setbit(name, offset, value) and getbit(name, offset)");
    let bits = keys.key("bits");
    let () = con.set(&bits, "foo")?;
    let was: bool = con.setbit(&bits, 7, true)?;
    con.note(&format!("SETBIT answers the bit's old value: {was}"));
    let _: String = con.get(&bits)?;
    let _: bool = con.getbit(&bits, 7)?;
    let _: bool = con.getbit(&bits, 1000)?;
    con.note("a bit past the end of the string reads as 0");
    Ok(())
}
// ANCHOR_END: setbit_getbit

// ANCHOR: bitcount
/// `BITCOUNT key [start end [BYTE|BIT]]` counts the bits set to 1. The
/// notes call `start` and `end` bit positions: they are **byte** positions,
/// unless `BIT` is added (Redis 7.0 and later).
pub fn bitcount(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("bitcount(key, start, end)");
    let bits = keys.key("bits"); // "goo" = 01100111 01101111 01101111
    let _: usize = con.bitcount(&bits)?;
    let _: usize = con.bitcount_range(&bits, 0, 0)?;
    con.note("0 0 is the first byte, 'g' = 01100111: five ones");
    // The crate has no method for the BIT option: any command can be sent
    // with `redis::cmd`, argument by argument.
    let _: usize = redis::cmd("BITCOUNT")
        .arg(&bits)
        .arg(0)
        .arg(3)
        .arg("BIT")
        .query(con)?;
    con.note("0 3 BIT is the first four bits, 0110: two ones");
    Ok(())
}
// ANCHOR_END: bitcount

// ANCHOR: online_users
/// The notes' use of bits: who is online, one bit per user id. A million
/// users fit in 125 KB, "is user 7 online" is one GETBIT and "how many are
/// online" one BITCOUNT.
pub fn online_users(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("the online-users bitmap");
    let online = keys.key("online");
    for user_id in [3, 7, 1000] {
        let _: bool = con.setbit(&online, user_id, true)?;
    }
    let count: usize = con.bitcount(&online)?;
    let seven: bool = con.getbit(&online, 7)?;
    let eight: bool = con.getbit(&online, 8)?;
    con.note(&format!(
        "{count} users online; user 7 online: {seven}; user 8 online: {eight}"
    ));
    let _: usize = con.strlen(&online)?;
    con.note("1001 bits need 126 bytes: the string grew to hold bit 1000");

    // Who is online: read the bitmap once and find the 1 bits in Rust.
    let bitmap: Vec<u8> = con.get(&online)?;
    con.note(&format!("online user ids: {:?}", set_bits(&bitmap)));
    Ok(())
}

/// The positions of the bits set to 1, numbered the way SETBIT numbers
/// them: bit 0 is the most significant bit of byte 0.
pub fn set_bits(bitmap: &[u8]) -> Vec<usize> {
    let mut ids = Vec::new();
    for (byte_index, byte) in bitmap.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                ids.push(byte_index * 8 + bit);
            }
        }
    }
    ids
}
// ANCHOR_END: online_users

// ANCHOR: strlen
/// `STRLEN` is the length in **bytes**: four Chinese characters are 12.
pub fn strlen(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("strlen(name)");
    let _: usize = con.strlen(keys.key("name"))?;
    let _: usize = con.strlen(keys.key("title"))?;
    let _: usize = con.strlen(keys.key("missing"))?;
    Ok(())
}
// ANCHOR_END: strlen

// ANCHOR: incr
/// `INCR`/`INCRBY` add to a number stored as a string, atomically: two
/// clients incrementing at once never lose an update. A missing key counts
/// as 0. The crate's `incr(key, n)` always sends `INCRBY key n`.
pub fn incr(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("incr(name, amount)");
    let visits = keys.key("visits");
    let _: i64 = redis::cmd("INCR").arg(&visits).query(con)?;
    let _: i64 = con.incr(&visits, 5)?;

    // A value that is not an integer is refused, and nothing changes.
    let refused: RedisResult<i64> = con.incr(keys.key("name"), 1);
    if let Err(error) = refused {
        con.note(&format!(
            "refused, as it should be: {}",
            error.detail().unwrap_or("?")
        ));
    }
    Ok(())
}
// ANCHOR_END: incr

// ANCHOR: incrbyfloat
/// `INCRBYFLOAT`: the same with decimals. The crate picks it when the
/// amount is a float. The result comes back as a string ("9.75").
pub fn incrbyfloat(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("incrbyfloat(name, amount)");
    let price = keys.key("price");
    let _: f64 = con.incr(&price, 9.5)?;
    let price_now: f64 = con.incr(&price, 0.25)?;
    con.note(&format!("read back as an f64: {price_now}"));
    Ok(())
}
// ANCHOR_END: incrbyfloat

// ANCHOR: decr
/// `DECR`/`DECRBY`: subtract; the result may go below zero.
pub fn decr(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("decr(name, amount)");
    let visits = keys.key("visits");
    let _: i64 = con.decr(&visits, 2)?;
    let _: i64 = con.decr(&visits, 10)?;
    Ok(())
}
// ANCHOR_END: decr

// ANCHOR: append
/// `APPEND` adds to the end of the value (creating it if needed) and
/// answers the new length in bytes.
pub fn append(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("append(key, value)");
    let log = keys.key("log");
    let _: usize = con.append(&log, "start;")?;
    let _: usize = con.append(&log, "stop;")?;
    let _: String = con.get(&log)?;
    Ok(())
}
// ANCHOR_END: append
