//! Lesson 27: what Redis keeps when things die.
//!
//! The notes say in one sentence that Redis writes its data to disk and
//! copies it to replicas ("主从同步"). This lesson shows both, by killing
//! servers and counting what came back:
//!
//! - [`persistence`]: write keys, `kill -9` the server, start it again on
//!   the same directory, count the keys: no persistence, an RDB snapshot,
//!   and the append-only file with `appendfsync everysec` and `always`.
//! - [`replication`]: a primary and two replicas (`REPLICAOF`), reads from a
//!   replica, `WAIT` for replicas, and the lag of a replica that is paused
//!   (`SIGSTOP`) and resumed.
//! - [`failover`]: three Sentinels watch the primary; it is killed; a client
//!   that asks the Sentinels where the primary is goes on writing to the new
//!   one. What was acknowledged before the kill is counted against what the
//!   new primary holds, without and with `WAIT`.
//!
//! `just run lesson-27 replicate` and `just run lesson-27 failover` start
//! their own throwaway servers (free ports, temporary directories) and stop
//! them when they end, also on Ctrl-C. Given `--primary`, `--replica` and
//! `--sentinel` addresses, they use those servers instead (the tests do).

use std::error::Error;
use std::time::{Duration, Instant};

use redis::{Connection, ConnectionAddr, RedisResult};

pub mod failover;
pub mod persistence;
pub mod replication;

/// What the lesson's functions return: any error, with a message that says
/// what was being done.
pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// The prefix of every key the lesson writes.
pub const PREFIX: &str = "lesson27";

/// The password of the servers the lesson starts: the course Redis's own.
/// Replicas log in to their primary with it (`masterauth`), Sentinels too
/// (`auth-pass`).
pub const PASSWORD: &str = support::redis::COURSE_REDIS_PASSWORD;

/// The settings of the replication servers the lesson starts: nothing on
/// disk (persistence is the other part), and a primary that sends its first
/// full copy to new replicas at once. (By default it waits 5 s for more
/// replicas to arrive, to serve them all with one transfer.)
pub const NODE_CONFIG: &[&str] = &[
    "--save",
    "",
    "--appendonly",
    "no",
    "--repl-diskless-sync-delay",
    "0",
];

/// How long the lesson waits for something another process does (a
/// replica catching up, the Sentinels electing a new primary) before it
/// gives up with an error instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The servers to use instead of throwaway ones: `--primary URL --replica
/// URL --replica URL`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NodeArgs {
    /// Use this redis-server as the primary (default: start a throwaway one)
    #[arg(long, value_name = "URL", requires = "replica")]
    pub primary: Option<String>,
    /// Use this redis-server as a replica (give it twice)
    #[arg(long, value_name = "URL", requires = "primary")]
    pub replica: Vec<String>,
}

impl NodeArgs {
    /// The primary and the two replicas given, or `None` to start them.
    pub fn given(&self) -> Result<Option<(String, Vec<String>)>> {
        match &self.primary {
            None => Ok(None),
            Some(_) if self.replica.len() != 2 => Err(format!(
                "--replica must be given twice (two replicas), not {} time(s)",
                self.replica.len()
            )
            .into()),
            Some(primary) => Ok(Some((primary.clone(), self.replica.clone()))),
        }
    }
}

/// Opens a connection to `url` (with its password), saying which server
/// did not answer if it fails.
pub fn connect(url: &str) -> Result<Connection> {
    Ok(support::redis::connect(url)?)
}

/// Host and port of a `redis://` URL, for `REPLICAOF` and
/// `SENTINEL MONITOR`, which take them apart.
pub fn host_port(url: &str) -> Result<(String, u16)> {
    let client = support::redis::client(url)?;
    match client.get_connection_info().addr() {
        ConnectionAddr::Tcp(host, port) => Ok((host.clone(), *port)),
        _ => Err(format!("{} is not a TCP address", support::redact(url)).into()),
    }
}

/// One section of `INFO` as `field -> value` (`INFO replication` has
/// `role`, `master_repl_offset`, `slave0`...).
pub fn info(con: &mut Connection, section: &str) -> RedisResult<Vec<(String, String)>> {
    let text: String = redis::cmd("INFO").arg(section).query(con)?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect())
}

/// One field of one `INFO` section.
pub fn info_field(con: &mut Connection, section: &str, field: &str) -> Result<String> {
    info(con, section)?
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("INFO {section} has no field {field}").into())
}

/// The process id of the server behind `con` (`INFO server`): the servers
/// run on this machine, so the lesson can signal them like `kill` does.
pub fn server_pid(con: &mut Connection) -> Result<i32> {
    Ok(info_field(con, "server", "process_id")?.parse()?)
}

// ANCHOR: signals
/// `kill -9`: the process ends at once; nothing it held only in memory
/// survives, and it gets no chance to save.
pub fn kill_9(pid: i32) -> Result<()> {
    signal(pid, libc::SIGKILL, "SIGKILL")
}

/// `kill -STOP`: the process is frozen. Its sockets stay open and the
/// kernel still accepts bytes for it, but it reads, writes and answers
/// nothing: a stalled disk, a long pause, an overloaded host.
pub fn pause(pid: i32) -> Result<()> {
    signal(pid, libc::SIGSTOP, "SIGSTOP")
}

/// `kill -CONT`: a paused process runs on, where it stopped.
pub fn resume(pid: i32) -> Result<()> {
    signal(pid, libc::SIGCONT, "SIGCONT")
}
// ANCHOR_END: signals

fn signal(pid: i32, signal: i32, name: &str) -> Result<()> {
    // SAFETY: kill(2) has no memory effects; a wrong pid is an error return.
    if unsafe { libc::kill(pid, signal) } != 0 {
        let error = std::io::Error::last_os_error();
        return Err(format!("{name} to process {pid}: {error}").into());
    }
    Ok(())
}

/// Asks `ready` every 20 ms until it answers `Some`, for at most `within`;
/// returns its answer and how long it took. Bounded polling: the lesson
/// never sleeps a fixed time hoping another process was quick enough, and
/// never waits forever either.
pub fn poll<T>(
    what: &str,
    within: Duration,
    mut ready: impl FnMut() -> Result<Option<T>>,
) -> Result<(T, Duration)> {
    let start = Instant::now();
    loop {
        if let Some(value) = ready()? {
            return Ok((value, start.elapsed()));
        }
        if start.elapsed() > within {
            return Err(format!("gave up after {} s waiting for {what}", within.as_secs()).into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Milliseconds, for the lesson's lines.
pub fn ms(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}
