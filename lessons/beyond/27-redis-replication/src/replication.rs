//! Replication: a primary and two replicas.
//!
//! `REPLICAOF host port` makes a server the replica of another: it copies
//! the primary's data once (a snapshot sent over the socket), then receives
//! every write command the primary runs, as a stream. The stream is
//! *asynchronous*: the primary answers its client first and does not wait
//! for any replica. `WAIT n timeout` is how a client asks to wait: it
//! returns when `n` replicas have confirmed everything this client wrote so
//! far, or when the timeout ends, with the number that did.

use std::time::{Duration, Instant};

use redis::{Commands, Connection};

use crate::{PATIENCE, PREFIX, Result, connect, host_port, info, info_field, ms, poll};

/// A server the lesson talks to, with the name it prints.
pub struct Node {
    /// "primary", "replica 1", "sentinel 2": what the lesson's lines call it.
    pub name: String,
    /// Its address with the password: for REPLICAOF's host and port, and
    /// for the Sentinels' and the checker's own connections.
    pub url: String,
    /// The lesson's connection to it.
    pub con: Connection,
}

impl Node {
    /// Connects to `url`; `name` is what the lesson calls it.
    pub fn open(name: &str, url: &str) -> Result<Node> {
        Ok(Node {
            name: name.to_string(),
            url: url.to_string(),
            con: connect(url)?,
        })
    }

    /// The process id of the server (`INFO server`).
    pub fn pid(&mut self) -> Result<i32> {
        crate::server_pid(&mut self.con)
    }

    /// `host:port`, for the lesson's lines.
    pub fn addr(&self) -> String {
        host_port(&self.url)
            .map(|(host, port)| format!("{host}:{port}"))
            .unwrap_or_else(|_| support::redact(&self.url))
    }
}

// ANCHOR: attach
/// Makes each of `replicas` a replica of `primary`, then waits until each
/// link is up and the first full copy is loaded (`master_link_status:up`).
pub fn attach(replicas: &mut [Node], primary: &Node) -> Result<Duration> {
    let (host, port) = host_port(&primary.url)?;
    for replica in replicas.iter_mut() {
        println!("> REPLICAOF {host} {port}          (on {})", replica.name);
        let reply: String = redis::cmd("REPLICAOF")
            .arg(&host)
            .arg(port)
            .query(&mut replica.con)?;
        println!("  {reply}");
    }
    let started = Instant::now();
    for replica in replicas.iter_mut() {
        let what = format!("{} to finish its first sync", replica.name);
        poll(&what, PATIENCE, || {
            let link = info_field(&mut replica.con, "replication", "master_link_status")?;
            Ok((link == "up").then_some(()))
        })?;
    }
    Ok(started.elapsed())
}
// ANCHOR_END: attach

/// What the primary knows about one replica: the offset it last
/// confirmed (`REPLCONF ACK`, once a second or when `WAIT` asks) and how
/// many seconds ago.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaView {
    /// The port the replica listens on (it tells the primary at connect).
    pub port: u16,
    /// How many bytes of the stream it has confirmed.
    pub offset: u64,
    /// Seconds since its last confirmation.
    pub lag_seconds: u64,
}

// ANCHOR: offsets
/// The primary's replication offset (bytes of write stream it has
/// produced so far) and, for each replica, the offset that replica last
/// confirmed: `INFO replication` on the primary.
pub fn offsets(primary: &mut Connection) -> Result<(u64, Vec<ReplicaView>)> {
    let fields = info(primary, "replication")?;
    let mut own = 0;
    let mut replicas = Vec::new();
    for (key, value) in fields {
        if key == "master_repl_offset" {
            own = value.parse()?;
        } else if key.starts_with("slave") && key[5..].chars().all(|c| c.is_ascii_digit()) {
            // slave0:ip=127.0.0.1,port=40001,state=online,offset=1234,lag=0
            let field = |name: &str| {
                value
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .unwrap_or("0")
                    .to_string()
            };
            replicas.push(ReplicaView {
                port: field("port").parse()?,
                offset: field("offset").parse()?,
                lag_seconds: field("lag").parse()?,
            });
        }
    }
    Ok((own, replicas))
}
// ANCHOR_END: offsets

/// The numbers `replicate` prints at the end, for the tests to hold
/// against the servers.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Keys on the primary, and on each replica, at the end (`DBSIZE`).
    pub primary_keys: usize,
    pub replica_keys: Vec<usize>,
    /// What `WAIT 2` answered with both replicas running, and with one paused.
    pub wait_both: usize,
    pub wait_one_paused: usize,
    /// How far behind the paused replica was, in bytes of stream.
    pub behind_bytes: u64,
}

