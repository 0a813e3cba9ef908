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
//! This file holds those three ways to send SETs and the WATCHed transfer.
//! `timing.rs` times and compares the ways, `race.rs` lets clients race to
//! move money (with [`transfer`] and without WATCH), `notes.rs` is the
//! notes' own transaction. Run it with `just run lesson-23`; `just bench
//! redis` measures the rates in an optimised build next to
//! `redis-benchmark`'s.

use std::time::Instant;

use redis::{Commands, ConnectionLike, RedisResult};
use support::redis::KeySpace;

mod notes;
mod race;
mod timing;

pub use notes::{DEFAULT_PREFIX, notes_transaction};
pub use race::{Transfer, Transfers, naive_transfer, race, transfers_at_once};
use timing::set_key;
pub use timing::{Timing, compare};

// ANCHOR: round_trips
/// `n` SETs, each sent on its own: write one, wait for its OK, write the
/// next. `n` round trips.
pub fn by_round_trips(
    con: &mut impl ConnectionLike,
    keys: &KeySpace,
    n: usize,
) -> RedisResult<Timing> {
    // EXERCISE: n SETs, each sent after the previous reply came back
    let started = Instant::now();
    for i in 0..n {
        let () = con.set(set_key(keys, i), i)?;
    }
    Ok(Timing {
        how: "one by one (a round trip each)".into(),
        sets: n,
        elapsed: started.elapsed(),
    })
    // EXERCISE_END
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
    // EXERCISE: the same n SETs in pipelines of batch commands, each queried once
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
    // EXERCISE_END
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
    // EXERCISE: the same n SETs between MULTI and EXEC
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
    // EXERCISE_END
}
// ANCHOR_END: pipeline

// ANCHOR: transfer
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
    // EXERCISE: WATCH, GET, MULTI/SET/INCRBY/EXEC, and again if EXEC says nil
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
    // EXERCISE_END
}

// ANCHOR_END: transfer
