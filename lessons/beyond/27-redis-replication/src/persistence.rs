//! Persistence, measured: write keys, `kill -9` the server, start it again
//! on the same directory, and count what came back.
//!
//! Redis keeps its data in memory. It can write it to disk two ways:
//!
//! - an **RDB snapshot** (`dump.rdb`): the whole data set at one moment,
//!   written when a `save` rule fires (Redis's default: after 3600 s if one
//!   key changed, 300 s if 100 did, 60 s if 10,000 did) or on `SAVE` /
//!   `BGSAVE`. Whatever changed since the last snapshot is lost in a crash.
//! - the **append-only file** (AOF, `appendonlydir/`): every write command,
//!   appended as it runs, and replayed at start. `appendfsync` says when
//!   Redis asks the kernel to push the file to the disk: `always` before it
//!   answers each write, `everysec` once a second from a background thread.

use std::path::Path;
use std::time::{Duration, Instant};

use redis::Commands;
use support::testkit::RedisNode;

use crate::{PASSWORD, PREFIX, Result, connect};

// ANCHOR: settings
/// The four settings the lesson compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing on disk: `--save "" --appendonly no`.
    None,
    /// Snapshots on Redis's default rules, plus one `SAVE` half-way.
    Rdb,
    /// The append-only file, flushed to disk once a second.
    AofEverysec,
    /// The append-only file, flushed to disk before each reply.
    AofAlways,
}

impl Persistence {
    /// All four, in the order the lesson shows them.
    pub const ALL: [Persistence; 4] = [
        Persistence::None,
        Persistence::Rdb,
        Persistence::AofEverysec,
        Persistence::AofAlways,
    ];

    /// The `redis-server` arguments for this setting.
    pub fn config(self) -> &'static [&'static str] {
        match self {
            Persistence::None => &["--save", "", "--appendonly", "no"],
            Persistence::Rdb => &["--save", "3600 1 300 100 60 10000", "--appendonly", "no"],
            Persistence::AofEverysec => &[
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ],
            Persistence::AofAlways => &[
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
        }
    }
    // ANCHOR_END: settings

    /// How the table names it.
    pub fn label(self) -> &'static str {
        match self {
            Persistence::None => "none (save \"\", appendonly no)",
            Persistence::Rdb => "RDB (one SAVE half-way)",
            Persistence::AofEverysec => "AOF, appendfsync everysec",
            Persistence::AofAlways => "AOF, appendfsync always",
        }
    }

    /// A name for its data directory (`--data-dir DIR/<slug>`).
    pub fn slug(self) -> &'static str {
        match self {
            Persistence::None => "none",
            Persistence::Rdb => "rdb",
            Persistence::AofEverysec => "aof-everysec",
            Persistence::AofAlways => "aof-always",
        }
    }
}

/// What one setting kept through a `kill -9`.
#[derive(Debug, Clone)]
pub struct Survival {
    /// The setting the server ran with.
    pub setting: Persistence,
    /// Keys written, each acknowledged with OK before the next was sent.
    pub acknowledged: usize,
    /// Keys the restarted server holds (`DBSIZE`).
    pub came_back: usize,
    /// How long the writes took: `always` pays for an fsync per write.
    pub writing: Duration,
}

// ANCHOR: crash_and_restart
/// Starts a server with `setting`, writes `keys` keys one by one, kills it
/// with SIGKILL, starts it again on the same port and directory, and asks
/// it how many keys it holds. With `data_dir`, the server's files are kept
/// there (in `DIR/<slug>`), for you to look at.
pub fn crash_and_restart(
    setting: Persistence,
    keys: usize,
    data_dir: Option<&Path>,
) -> Result<Survival> {
    let name = format!("persistence: {}", setting.slug());
    let mut node = match data_dir {
        Some(dir) => {
            RedisNode::start_in(&dir.join(setting.slug()), &name, PASSWORD, setting.config())?
        }
        None => RedisNode::start(&name, PASSWORD, setting.config())?,
    };
    let mut con = connect(&node.url())?;

    let started = Instant::now();
    for i in 0..keys {
        // `set` returns when Redis answered OK: the write is acknowledged.
        let () = con.set(format!("{PREFIX}:key:{i}"), i)?;
        if setting == Persistence::Rdb && i + 1 == keys / 2 {
            // What a `save` rule would do after its delay: a snapshot now.
            let () = redis::cmd("SAVE").query(&mut con)?;
        }
    }
    let writing = started.elapsed();

    node.kill(); // SIGKILL: no shutdown, no last save.
    node.start_again()?;
    let mut con = connect(&node.url())?;
    let came_back: usize = redis::cmd("DBSIZE").query(&mut con)?;
    Ok(Survival {
        setting,
        acknowledged: keys,
        came_back,
        writing,
    })
}
// ANCHOR_END: crash_and_restart

/// Runs all four settings and prints the table.
pub fn compare(keys: usize, data_dir: Option<&Path>) -> Result<Vec<Survival>> {
    println!("== persistence: write {keys} keys, kill -9, start again on the same directory ==");
    println!(
        "{:<30} {:>12} {:>10} {:>10}",
        "setting", "acknowledged", "came back", "writes/s"
    );
    let mut all = Vec::new();
    for setting in Persistence::ALL {
        let survival = crash_and_restart(setting, keys, data_dir)?;
        let rate = survival.acknowledged as f64 / survival.writing.as_secs_f64().max(1e-9);
        println!(
            "{:<30} {:>12} {:>10} {:>10.0}",
            setting.label(),
            survival.acknowledged,
            survival.came_back,
            rate
        );
        all.push(survival);
    }
    println!(
        "# after a power cut (not a kill -9): not measured here. A killed process leaves the kernel's\n\
         # page cache intact, so everysec's last second of writes still reaches the disk; a power cut\n\
         # would lose it, and only `always` would have it on disk."
    );
    if let Some(dir) = data_dir {
        println!("# the servers' files are in {}", dir.display());
    }
    println!();
    Ok(all)
}