/// The whole replication tour on a primary and two replicas.
pub fn tour(primary: &mut Node, replicas: &mut [Node], keys: usize) -> Result<Report> {
    println!(
        "== replication: primary {}, replicas {} ==",
        primary.addr(),
        replicas
            .iter()
            .map(Node::addr)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let took = attach(replicas, primary)?;
    println!(
        "# both replicas have a full copy and follow the stream ({})",
        ms(took)
    );
    read_from_a_replica(primary, &mut replicas[0])?;
    let wait_both = write_and_wait(primary, 0..keys, 2, 1000)?;
    let (wait_one_paused, behind_bytes) = lag_of_a_paused_replica(primary, &mut replicas[1], keys)?;

    let primary_keys: usize = redis::cmd("DBSIZE").query(&mut primary.con)?;
    let mut replica_keys = Vec::new();
    for replica in replicas.iter_mut() {
        replica_keys.push(redis::cmd("DBSIZE").query(&mut replica.con)?);
    }
    println!(
        "# DBSIZE: primary {primary_keys}, {}",
        replicas
            .iter()
            .zip(&replica_keys)
            .map(|(r, n)| format!("{} {n}", r.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    Ok(Report {
        primary_keys,
        replica_keys,
        wait_both,
        wait_one_paused,
        behind_bytes,
    })
}

// ANCHOR: read_from_a_replica
/// A write on the primary, read back from a replica; and a write on the
/// replica, refused: replicas are read-only.
fn read_from_a_replica(primary: &mut Node, replica: &mut Node) -> Result<()> {
    let key = format!("{PREFIX}:greeting");
    println!("> SET {key} hello          (on the primary)");
    let () = primary.con.set(&key, "hello")?;
    println!("  OK");
    // The copy is on its way, not there yet: ask until it is.
    let (value, took) = poll("the replica to get the key", PATIENCE, || {
        Ok(replica.con.get::<_, Option<String>>(&key)?)
    })?;
    println!("> GET {key}                (on {})", replica.name);
    println!("  {value:?}          (there {} after the SET)", ms(took));
    println!("> SET {key} bye            (on {})", replica.name);
    match replica.con.set::<_, _, ()>(&key, "bye") {
        Ok(()) => println!("  OK (a writable replica: its copy now differs from the primary)"),
        Err(error) => println!("  (error) {}", error.detail().unwrap_or("refused")),
    }
    Ok(())
}
// ANCHOR_END: read_from_a_replica

// ANCHOR: write_and_wait
/// Writes the keys numbered `keys` on the primary (in one pipeline), then
/// `WAIT replicas timeout_ms`: returns how many replicas confirmed them all.
fn write_and_wait(
    primary: &mut Node,
    keys: std::ops::Range<usize>,
    replicas: usize,
    timeout_ms: u64,
) -> Result<usize> {
    let count = keys.len();
    let mut pipe = redis::pipe();
    for i in keys {
        pipe.set(format!("{PREFIX}:key:{i}"), i).ignore();
    }
    let () = pipe.query(&mut primary.con)?;
    let started = Instant::now();
    let confirmed: usize = redis::cmd("WAIT")
        .arg(replicas)
        .arg(timeout_ms)
        .query(&mut primary.con)?;
    println!("# {count} SETs on the primary, then:");
    println!("> WAIT {replicas} {timeout_ms}");
    println!(
        "  (integer) {confirmed}          (after {})",
        ms(started.elapsed())
    );
    Ok(confirmed)
}
// ANCHOR_END: write_and_wait

// ANCHOR: lag
/// Pauses `replica` (SIGSTOP), writes on the primary, shows WAIT coming
/// back short and the primary's view of the lag, then resumes the replica
/// and times its catching up. Returns WAIT's answer and the lag in bytes.
fn lag_of_a_paused_replica(
    primary: &mut Node,
    replica: &mut Node,
    keys: usize,
) -> Result<(usize, u64)> {
    let pid = replica.pid()?;
    let port = host_port(&replica.url)?.1;
    crate::pause(pid)?;
    println!("# {} paused (SIGSTOP to pid {pid})", replica.name);
    let confirmed = write_and_wait(primary, keys..2 * keys, 2, 500)?;

    let (own, views) = offsets(&mut primary.con)?;
    let paused = views.iter().find(|v| v.port == port).cloned();
    println!("# INFO replication on the primary: master_repl_offset {own}");
    for view in &views {
        println!(
            "#   replica on port {}: confirmed offset {} ({} bytes behind, last heard {} s ago)",
            view.port,
            view.offset,
            own.saturating_sub(view.offset),
            view.lag_seconds
        );
    }
    let behind = paused.map(|v| own.saturating_sub(v.offset)).unwrap_or(0);

    crate::resume(pid)?;
    let what = format!("{} to catch up", replica.name);
    let ((), took) = poll(&what, PATIENCE, || {
        let offset: u64 =
            info_field(&mut replica.con, "replication", "slave_repl_offset")?.parse()?;
        Ok((offset >= own).then_some(()))
    })?;
    println!(
        "# {} resumed (SIGCONT): it caught up with offset {own} in {}",
        replica.name,
        ms(took)
    );
    Ok((confirmed, behind))
}
// ANCHOR_END: lag
