//! Failover: three Sentinels, a primary that dies, and a client that
//! follows the new one.
//!
//! Sentinels are `redis-server --sentinel`: they ping the primary and its
//! replicas, tell each other what they see, and when enough of them (the
//! *quorum*) agree that the primary is down, they elect one of themselves to
//! promote a replica (`REPLICAOF NO ONE`) and point the other replicas at
//! it. A client does not hard-code the primary's address: it asks a
//! Sentinel, and asks again when its connection breaks.
//!
//! Replication is asynchronous, so the primary may have said OK to writes no
//! replica has yet. If it dies then, the replica that is promoted never had
//! them: they are lost although the client was told they were done. The
//! lesson makes that moment happen on purpose, by cutting the replicas off
//! (paused, their links closed) while the client writes, then killing the
//! primary; and runs the same again with `WAIT`.

use std::time::{Duration, Instant};

use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Commands, Connection, RedisResult};

use crate::replication::{Node, attach};
use crate::{PATIENCE, PREFIX, Result, connect, host_port, ms, poll};

/// The name the Sentinels know the group by (`SENTINEL MONITOR <name> ...`).
pub const MASTER_NAME: &str = "lesson27";

/// How many Sentinels must agree that the primary is down.
pub const QUORUM: usize = 2;

/// How long the primary must be silent before a Sentinel calls it down.
pub const DOWN_AFTER_MS: u64 = 1000;

/// How many writes each phase makes, and what the client waits for.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Writes while all is well.
    pub before: usize,
    /// Writes while the replicas are cut off, just before the kill.
    pub cut_off: usize,
    /// Writes after the failover, through the new primary.
    pub after: usize,
    /// `WAIT <wait> <timeout>` after every write; 0: no WAIT.
    pub wait: usize,
    /// WAIT's timeout, in milliseconds.
    pub wait_timeout_ms: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            before: 100,
            cut_off: 10,
            after: 50,
            wait: 0,
            wait_timeout_ms: 50,
        }
    }
}

// ANCHOR: watch
/// Tells each Sentinel to watch `primary` under [`MASTER_NAME`], with the
/// group's password, and waits until every Sentinel has found the replicas
/// and the other Sentinels (they announce themselves every 2 s).
pub fn watch(sentinels: &mut [Node], primary: &Node, replicas: usize) -> Result<Duration> {
    let (host, port) = host_port(&primary.url)?;
    let password = support::redis::client(&primary.url)?
        .get_connection_info()
        .redis_settings()
        .password()
        .map(str::to_string);
    for sentinel in sentinels.iter_mut() {
        println!(
            "> SENTINEL MONITOR {MASTER_NAME} {host} {port} {QUORUM}          (on {})",
            sentinel.name
        );
        let () = redis::cmd("SENTINEL")
            .arg("MONITOR")
            .arg(MASTER_NAME)
            .arg(&host)
            .arg(port)
            .arg(QUORUM)
            .query(&mut sentinel.con)?;
        let mut set = redis::cmd("SENTINEL");
        set.arg("SET").arg(MASTER_NAME);
        set.arg("down-after-milliseconds").arg(DOWN_AFTER_MS);
        set.arg("failover-timeout").arg(10_000);
        if let Some(password) = &password {
            // The Sentinels log in to the servers like any client.
            set.arg("auth-pass").arg(password);
        }
        let () = set.query(&mut sentinel.con)?;
    }
    println!(
        "# each Sentinel: SENTINEL SET {MASTER_NAME} down-after-milliseconds {DOWN_AFTER_MS} failover-timeout 10000 auth-pass ..."
    );
    let others = sentinels.len() - 1;
    let started = Instant::now();
    for sentinel in sentinels.iter_mut() {
        let what = format!(
            "{} to see {replicas} replicas and {others} other Sentinels",
            sentinel.name
        );
        poll(&what, PATIENCE, || {
            let master: std::collections::HashMap<String, String> = redis::cmd("SENTINEL")
                .arg("MASTER")
                .arg(MASTER_NAME)
                .query(&mut sentinel.con)?;
            let count = |field: &str| master.get(field).and_then(|v| v.parse::<usize>().ok());
            Ok((count("num-slaves") == Some(replicas)
                && count("num-other-sentinels") == Some(others))
            .then_some(()))
        })?;
    }
    Ok(started.elapsed())
}
// ANCHOR_END: watch

