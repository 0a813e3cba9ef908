//! Lesson 16: talking to Redis over one connection, and sharing a few
//! connections between many threads or tasks.
//!
//! - [`one_connection`]: the notes' first example (`SET foo Bar`, then
//!   `GET foo`) and what the server knows about the connection.
//! - [`without_pool`], [`with_r2d2`], [`with_multiplexed`], [`with_bb8`]:
//!   many workers each add 1 to the same counter many times, over fresh
//!   connections, through an r2d2 pool (threads), over one multiplexed
//!   connection (tokio tasks), and through a bb8 pool (tokio tasks). Every
//!   run must end with the counter at exactly workers × increments: INCR
//!   is atomic on the server, however many clients send it.
//!
//! Run them with `just run lesson-16 connect` and `just run lesson-16 pool`.

pub mod memcached;

use std::fmt;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Client, Commands, ErrorKind, RedisError, RedisResult};
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson16";

/// How long r2d2 may take to open a connection, or a worker to borrow one.
/// r2d2's own default (30 s) would leave a student staring at a silent
/// terminal when the server is gone.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a bb8 task may wait while every connection of the pool is lent
/// out. This bound must fit the whole run, not one INCR: bb8 does not serve
/// waiting tasks in turn (a task that gives its connection back and asks
/// again at once usually gets it back before a woken waiter runs), so with
/// 100 tasks on 2 connections an unlucky task can wait for most of the run.
/// A server that is gone does not hide behind this wait: the pool is built
/// with `retry_connection(false)`, so a connection that cannot be opened is
/// an error at once.
pub const POOL_WAIT: Duration = Duration::from_secs(300);

// ANCHOR: one_connection
/// One connection, used for a few commands in a row. The connection was
/// opened (and checked with a PING) by `support::redis::connect`; here it
/// sets a name for itself, so that it can be told apart in `CLIENT LIST`.
pub fn one_connection(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("one connection");
    // The notes' key and value, under this run's prefix.
    let key = keys.key("foo");
    let () = con.set(&key, "Bar")?;
    let value: String = con.get(&key)?;
    con.note(&format!("GET gave back {value:?}"));

    con.section("what the server knows about it");
    let _: String = con.ping()?;
    let () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(client_name(keys, "connect"))
        .query(con)?;
    let _: i64 = con.client_id()?;
    let _: String = redis::cmd("CLIENT").arg("INFO").query(con)?;
    let info: String = redis::cmd("INFO").arg("server").query(con)?;
    let version = info_field(&info, "redis_version").unwrap_or("?");
    con.note(&format!(
        "(INFO server, not shown) redis_version: {version}"
    ));
    Ok(())
}

/// One `field:value` line of an `INFO` reply.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(str::trim)
}
// ANCHOR_END: one_connection

/// A connection name for `CLIENT SETNAME` (no spaces allowed): the run's
/// prefix and what the connection is for.
pub fn client_name(keys: &KeySpace, what: &str) -> String {
    let prefix: String = keys
        .prefix()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}-{what}")
}

// ANCHOR: run
/// What one run of workers did, as measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// How the workers got their connections.
    pub how: String,
    /// How many threads or tasks ran at once.
    pub workers: usize,
    /// How many INCRs each of them sent.
    pub incrs_each: usize,
    /// The counter as the server has it afterwards.
    pub counter: i64,
    /// How many connections the server had open for this run (counted by
    /// name in `CLIENT LIST`), or accepted in all during it (without a
    /// pool: `INFO stats`). Measured by the server, never worked out from
    /// the number of workers.
    pub connections: usize,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl Run {
    /// The counter every run must reach.
    pub fn expected(&self) -> i64 {
        (self.workers * self.incrs_each) as i64
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.workers * self.incrs_each;
        let per_incr = self.elapsed.as_secs_f64() * 1e6 / total.max(1) as f64;
        write!(
            f,
            "{}: {} x {} INCR -> counter {} (expected {}), {} connection(s), \
             {:.2} s, {per_incr:.0} µs per INCR",
            self.how,
            self.workers,
            self.incrs_each,
            self.counter,
            self.expected(),
            self.connections,
            self.elapsed.as_secs_f64()
        )
    }
}
// ANCHOR_END: run

