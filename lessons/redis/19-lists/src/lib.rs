//! Lesson 19: Redis lists, one command group at a time, and blocking pops
//! fed by a producer.
//!
//! A list is one key holding a sequence of strings, in the order they were
//! pushed. Pushing and popping at either end is fast whatever the length,
//! which makes a list a queue (push right, pop left) or a stack (push and
//! pop left). The blocking pops (`BLPOP`, ...) make it a work queue: a
//! consumer waits on the server until a producer pushes a job.
//!
//! The functions follow the list of the course notes, in order; each prints
//! what it sends and what comes back. Run it with `just run lesson-19`.
//! Every key lives under the run's prefix (`lesson19:` by default) and is
//! deleted at the end.

use std::thread;
use std::time::{Duration, Instant};

use redis::{Client, Commands, ConnectionLike, Direction, ErrorKind, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson19";

/// How long the blocking pops wait before giving up (seconds). The producer
/// answers within milliseconds; this only bounds a run that went wrong.
pub const BLOCK_SECONDS: f64 = 5.0;

/// The timeout of the pop that is *meant* to time out (seconds).
pub const SHORT_TIMEOUT: f64 = 0.5;

// ANCHOR: tour
/// The whole lesson: every group of list commands, in the notes' order.
/// `client` opens the producer's own connection for the blocking pops.
pub fn tour(con: &mut Echo, keys: &KeySpace, client: &Client) -> RedisResult<()> {
    lpush_rpush(con, keys)?;
    lpushx_rpushx(con, keys)?;
    llen(con, keys)?;
    linsert(con, keys)?;
    lset(con, keys)?;
    lrem(con, keys)?;
    lpop_rpop(con, keys)?;
    lindex(con, keys)?;
    lrange(con, keys)?;
    ltrim(con, keys)?;
    rpoplpush(con, keys)?;
    blocking_pops(con, keys, client)?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: lpush_rpush
/// `LPUSH` adds to the left (the head), `RPUSH` to the right (the tail);
/// both take many values and answer the new length. `LPUSH oo 11 22 33`
/// pushes 11 first, so the list reads 33, 22, 11.
pub fn lpush_rpush(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lpush(name, values) and rpush(name, values)");
    let oo = keys.key("oo");
    let _: usize = con.lpush(&oo, &[11, 22, 33])?;
    let _: Vec<i64> = con.lrange(&oo, 0, -1)?;
    let _: usize = con.rpush(&oo, &[44, 55])?;
    let _: Vec<i64> = con.lrange(&oo, 0, -1)?;
    Ok(())
}
// ANCHOR_END: lpush_rpush

// ANCHOR: lpushx_rpushx
/// `LPUSHX`/`RPUSHX` push only onto a list that exists; on a missing key
/// they answer 0 and create nothing.
pub fn lpushx_rpushx(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lpushx(name, value) and rpushx(name, value)");
    let missing = keys.key("missing");
    let _: usize = con.lpush_exists(&missing, "x")?;
    let _: bool = con.exists(&missing)?;
    let oo = keys.key("oo");
    let _: usize = con.lpush_exists(&oo, 0)?;
    let _: usize = con.rpush_exists(&oo, 66)?;
    Ok(())
}
// ANCHOR_END: lpushx_rpushx

// ANCHOR: llen
/// `LLEN`: the length (0 for a missing key).
pub fn llen(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("llen(name)");
    let _: usize = con.llen(keys.key("oo"))?;
    Ok(())
}
// ANCHOR_END: llen

// ANCHOR: linsert
/// `LINSERT key BEFORE|AFTER pivot value` inserts next to the first element
/// equal to `pivot`; -1 if there is no such element.
pub fn linsert(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("linsert(name, where, refvalue, value)");
    let oo = keys.key("oo");
    let _: isize = con.linsert_before(&oo, 11, 10)?;
    let _: isize = con.linsert_after(&oo, 11, 12)?;
    let _: isize = con.linsert_before(&oo, 99, 98)?;
    let _: Vec<i64> = con.lrange(&oo, 0, -1)?;
    Ok(())
}
// ANCHOR_END: linsert

// ANCHOR: lset
/// `LSET key index value` replaces one element; an index outside the list
/// is an error, not a way to grow it.
pub fn lset(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lset(name, index, value)");
    let oo = keys.key("oo");
    let () = con.lset(&oo, 0, "first")?;
    let () = con.lset(&oo, -1, "last")?;
    let refused: RedisResult<()> = con.lset(&oo, 100, "x");
    if let Err(error) = refused {
        con.note(&format!("refused: {}", error.detail().unwrap_or("?")));
    }
    let _: Vec<String> = con.lrange(&oo, 0, -1)?;
    Ok(())
}
// ANCHOR_END: lset

// ANCHOR: lrem
/// `LREM key count value` removes elements equal to `value`: `count` > 0
/// the first `count` from the head, < 0 from the tail, 0 all of them. It
/// answers how many went.
pub fn lrem(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lrem(name, value, num)");
    let letters = keys.key("letters");
    let _: usize = con.rpush(&letters, &["a", "b", "a", "c", "a", "b", "a"])?;
    let _: usize = con.lrem(&letters, 2, "a")?;
    let _: Vec<String> = con.lrange(&letters, 0, -1)?;
    let _: usize = con.lrem(&letters, -1, "a")?;
    let _: Vec<String> = con.lrange(&letters, 0, -1)?;
    let _: usize = con.lrem(&letters, 0, "b")?;
    let _: Vec<String> = con.lrange(&letters, 0, -1)?;
    Ok(())
}
// ANCHOR_END: lrem

// ANCHOR: lpop_rpop
/// `LPOP`/`RPOP` remove and return the first/last element (nil when the
/// list is empty). Since Redis 6.2 they take a count, too.
pub fn lpop_rpop(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lpop(name) and rpop(name)");
    let oo = keys.key("oo");
    let _: Option<String> = con.lpop(&oo, None)?;
    let _: Option<String> = con.rpop(&oo, None)?;
    let two = std::num::NonZeroUsize::new(2);
    let _: Vec<String> = con.lpop(&oo, two)?;
    let _: Option<String> = con.lpop(keys.key("missing"), None)?;
    Ok(())
}
// ANCHOR_END: lpop_rpop

// ANCHOR: lindex
/// `LINDEX key index`: one element by position; negative counts from the
/// end; nil outside the list.
pub fn lindex(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lindex(name, index)");
    let oo = keys.key("oo");
    let _: Option<String> = con.lindex(&oo, 0)?;
    let _: Option<String> = con.lindex(&oo, -1)?;
    let _: Option<String> = con.lindex(&oo, 99)?;
    Ok(())
}
// ANCHOR_END: lindex

// ANCHOR: lrange
/// `LRANGE key start stop`: a slice, **both ends included** (unlike Rust's
/// `start..stop`); `0 -1` is the whole list.
pub fn lrange(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("lrange(name, start, end)");
    let oo = keys.key("oo");
    let _: Vec<String> = con.lrange(&oo, 0, -1)?;
    let _: Vec<String> = con.lrange(&oo, 0, 1)?;
    let _: Vec<String> = con.lrange(&oo, -2, -1)?;
    Ok(())
}
// ANCHOR_END: lrange

// ANCHOR: ltrim
/// `LTRIM key start stop` keeps only that slice: the usual way to cap a
/// list ("keep the last 100 log lines" is `LPUSH` then `LTRIM 0 99`).
pub fn ltrim(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("ltrim(name, start, end)");
    let oo = keys.key("oo");
    let () = con.ltrim(&oo, 1, 3)?;
    let _: Vec<String> = con.lrange(&oo, 0, -1)?;
    Ok(())
}
// ANCHOR_END: ltrim

// ANCHOR: rpoplpush
/// `RPOPLPUSH src dst` moves the last element of one list to the front of
/// another, atomically: a job moves from "to do" to "doing" and is never
/// in neither. Deprecated since Redis 6.2 in favour of `LMOVE src dst
/// RIGHT LEFT`, which can take and put at either end.
pub fn rpoplpush(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("rpoplpush(src, dst)");
    let (tasks, doing) = (keys.key("tasks"), keys.key("doing"));
    let _: usize = con.rpush(&tasks, &["t1", "t2", "t3"])?;
    let _: Option<String> = con.rpoplpush(&tasks, &doing)?;
    con.note("RPOPLPUSH is deprecated; LMOVE says which ends, explicitly:");
    let _: Option<String> = con.lmove(&tasks, &doing, Direction::Right, Direction::Left)?;
    let _: Vec<String> = con.lrange(&doing, 0, -1)?;
    let _: Vec<String> = con.lrange(&tasks, 0, -1)?;
    Ok(())
}
// ANCHOR_END: rpoplpush

// ANCHOR: blocking_pops
/// `BLPOP`, `BRPOP` and `BRPOPLPUSH` (today `BLMOVE`) are the pops of a
/// work queue: when every list named is empty, the server holds the
/// command, and answers as soon as some other client pushes, or nil when
/// the timeout runs out. While it waits, the connection can do nothing
/// else: the producer needs a connection of its own.
///
/// A producer thread pushes one job each time it sees that the consumer is
/// blocked (see [`wait_until_blocked`]), so every pop below really waits.
pub fn blocking_pops(con: &mut Echo, keys: &KeySpace, client: &Client) -> RedisResult<()> {
    con.section("blpop(keys, timeout), brpop(keys, timeout), brpoplpush(src, dst, timeout)");
    let (urgent, normal) = (keys.key("jobs:urgent"), keys.key("jobs:normal"));
    let doing = keys.key("jobs:doing");
    let consumer_id: i64 = con.client_id()?;

    // The producer's lines are tagged, and show only what it sends: its
    // replies would arrive in the middle of the consumer's output.
    let producer = con
        .sibling(client.get_connection()?, "[producer] ")
        .without_replies();
    let pushes = vec![
        Push::new("blpop", &normal, "job-1"),
        Push::new("brpop", &urgent, "job-2"),
        Push::new("brpoplpush", &normal, "job-3"),
        Push::new("blmove", &normal, "job-4"),
    ];
    thread::scope(|scope| {
        let producing = scope.spawn(move || produce(producer, consumer_id, pushes));

        // BLPOP takes the first list, in the order given, that has
        // something; it answers the list's name and the element.
        let got: Option<(String, String)> = con.blpop(&[&urgent, &normal], BLOCK_SECONDS)?;
        con.note(&format!("BLPOP woke up with {got:?}"));
        let _: Option<(String, String)> = con.brpop(&[&urgent, &normal], BLOCK_SECONDS)?;
        let _: Option<String> = con.brpoplpush(&normal, &doing, BLOCK_SECONDS)?;
        con.note("BRPOPLPUSH is deprecated; BLMOVE is the blocking LMOVE:");
        let _: Option<String> = con.blmove(
            &normal,
            &doing,
            Direction::Right,
            Direction::Left,
            BLOCK_SECONDS,
        )?;
        let _: Vec<String> = con.lrange(&doing, 0, -1)?;

        producing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;

    // Nobody pushes this time: the pop gives up after the timeout.
    let started = Instant::now();
    let nothing: Option<(String, String)> = con.blpop(keys.key("jobs:empty"), SHORT_TIMEOUT)?;
    con.note(&format!(
        "nil ({nothing:?}) after waiting {:.1} s: the timeout ran out",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// One job the producer pushes, once the consumer waits in `waits_in`.
struct Push {
    /// The command the consumer must be blocked in, as CLIENT LIST names it.
    waits_in: &'static str,
    /// The list to push onto.
    list: String,
    /// The job.
    job: &'static str,
}

impl Push {
    fn new(waits_in: &'static str, list: &str, job: &'static str) -> Self {
        Push {
            waits_in,
            list: list.to_string(),
            job,
        }
    }
}

/// The producer: for each push, wait until the consumer blocks, then push.
fn produce(mut con: Echo, consumer_id: i64, pushes: Vec<Push>) -> RedisResult<()> {
    for push in pushes {
        wait_until_blocked(con.get_mut(), consumer_id, push.waits_in)?;
        let _: usize = con.rpush(&push.list, push.job)?;
    }
    Ok(())
}
// ANCHOR_END: blocking_pops

// ANCHOR: wait_until_blocked
/// Waits until the client `client_id` is blocked in `command`, as the
/// server sees it: `CLIENT LIST ID <id>` shows `flags=b` and `cmd=blpop`
/// for a client waiting in BLPOP. Polls every 2 ms, for at most 10 s.
pub fn wait_until_blocked(
    con: &mut impl ConnectionLike,
    client_id: i64,
    command: &str,
) -> RedisResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("ID")
            .arg(client_id)
            .query(con)?;
        if is_blocked_in(&line, command) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err((
                ErrorKind::Client,
                "the consumer never blocked",
                format!("waited 10 s for client {client_id} to block in {command}: {line}"),
            )
                .into());
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Reads one `CLIENT LIST` line (`id=7 addr=... flags=b ... cmd=blpop ...`).
fn is_blocked_in(client_line: &str, command: &str) -> bool {
    let field = |name: &str| {
        client_line
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    field("flags").is_some_and(|flags| flags.contains('b')) && field("cmd") == Some(command)
}
// ANCHOR_END: wait_until_blocked

#[cfg(test)]
mod tests {
    #[test]
    fn client_list_lines_are_read_by_field() {
        let line = "id=7 addr=127.0.0.1:5 laddr=x fd=9 name= flags=b db=0 cmd=blpop user=default";
        assert!(super::is_blocked_in(line, "blpop"));
        assert!(!super::is_blocked_in(line, "brpop"));
        assert!(!super::is_blocked_in(
            "id=7 flags=N cmd=client|list",
            "blpop"
        ));
    }
}
