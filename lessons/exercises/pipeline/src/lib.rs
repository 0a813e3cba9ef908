//! Exercise 23: round trips, pipelines, MULTI/EXEC and WATCH, written by you.
//!
//! Everything around the Redis commands is given: timing each way of
//! sending, printing the comparison, and the race in which several clients
//! move money between two accounts at once. Four functions are missing,
//! marked `todo!()`; write them in this order:
//!
//! 1. [`by_round_trips`]: N SETs, each one sent on its own;
//! 2. [`by_pipeline`]: the same N SETs in one pipeline;
//! 3. [`by_transaction`]: the same in one MULTI/EXEC transaction;
//! 4. [`transfer`]: move money from one account to another, safely while
//!    other clients do the same, with WATCH.
//!
//! Run it with `cargo run -p exercise-23-pipeline -- --sets 1000` (Redis
//! must be up: `just up`), and check it with `just check pipeline`. Lesson
//! 23's chapter explains every idea you need.

use std::fmt;
use std::sync::Barrier;
use std::time::Duration;

use redis::{Client, Commands, ConnectionLike, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key the program makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "exercise23";

// ANCHOR: timing
/// How long a number of SETs took one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Which way they were sent, for the printout.
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
            "{:<32} {:>7} SETs in {:>7.3} s = {:>9.0} SET/s",
            self.how,
            self.sets,
            self.elapsed.as_secs_f64(),
            self.rate()
        )
    }
}

/// The key of the `i`th SET: `<prefix>:set:<i>`. Every way of sending sets
/// the same keys: key `<prefix>:set:<i>` gets the value `i`.
pub fn set_key(keys: &KeySpace, i: usize) -> String {
    keys.key(&format!("set:{i}"))
}
// ANCHOR_END: timing

// ANCHOR: todo_sets
/// Sets `set_key(keys, i)` to `i` for every `i` in `0..n`, one command at
/// a time: send a SET, wait for its OK, send the next. That is `n` round
/// trips. Returns how long it took, as a [`Timing`] (take the time with
/// `std::time::Instant::now()` before and `.elapsed()` after).
///
/// Hint: `con.set(key, value)` from [`redis::Commands`] sends one SET and
/// waits for its reply; write `let () = con.set(..)?;` to say that you
/// expect nothing back but OK.
pub fn by_round_trips(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
) -> RedisResult<Timing> {
    let _ = (con, keys, n);
    todo!("n SETs, each sent after the previous reply came back")
}

/// The same `n` SETs in one pipeline: write all of them, then read all the
/// replies. One round trip for the lot.
///
/// Hint: `let mut pipe = redis::pipe();`, then `pipe.set(key, value)` for
/// each key, with `.ignore()` so that the `n` OKs are not collected into a
/// value; then one `pipe.query::<()>(con)?` sends everything.
pub fn by_pipeline(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
) -> RedisResult<Timing> {
    let _ = (con, keys, n);
    todo!("the same n SETs in one pipeline, queried once")
}

/// The same `n` SETs in one transaction: `MULTI`, the SETs, `EXEC`, sent in
/// one go. Redis queues the SETs (answering `QUEUED` to each) and runs them
/// all at EXEC, with no other client's command in between.
///
/// Hint: the pipeline of [`by_pipeline`], with `.atomic()`.
pub fn by_transaction(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
) -> RedisResult<Timing> {
    let _ = (con, keys, n);
    todo!("the same n SETs between MULTI and EXEC")
}
// ANCHOR_END: todo_sets

// ANCHOR: compare
/// Sends `n` SETs each way and prints how long each way took, and how many
/// times faster than one by one it was.
pub fn compare(con: &mut Echo, keys: &KeySpace, n: usize) -> RedisResult<Vec<Timing>> {
    con.section(&format!(
        "{n} SETs: one by one, in a pipeline, in a transaction"
    ));
    // The raw connection: printing every one of the n commands would take
    // longer than Redis takes to run them.
    let raw = con.get_mut();
    let timings = vec![
        by_round_trips(raw, keys, n)?,
        by_pipeline(raw, keys, n)?,
        by_transaction(raw, keys, n)?,
    ];
    let base = timings[0].rate();
    for timing in &timings {
        con.note(&format!("{timing}  ({:.1}x)", timing.rate() / base));
    }
    Ok(timings)
}
// ANCHOR_END: compare