// ANCHOR: without_pool
/// No pool: every INCR opens a connection of its own, and closes it. Each
/// one costs a TCP handshake and a Redis handshake before the INCR can go
/// out: this is what a pool saves.
///
/// The connections are counted by the server, not by us: `INFO stats`
/// has `total_connections_received`, the number of connections it ever
/// accepted, read before and after the run. (On a server that others use
/// at the same time, their connections count too.)
pub fn without_pool(
    client: &Client,
    observer: &mut redis::Connection,
    key: &str,
    (workers, incrs): (usize, usize),
) -> RedisResult<Run> {
    let accepted_before = connections_accepted(observer)?;
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || -> RedisResult<()> {
                    for _ in 0..incrs {
                        let mut con = client.get_connection()?;
                        let _: i64 = con.incr(key, 1)?;
                    } // `con` is dropped here: the connection is closed
                    Ok(())
                })
            })
            .collect();
        join_all(handles)
    })?;
    let elapsed = started.elapsed();
    let accepted_after = connections_accepted(observer)?;
    Ok(Run {
        how: "no pool, a new connection for every INCR (threads)".into(),
        workers,
        incrs_each: incrs,
        counter: observer.get(key)?,
        connections: (accepted_after - accepted_before) as usize,
        elapsed,
    })
}

/// How many connections the server has accepted since it started
/// (`total_connections_received` in `INFO stats`).
pub fn connections_accepted(observer: &mut redis::Connection) -> RedisResult<u64> {
    let info: String = redis::cmd("INFO").arg("stats").query(observer)?;
    info_field(&info, "total_connections_received")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            (
                ErrorKind::Parse,
                "INFO stats has no total_connections_received",
            )
                .into()
        })
}
// ANCHOR_END: without_pool

// ANCHOR: with_r2d2
/// An r2d2 pool of `size` connections shared by `workers` threads. A
/// worker borrows a connection for each INCR (`pool.get()`), and the
/// connection goes back to the pool when the borrow is dropped. With more
/// workers than connections, the extra workers wait their turn in `get`.
///
/// `r2d2::Pool` is cheap to clone (it is an `Arc` inside); here the threads
/// simply borrow it, which `thread::scope` allows.
pub fn with_r2d2(
    client: &Client,
    observer: &mut redis::Connection,
    keys: &KeySpace,
    key: &str,
    (workers, incrs, size): (usize, usize, u32),
) -> RedisResult<Run> {
    let name = client_name(keys, "r2d2");
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(CHECKOUT_TIMEOUT)
        // Name each connection as the pool opens it, to count them below.
        .connection_customizer(Box::new(SetName(name.clone())))
        .build(client.clone())
        .map_err(pool_error)?;

    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let pool = &pool;
                scope.spawn(move || -> RedisResult<()> {
                    for _ in 0..incrs {
                        let mut con = pool.get().map_err(|error| {
                            waited_in_vain(pool.state().connections, size, CHECKOUT_TIMEOUT, error)
                        })?;
                        let _: i64 = con.incr(key, 1)?;
                    } // each `con` goes back to the pool here
                    Ok(())
                })
            })
            .collect();
        join_all(handles)
    })?;
    let elapsed = started.elapsed();
    Ok(Run {
        how: format!("r2d2 pool of {size} (threads)"),
        workers,
        incrs_each: incrs,
        counter: observer.get(key)?,
        // Counted while the pool still holds its connections open.
        connections: connections_named(observer, &name)?,
        elapsed,
    })
}

/// Names every connection r2d2 opens (`CLIENT SETNAME`).
#[derive(Debug)]
struct SetName(String);

impl r2d2::CustomizeConnection<redis::Connection, RedisError> for SetName {
    fn on_acquire(&self, con: &mut redis::Connection) -> Result<(), RedisError> {
        redis::cmd("CLIENT").arg("SETNAME").arg(&self.0).exec(con)
    }
}
// ANCHOR_END: with_r2d2

// ANCHOR: with_multiplexed
/// The async way the redis crate recommends: no pool at all. A
/// `MultiplexedConnection` is one TCP connection that many tasks share by
/// cloning the handle; each task's commands are queued onto it and the
/// replies are matched back to the right task, in order. Tasks never wait
/// for each other's round trips, only for their own.
///
/// (It is not for commands that hold the connection: a blocking BLPOP or
/// a SUBSCRIBE would stall every task, and WATCH/MULTI from two tasks would
/// interleave. Those need connections of their own, as from bb8 below.)
pub async fn with_multiplexed(
    client: &Client,
    observer: &mut redis::Connection,
    keys: &KeySpace,
    key: &str,
    (workers, incrs): (usize, usize),
) -> RedisResult<Run> {
    let name = client_name(keys, "multiplexed");
    let mut con: MultiplexedConnection = client.get_multiplexed_async_connection().await?;
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(&name)
        .exec_async(&mut con)
        .await?;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let mut con = con.clone(); // a handle to the same connection
        let key = key.to_string();
        tasks.spawn(async move {
            for _ in 0..incrs {
                let _: i64 = con.incr(&key, 1).await?;
            }
            Ok::<(), RedisError>(())
        });
    }
    join_tasks(tasks).await?;
    let elapsed = started.elapsed();
    Ok(Run {
        how: "one multiplexed connection (tokio tasks)".into(),
        workers,
        incrs_each: incrs,
        counter: observer.get(key)?,
        connections: connections_named(observer, &name)?,
        elapsed,
    })
}
// ANCHOR_END: with_multiplexed