// ANCHOR: writer
/// A client that finds the primary through the Sentinels, and finds it
/// again when its connection breaks.
pub struct Writer {
    sentinels: SentinelClient,
    /// The connection to the primary, while it works.
    con: Option<Connection>,
    /// The primary it is connected to, `host:port`.
    pub primary: String,
    /// `WAIT` for this many replicas after each write (0: no WAIT).
    wait: usize,
    wait_timeout_ms: u64,
    /// How long one write may wait for a primary before it fails.
    patience: Duration,
    /// How many writes failed and were sent again.
    pub retries: usize,
}

/// What the client was told about one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// How many replicas `WAIT` said have it (`None`: no WAIT was asked).
    pub replicas: Option<usize>,
}

impl Writer {
    /// A writer for the group the Sentinels at `sentinel_urls` watch, logging
    /// in to its servers like `primary_url` does (same password).
    pub fn new(sentinel_urls: &[String], primary_url: &str, plan: &Plan) -> Result<Writer> {
        let settings = support::redis::client(primary_url)?
            .get_connection_info()
            .redis_settings()
            .clone();
        let login = SentinelNodeConnectionInfo::default().set_redis_connection_info(settings);
        let sentinels = SentinelClient::build(
            sentinel_urls.to_vec(),
            MASTER_NAME.to_string(),
            Some(login),
            SentinelServerType::Master,
        )?;
        Ok(Writer {
            sentinels,
            con: None,
            primary: String::new(),
            wait: plan.wait,
            wait_timeout_ms: plan.wait_timeout_ms,
            patience: PATIENCE,
            retries: 0,
        })
    }

    /// Gives up on a write after `patience` instead of [`PATIENCE`].
    pub fn give_up_after(mut self, patience: Duration) -> Writer {
        self.patience = patience;
        self
    }

