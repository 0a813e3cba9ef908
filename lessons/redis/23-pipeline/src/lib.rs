//! Lesson 23: pipelines, MULTI/EXEC transactions, and WATCH.
//!
//! Each command sent on its own costs a round trip: the client writes it,
//! then waits for the reply before writing the next. On one connection the
//! rate is bounded by the round-trip time, not by Redis. A **pipeline**
//! writes many commands at once and then reads all the replies: one round
//! trip for the lot.
//!
//! A pipeline is not a transaction: other clients' commands can run between
//! its commands. Wrapped in `MULTI` ... `EXEC`, the commands are queued and
//! run together, with nothing in between. (The notes' redis-py pipelines
//! are transactions by default; the Rust crate's `redis::pipe()` is not,
//! until you call `.atomic()`.) And a transaction that must decide from
//! values it read first uses `WATCH`: if anybody changes a watched key
//! before `EXEC`, the transaction is not run, and the client tries again.
//!
//! Run it with `just run lesson-23`; `just bench redis` measures the rates
//! in an optimised build next to `redis-benchmark`'s.

use std::fmt;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use redis::{Client, Commands, ConnectionLike, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson23";

// ANCHOR: notes_transaction
/// The notes' example: two SETs in one transaction. The output shows what
/// the crate sends: `MULTI`, the commands, `EXEC`, in one write; `EXEC`
/// answers with the replies of all the queued commands.
pub fn notes_transaction(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("a transaction: pipe().atomic()");
    let () = redis::pipe()
        .atomic()
        .set(keys.key("name"), "alex")
        .set(keys.key("role"), "teacher")
        .query(con)?;

    con.section("a pipeline that is not a transaction: pipe()");
    let (name, role): (String, String) = redis::pipe()
        .get(keys.key("name"))
        .get(keys.key("role"))
        .query(con)?;
    con.note(&format!("one round trip, two replies: {name:?}, {role:?}"));
    Ok(())
}
// ANCHOR_END: notes_transaction

// ANCHOR: timing
/// How long a number of SETs took one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Which way they were sent.
    pub how: String,
    /// How many SETs.
    pub sets: usize,
    /// Wall-clock time for all of them, replies included.
    pub elapsed: Duration,
}

impl Timing {
    /// SETs per second.
    pub fn rate(&self) -> f64 {
        self.sets as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<34} {:>7} SETs in {:>7.3} s = {:>9.0} SET/s",
            self.how,
            self.sets,
            self.elapsed.as_secs_f64(),
            self.rate()
        )
    }
}

/// The key of the `i`th SET of a timing run: `<prefix>:set:<i>`.
fn set_key(keys: &KeySpace, i: usize) -> String {
    format!("{}:set:{i}", keys.prefix())
}
// ANCHOR_END: timing

// ANCHOR: round_trips
/// `n` SETs, each sent on its own: write one, wait for its OK, write the
/// next. `n` round trips.
pub fn by_round_trips(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
) -> RedisResult<Timing> {
    let started = Instant::now();
    for i in 0..n {
        let () = con.set(set_key(keys, i), i)?;
    }
    Ok(Timing {
        how: "one by one (a round trip each)".into(),
        sets: n,
        elapsed: started.elapsed(),
    })
}
// ANCHOR_END: round_trips

// ANCHOR: pipeline
/// `n` SETs in pipelines of `batch` commands: each batch is written in one
/// go, then its replies are read. `n / batch` round trips. With `batch`
/// equal to `n`, the whole lot is one pipeline.
pub fn by_pipeline(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
    batch: usize,
) -> RedisResult<Timing> {
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let mut pipe = redis::pipe();
        for j in i..n.min(i + batch) {
            // `ignore()`: we do not want n OKs back as a Vec.
            pipe.set(set_key(keys, j), j).ignore();
        }
        let () = pipe.query(con)?;
        i += batch;
    }
    let how = if batch >= n {
        "one pipeline".to_string()
    } else {
        format!("pipelines of {batch}")
    };
    Ok(Timing {
        how,
        sets: n,
        elapsed: started.elapsed(),
    })
}

/// The same in one `MULTI` ... `EXEC`: one round trip too, and no other
/// client's command runs in the middle. Redis holds the queued commands
/// until EXEC, so a transaction of a million commands costs memory: keep
/// transactions to what must be atomic.
pub fn by_transaction(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
) -> RedisResult<Timing> {
    let started = Instant::now();
    let mut pipe = redis::pipe();
    pipe.atomic();
    for i in 0..n {
        pipe.set(set_key(keys, i), i).ignore();
    }
    let () = pipe.query(con)?;
    Ok(Timing {
        how: "one MULTI/EXEC transaction".into(),
        sets: n,
        elapsed: started.elapsed(),
    })
}
// ANCHOR_END: pipeline

// ANCHOR: compare
/// Sends `n` SETs each way, on this connection, and prints the times and
/// how many times faster than one by one. (Not printed command by command:
/// the printing would be slower than Redis.)
pub fn compare(con: &mut Echo, keys: &KeySpace, n: usize) -> RedisResult<Vec<Timing>> {
    con.section(&format!(
        "{n} SETs: one by one, pipelined, in a transaction"
    ));
    let raw = con.get_mut();
    let timings = vec![
        by_round_trips(raw, keys, n)?,
        by_pipeline(raw, keys, n, n)?,
        by_pipeline(raw, keys, n, 16)?,
        by_transaction(raw, keys, n)?,
    ];
    let base = timings[0].rate();
    for timing in &timings {
        con.note(&format!("{timing}  ({:.1}x)", timing.rate() / base));
    }
    // Every way wrote the same keys; the last one holds its index.
    let _: Option<usize> = con.get(set_key(keys, n.saturating_sub(1)))?;
    Ok(timings)
}
// ANCHOR_END: compare