// ANCHOR: with_bb8
/// A bb8 pool: r2d2's async counterpart. A task borrows a connection with
/// `pool.get().await`, waiting without blocking the thread when all are
/// lent out, and has it to itself until the borrow is dropped.
pub async fn with_bb8(
    client: &Client,
    observer: &mut redis::Connection,
    keys: &KeySpace,
    key: &str,
    (workers, incrs, size): (usize, usize, u32),
) -> RedisResult<Run> {
    let name = client_name(keys, "bb8");
    let pool = bb8::Pool::builder()
        .max_size(size)
        .connection_timeout(POOL_WAIT)
        // A failed connect is reported at once, not retried until POOL_WAIT.
        .retry_connection(false)
        .connection_customizer(Box::new(SetName(name.clone())))
        .build(client.clone())
        .await?;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let pool = pool.clone(); // an `Arc` inside: cheap
        let key = key.to_string();
        tasks.spawn(async move {
            for _ in 0..incrs {
                let mut con = pool.get().await.map_err(|e| match e {
                    bb8::RunError::User(error) => error,
                    bb8::RunError::TimedOut => bb8_timed_out(&pool.state(), size),
                })?;
                let _: i64 = con.incr(&key, 1).await?;
            }
            Ok::<(), RedisError>(())
        });
    }
    join_tasks(tasks).await?;
    let elapsed = started.elapsed();
    Ok(Run {
        how: format!("bb8 pool of {size} (tokio tasks)"),
        workers,
        incrs_each: incrs,
        counter: observer.get(key)?,
        connections: connections_named(observer, &name)?,
        elapsed,
    })
}

/// Why bb8 gave up waiting, told apart by what the pool holds: all `size`
/// connections open means they were busy with other tasks (the server
/// answered all along); fewer means a new one could not be opened in time.
fn bb8_timed_out(state: &bb8::State, size: u32) -> RedisError {
    waited_in_vain(state.connections, size, POOL_WAIT, "timed out")
}

/// Names every connection bb8 opens.
impl bb8::CustomizeConnection<MultiplexedConnection, RedisError> for SetName {
    fn on_acquire<'a>(
        &'a self,
        con: &'a mut MultiplexedConnection,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), RedisError>> + Send + 'a>> {
        Box::pin(async move {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(&self.0)
                .exec_async(con)
                .await
        })
    }
}
// ANCHOR_END: with_bb8

// ANCHOR: helpers
/// How many connections named `name` the server has open right now.
pub fn connections_named(observer: &mut redis::Connection, name: &str) -> RedisResult<usize> {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(observer)?;
    let field = format!("name={name}");
    Ok(list
        .lines()
        .filter(|line| line.split_whitespace().any(|f| f == field))
        .count())
}

/// Waits for every thread; the first error (or panic) wins.
fn join_all(handles: Vec<std::thread::ScopedJoinHandle<'_, RedisResult<()>>>) -> RedisResult<()> {
    let mut outcome = Ok(());
    for handle in handles {
        let result = handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}

/// Waits for every task; the first error (or panic) wins.
async fn join_tasks(mut tasks: tokio::task::JoinSet<RedisResult<()>>) -> RedisResult<()> {
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let result = match joined {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(pool_error(error)), // cancelled: not done here
        };
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}

/// A pool that cannot hand out a connection, as a redis error (so that the
/// binary reports it like any other).
fn pool_error(error: impl fmt::Display) -> RedisError {
    (
        ErrorKind::Io,
        "no connection from the pool",
        error.to_string(),
    )
        .into()
}

/// A worker that waited `waited` for a connection and got none, told apart
/// by what the pool held at that moment: all `size` connections open means
/// they were lent out to other workers all along (the server answered);
/// fewer means the pool could not open one.
fn waited_in_vain(
    connections: u32,
    size: u32,
    waited: Duration,
    error: impl fmt::Display,
) -> RedisError {
    let waited = waited.as_secs();
    if connections >= size {
        pool_error(format!(
            "{error}: all {size} connection(s) stayed lent out to other workers for {waited} s; \
             the pool was busy, the server was not gone (try a larger --size or fewer --workers)"
        ))
    } else {
        pool_error(format!(
            "{error}: could not open a connection within {waited} s; is the server still running?"
        ))
    }
}
// ANCHOR_END: helpers
