//! Many clients moving money between two accounts at once: with the
//! WATCHed [`transfer`] of `lib.rs` nothing is lost; without, money appears
//! out of nowhere.

use std::sync::Barrier;

use redis::{Client, Commands, ConnectionLike, RedisResult};
use support::redis::{Echo, KeySpace};

use crate::transfer;

// ANCHOR: transfer_types
/// What became of one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Done; `retries` times another client changed a balance first and
    /// the transaction was thrown away and tried again.
    Done { retries: u32 },
    /// Not enough money in the account.
    Refused,
}
// ANCHOR_END: transfer_types

// ANCHOR: naive_transfer
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
// ANCHOR_END: naive_transfer

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
