//! Timing the three ways of `lib.rs` to send the same SETs, side by side.

use std::fmt;
use std::time::Duration;

use redis::{Commands, RedisResult};
use support::redis::{Echo, KeySpace};

use crate::{by_pipeline, by_round_trips, by_transaction};

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
pub(crate) fn set_key(keys: &KeySpace, i: usize) -> String {
    format!("{}:set:{i}", keys.prefix())
}
// ANCHOR_END: timing

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