    /// Sets `key`, and WAITs if asked. If the primary does not answer, asks
    /// the Sentinels for the primary (again and again: during a failover
    /// they still name the dead one, or none) and sends the write again,
    /// until a primary acknowledges it or its patience ([`PATIENCE`]) runs
    /// out: then it fails, it does not hang.
    pub fn write(&mut self, key: &str, value: usize) -> Result<Ack> {
        let started = Instant::now();
        loop {
            if self.con.is_none() {
                // An error here ("Master with given name not found") means a
                // failover is on: no primary to name yet. Ask again shortly.
                if let Ok(client) = self.sentinels.get_client() {
                    if let Ok(con) = client.get_connection() {
                        // A primary that is frozen rather than dead must
                        // not freeze the client: no reply in 5 s is an error.
                        let _ = con.set_read_timeout(Some(Duration::from_secs(5)));
                        self.primary = addr_of(&client);
                        self.con = Some(con);
                    }
                }
            }
            if let Some(con) = self.con.as_mut() {
                match set_and_wait(con, key, value, self.wait, self.wait_timeout_ms) {
                    Ok(ack) => return Ok(ack),
                    Err(_) => {
                        // Broken: this connection is done; find the primary again.
                        self.con = None;
                        self.retries += 1;
                    }
                }
            }
            if started.elapsed() > self.patience {
                return Err(format!(
                    "no primary acknowledged {key} within {} s: the Sentinels found none (is a majority of them up, and a replica left to promote?)",
                    self.patience.as_secs()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn set_and_wait(
    con: &mut Connection,
    key: &str,
    value: usize,
    wait: usize,
    timeout_ms: u64,
) -> RedisResult<Ack> {
    let () = con.set(key, value)?;
    if wait == 0 {
        return Ok(Ack { replicas: None });
    }
    let replicas: usize = redis::cmd("WAIT").arg(wait).arg(timeout_ms).query(con)?;
    Ok(Ack {
        replicas: Some(replicas),
    })
}
// ANCHOR_END: writer

fn addr_of(client: &redis::Client) -> String {
    match client.get_connection_info().addr() {
        redis::ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
        other => other.to_string(),
    }
}

/// What one failover run counted. Every "held" number is read from the new
/// primary after the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The plan's WAIT (0: none).
    pub wait: usize,
    /// Writes the old primary acknowledged (OK) before it was killed.
    pub acked_before: usize,
    /// Of those, the ones WAIT said a replica had (only with WAIT).
    pub confirmed_before: Option<usize>,
    /// Of `acked_before`, how many the new primary holds.
    pub held_before: usize,
    /// Of `confirmed_before`, how many the new primary holds.
    pub held_confirmed: Option<usize>,
    /// Writes acknowledged after the failover, and how many it holds.
    pub acked_after: usize,
    pub held_after: usize,
    /// The keys the new primary holds in all (`DBSIZE`).
    pub new_primary_keys: usize,
    /// Where the primary was, and where it is now.
    pub old_primary: String,
    pub new_primary: String,
    /// From the kill to the first write the new primary acknowledged.
    pub switch: Duration,
}

// ANCHOR: run
/// The whole scenario on a primary, two replicas and three Sentinels:
/// set up, write, cut the replicas off, write, kill the primary, write on
/// through the Sentinels, and count.
pub fn run(
    primary: &mut Node,
    replicas: &mut [Node],
    sentinels: &mut [Node],
    plan: Plan,
) -> Result<Outcome> {
    attach(replicas, primary)?;
    let took = watch(sentinels, primary, replicas.len())?;
    println!(
        "# the Sentinels see {} replicas and each other ({})",
        replicas.len(),
        ms(took)
    );

    let sentinel_urls: Vec<String> = sentinels.iter().map(|s| s.url.clone()).collect();
    let mut writer = Writer::new(&sentinel_urls, &primary.url, &plan)?;
    let key = |i: usize| format!("{PREFIX}:write:{i}");
    let mut before = Vec::new();

    // 1. All is well: every write reaches the replicas within a moment.
    for i in 0..plan.before {
        before.push((key(i), writer.write(&key(i), i)?));
    }
    let old_primary = writer.primary.clone();
    println!(
        "# {} writes through the Sentinels' primary {old_primary}",
        plan.before
    );

    // 2. The replicas are cut off: frozen, and their links closed, as a
    //    network partition would. The primary goes on saying OK.
    let primary_pid = primary.pid()?;
    let mut replica_pids = Vec::new();
    for replica in replicas.iter_mut() {
        replica_pids.push(replica.pid()?);
    }
    for pid in &replica_pids {
        crate::pause(*pid)?;
    }
    let cut: usize = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut primary.con)?;
    println!("# replicas paused (SIGSTOP) and cut off: CLIENT KILL TYPE replica -> {cut}");
    for i in plan.before..plan.before + plan.cut_off {
        before.push((key(i), writer.write(&key(i), i)?));
    }
    println!(
        "# {} more writes: the primary said OK to each",
        plan.cut_off
    );

    // 3. The primary dies; the replicas wake up.
    crate::kill_9(primary_pid)?;
    let killed = Instant::now();
    for pid in &replica_pids {
        crate::resume(*pid)?;
    }
    println!("# primary killed (SIGKILL to pid {primary_pid}); replicas resumed (SIGCONT)");

    // 4. The client writes on: its next write fails, it asks the Sentinels
    //    until they name a new primary, and sends it there.
    let mut after = Vec::new();
    let first = plan.before + plan.cut_off;
    let mut switch = Duration::ZERO;
    for i in first..first + plan.after {
        after.push((key(i), writer.write(&key(i), i)?));
        if i == first {
            switch = killed.elapsed();
        }
    }
    println!(
        "# the first write after the kill was acknowledged by {} after {} ({} failed attempts)",
        writer.primary,
        ms(switch),
        writer.retries
    );
    println!("# {} writes through the new primary", plan.after);

    count(
        sentinels,
        primary,
        plan,
        &before,
        &after,
        old_primary,
        switch,
    )
}
// ANCHOR_END: run

// ANCHOR: count
/// Asks a Sentinel where the primary is now, and counts there which of the
/// acknowledged writes exist.
fn count(
    sentinels: &mut [Node],
    primary: &Node,
    plan: Plan,
    before: &[(String, Ack)],
    after: &[(String, Ack)],
    old_primary: String,
    switch: Duration,
) -> Result<Outcome> {
    let (host, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(MASTER_NAME)
        .query(&mut sentinels[0].con)?;
    let new_primary = format!("{host}:{port}");
    // The same password as the old primary, at the new address.
    let info = support::redis::client(&primary.url)?
        .get_connection_info()
        .clone()
        .set_addr(redis::ConnectionAddr::Tcp(host, port));
    let mut con = redis::Client::open(info)?.get_connection()?;

    let mut exists = |writes: &[(String, Ack)]| -> Result<Vec<bool>> {
        let mut pipe = redis::pipe();
        for (key, _) in writes {
            pipe.exists(key);
        }
        Ok(pipe.query(&mut con)?)
    };
    let held: Vec<bool> = exists(before)?;
    let confirmed = |ack: &Ack| ack.replicas.is_some_and(|n| n >= plan.wait);
    let outcome = Outcome {
        wait: plan.wait,
        acked_before: before.len(),
        confirmed_before: (plan.wait > 0)
            .then(|| before.iter().filter(|(_, a)| confirmed(a)).count()),
        held_before: held.iter().filter(|h| **h).count(),
        held_confirmed: (plan.wait > 0).then(|| {
            before
                .iter()
                .zip(&held)
                .filter(|((_, a), h)| confirmed(a) && **h)
                .count()
        }),
        acked_after: after.len(),
        held_after: exists(after)?.iter().filter(|h| **h).count(),
        new_primary_keys: redis::cmd("DBSIZE").query(&mut con)?,
        old_primary,
        new_primary,
        switch,
    };
    Ok(outcome)
}
// ANCHOR_END: count

impl Outcome {
    /// The lines the lesson ends with.
    pub fn print(&self) {
        println!(
            "old primary {}, new primary {} (from SENTINEL GET-MASTER-ADDR-BY-NAME)",
            self.old_primary, self.new_primary
        );
        println!(
            "acknowledged before the kill (OK from the primary): {:>4}, on the new primary: {:>4}, lost: {}",
            self.acked_before,
            self.held_before,
            self.acked_before - self.held_before
        );
        if let (Some(confirmed), Some(held)) = (self.confirmed_before, self.held_confirmed) {
            println!(
                "confirmed by WAIT {} before the kill:               {:>4}, on the new primary: {:>4}, lost: {}",
                self.wait,
                confirmed,
                held,
                confirmed - held
            );
            println!(
                "acknowledged but not confirmed (WAIT said 0):       {:>4}: the client knew they were at risk",
                self.acked_before - confirmed
            );
        }
        println!(
            "acknowledged after the failover:                    {:>4}, on the new primary: {:>4}, lost: {}",
            self.acked_after,
            self.held_after,
            self.acked_after - self.held_after
        );
        println!(
            "the new primary holds {} keys (DBSIZE)",
            self.new_primary_keys
        );
    }
}

// ANCHOR: last_node
/// The last node dies: a primary with no replica, under the same three
/// Sentinels. They see it die and have nothing to promote; the client's
/// next write must fail after its `patience`, not wait forever. Returns
/// how long the failing write took.
pub fn last_node(
    primary: &mut Node,
    sentinels: &mut [Node],
    patience: Duration,
) -> Result<Duration> {
    let took = watch(sentinels, primary, 0)?;
    println!(
        "# the Sentinels see no replica and each other ({})",
        ms(took)
    );
    let sentinel_urls: Vec<String> = sentinels.iter().map(|s| s.url.clone()).collect();
    let mut writer =
        Writer::new(&sentinel_urls, &primary.url, &Plan::default())?.give_up_after(patience);
    let key = |i: usize| format!("{PREFIX}:last:{i}");
    for i in 0..10 {
        writer.write(&key(i), i)?;
    }
    println!("# 10 writes acknowledged by {}", writer.primary);
    let pid = primary.pid()?;
    crate::kill_9(pid)?;
    println!("# primary killed (SIGKILL to pid {pid}): no replica is left to promote");
    let started = Instant::now();
    match writer.write(&key(10), 10) {
        Ok(_) => Err("a write was acknowledged with no server left to take it".into()),
        Err(error) => {
            let took = started.elapsed();
            println!(
                "the next write failed after {:.1} s: {error}",
                took.as_secs_f64()
            );
            Ok(took)
        }
    }
}
// ANCHOR_END: last_node

/// Connects to the Sentinels at `urls`, named "sentinel 1", "sentinel 2"...
pub fn open_sentinels(urls: &[String]) -> Result<Vec<Node>> {
    urls.iter()
        .enumerate()
        .map(|(i, url)| {
            let node = Node {
                name: format!("sentinel {}", i + 1),
                url: url.clone(),
                con: connect(url)?,
            };
            Ok(node)
        })
        .collect()
}