// ANCHOR: transfer
/// What became of one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Done; `retries` times another client changed a balance first and
    /// the transaction was thrown away and tried again.
    Done { retries: u32 },
    /// Not enough money in the account.
    Refused,
}

/// Moves `amount` from one account to another with optimistic locking:
///
/// 1. `WATCH` the balance we are going to read, then read it;
/// 2. decide (enough money?) and compute the new balance;
/// 3. `MULTI`, `SET` the new balance, `INCRBY` the other account, `EXEC`.
///
/// If any client changed the watched key between 1 and 3, `EXEC` runs
/// nothing and answers nil (`None` in Rust): we read again and retry.
/// Nothing is ever locked, so nobody waits; a client that lost the race
/// simply pays with another round. (The crate's `redis::transaction` helper
/// wraps the same loop.)
pub fn transfer(
    con: &mut impl ConnectionLike,
    from: &str,
    to: &str,
    amount: i64,
) -> RedisResult<Transfer> {
    let mut retries = 0;
    loop {
        redis::cmd("WATCH").arg(from).exec(con)?;
        let have: i64 = con.get(from)?;
        if have < amount {
            redis::cmd("UNWATCH").exec(con)?;
            return Ok(Transfer::Refused);
        }
        let done: Option<()> = redis::pipe()
            .atomic()
            .set(from, have - amount)
            .ignore()
            .incr(to, amount)
            .ignore()
            .query(con)?;
        match done {
            Some(()) => return Ok(Transfer::Done { retries }),
            None => retries += 1, // EXEC said nil: somebody was faster
        }
    }
}

/// The same without WATCH and MULTI: read, compute, write. Between the read
/// and the write another client can write the same balance, and one of the
/// two debits is lost while both credits land: money appears out of
/// nowhere. Here to be compared, not copied.
pub fn naive_transfer(
    con: &mut impl ConnectionLike,
    from: &str,
    to: &str,
    amount: i64,
) -> RedisResult<Transfer> {
    let have: i64 = con.get(from)?;
    if have < amount {
        return Ok(Transfer::Refused);
    }
    let () = con.set(from, have - amount)?;
    let _: i64 = con.incr(to, amount)?;
    Ok(Transfer::Done { retries: 0 })
}
// ANCHOR_END: transfer

// ANCHOR: transfers_at_once
/// What many clients transferring at once did to two accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfers {
    /// Both balances together before, and after.
    pub total_before: i64,
    pub total_after: i64,
    /// Transfers done, refused, and transactions retried.
    pub done: u32,
    pub refused: u32,
    pub retries: u32,
}

/// `workers` clients, each on a connection of its own (WATCH belongs to a
/// connection), each making `each` transfers between accounts A and B,
/// half of them one way and half the other, all starting at the same
/// moment (a barrier). `watched` picks [`transfer`] or [`naive_transfer`].
pub fn transfers_at_once(
    client: &Client,
    keys: &KeySpace,
    (workers, each): (usize, usize),
    watched: bool,
) -> RedisResult<Transfers> {
    let (a, b) = (keys.key("account:a"), keys.key("account:b"));
    let mut con = client.get_connection()?;
    let () = con.mset(&[(&a, 1000), (&b, 1000)])?;
    let start = Barrier::new(workers);

    let results: Vec<RedisResult<(u32, u32, u32)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (a, b, start) = (&a, &b, &start);
                scope.spawn(move || {
                    let mut con = client.get_connection()?;
                    let (from, to) = if worker % 2 == 0 { (a, b) } else { (b, a) };
                    let (mut done, mut refused, mut retries) = (0, 0, 0);
                    start.wait();
                    for i in 0..each {
                        let amount = (i % 9 + 1) as i64;
                        let outcome = if watched {
                            transfer(&mut con, from, to, amount)?
                        } else {
                            naive_transfer(&mut con, from, to, amount)?
                        };
                        match outcome {
                            Transfer::Done { retries: r } => {
                                (done, retries) = (done + 1, retries + r)
                            }
                            Transfer::Refused => refused += 1,
                        }
                    }
                    Ok((done, refused, retries))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });

    let mut report = Transfers {
        total_before: 2000,
        total_after: 0,
        done: 0,
        refused: 0,
        retries: 0,
    };
    for result in results {
        let (done, refused, retries) = result?;
        report.done += done;
        report.refused += refused;
        report.retries += retries;
    }
    let (after_a, after_b): (i64, i64) = con.mget(&[&a, &b])?;
    report.total_after = after_a + after_b;
    Ok(report)
}

/// Runs the race both ways and prints what happened to the money.
pub fn race(
    con: &mut Echo,
    keys: &KeySpace,
    client: &Client,
    workers_each: (usize, usize),
) -> RedisResult<()> {
    let (workers, each) = workers_each;
    con.section(&format!(
        "{workers} clients, {each} transfers each, between two accounts of 1000"
    ));
    for watched in [false, true] {
        let r = transfers_at_once(client, keys, workers_each, watched)?;
        let how = if watched {
            "with WATCH + MULTI/EXEC"
        } else {
            "without (read, then write)"
        };
        let verdict = if r.total_after == r.total_before {
            "the total is intact"
        } else {
            "money appeared or vanished: lost updates"
        };
        con.note(&format!(
            "{how:<27}: total {} -> {} ({verdict}); {} done, {} refused, {} retried",
            r.total_before, r.total_after, r.done, r.refused, r.retries
        ));
    }
    Ok(())
}
// ANCHOR_END: transfers_at_once