// ANCHOR: transfer_types
/// What became of one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Done. `retries`: how many times another client changed the balance
    /// first, so that the transaction did not run and was tried again.
    Done { retries: u32 },
    /// Not enough money in the account: nothing was moved.
    Refused,
}
// ANCHOR_END: transfer_types

// ANCHOR: todo_transfer
/// Moves `amount` from the account `from` to the account `to` (two keys
/// holding integers), correctly even while other clients move money
/// between the same accounts. Optimistic locking, in a loop:
///
/// 1. `WATCH from`, then `GET from`: the balance;
/// 2. not enough money? `UNWATCH` and return [`Transfer::Refused`];
/// 3. a transaction: `MULTI`, `SET from <balance - amount>`,
///    `INCRBY to amount`, `EXEC`;
/// 4. if another client changed `from` after the WATCH, Redis does not run
///    the transaction and EXEC answers nil: count a retry and go back to 1.
///    Otherwise return [`Transfer::Done`].
///
/// Hints: `redis::cmd("WATCH").arg(from).exec(con)?` sends WATCH. Build
/// step 3 as in [`by_transaction`], and query it as an `Option<()>`:
/// `None` is EXEC's nil, `Some(())` a transaction that ran (with both
/// commands `.ignore()`d).
pub fn transfer(
    con: &mut impl ConnectionLike,
    from: &str,
    to: &str,
    amount: i64,
) -> RedisResult<Transfer> {
    let _ = (con, from, to, amount);
    todo!("WATCH, GET, MULTI/SET/INCRBY/EXEC, and again if EXEC says nil")
}
// ANCHOR_END: todo_transfer

// ANCHOR: naive_transfer
/// The obvious way, for comparison: read, decide, write, with nothing to
/// stop another client from writing the same balance between our read and
/// our write. One of the two debits is then lost, while both credits land.
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
// ANCHOR_END: naive_transfer

// ANCHOR: race
/// What a race did to the two accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfers {
    /// Both balances together, before and after.
    pub total_before: i64,
    pub total_after: i64,
    /// Transfers done and refused, and transactions retried.
    pub done: u32,
    pub refused: u32,
    pub retries: u32,
}

/// `workers` clients, each on its own connection (a WATCH belongs to the
/// connection that sent it), start at the same moment and make `each`
/// transfers between `<prefix>:account:a` and `<prefix>:account:b`, half
/// of the clients one way and half the other. `watched` chooses
/// [`transfer`] or [`naive_transfer`].
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

    let results: Vec<RedisResult<Transfers>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (a, b, start) = (&a, &b, &start);
                scope.spawn(move || {
                    let mut con = client.get_connection()?;
                    let (from, to) = if worker % 2 == 0 { (a, b) } else { (b, a) };
                    let mut mine = Transfers {
                        total_before: 0,
                        total_after: 0,
                        done: 0,
                        refused: 0,
                        retries: 0,
                    };
                    start.wait();
                    for i in 0..each {
                        let amount = (i % 9 + 1) as i64;
                        let outcome = if watched {
                            transfer(&mut con, from, to, amount)?
                        } else {
                            naive_transfer(&mut con, from, to, amount)?
                        };
                        match outcome {
                            Transfer::Done { retries } => {
                                mine.done += 1;
                                mine.retries += retries;
                            }
                            Transfer::Refused => mine.refused += 1,
                        }
                    }
                    Ok(mine)
                })
            })
            .collect();
        // A panic in a client (a `todo!()`) is passed on as it is.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });

    let mut all = Transfers {
        total_before: 2000,
        total_after: 0,
        done: 0,
        refused: 0,
        retries: 0,
    };
    for result in results {
        let mine = result?;
        all.done += mine.done;
        all.refused += mine.refused;
        all.retries += mine.retries;
    }
    let (after_a, after_b): (i64, i64) = con.mget(&[&a, &b])?;
    all.total_after = after_a + after_b;
    Ok(all)
}

/// The race without WATCH, then with it, and what became of the money.
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
// ANCHOR_END: race
