//! Exercise 23: round trips, pipelines, transactions, and WATCH.
//!
//! The program (lesson 23's own `pipeline`, built on your library) times
//! the same SETs sent three ways, then lets clients race to move money
//! between two accounts. Timing and comparing (`timing.rs`), the race
//! (`race.rs`) and the notes' transaction (`notes.rs`) are lesson 23's own
//! code, compiled into this crate. Four bodies are yours, marked `todo!()`;
//! write them in this order:
//!
//! 1. [`by_round_trips`]: one SET per round trip.
//! 2. [`by_pipeline`]: the same SETs in pipelines, one round trip per batch.
//! 3. [`by_transaction`]: the same SETs in one MULTI/EXEC.
//! 4. [`transfer`]: move money with WATCH, and retry when EXEC says nil.
//!
//! Run it with `cargo run -p exercise-23-pipeline` (start Redis first with
//! `just up`), and check it with `just check pipeline`. Lesson 23's chapter
//! explains every idea you need.
//!
//! Written by `just exercises` from the lesson's own code,
//! `lessons/redis/23-pipeline/src/lib.rs`,
//! with the bodies you write replaced by `todo!()`.
// Until you write the todo!() bodies, their parameters, what they
// would import and the given code they would call are unused.
#![allow(unused_variables, unused_imports, dead_code)]

use std::time::Instant;

use redis::{Commands, ConnectionLike, RedisResult};
use support::redis::KeySpace;

#[path = "../../../../lessons/redis/23-pipeline/src/notes.rs"]
mod notes;
#[path = "../../../../lessons/redis/23-pipeline/src/race.rs"]
mod race;
#[path = "../../../../lessons/redis/23-pipeline/src/timing.rs"]
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
    todo!("n SETs, each sent after the previous reply came back")
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
    todo!("the same n SETs in pipelines of batch commands, each queried once")
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
    todo!("the same n SETs between MULTI and EXEC")
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
    todo!("WATCH, GET, MULTI/SET/INCRBY/EXEC, and again if EXEC says nil")
}

// ANCHOR_END: transfer
