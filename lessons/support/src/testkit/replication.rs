//! Redis servers that survive their own crash, and Sentinels: the
//! throwaway machinery of lesson 27 (`just run lesson-27 replicate|failover`)
//! and of its tests.
//!
//! A [`RedisNode`] is a [`RedisServer`](super::RedisServer) that a lesson
//! can kill with `kill -9` and start again *on the same port and the same
//! data directory*, which is what a crash and a restart are; its settings
//! (persistence, above all) are the caller's. It has a password, like the
//! course's Redis, and uses the same one to log in to a primary
//! (`masterauth`), so that any node can become the replica of any other.
//!
//! A [`Sentinel`] is the same `redis-server` binary in sentinel mode, with an
//! empty configuration: the lesson tells it what to watch
//! (`SENTINEL MONITOR`), so that the commands are on the page.
//!
//! Both follow the kit's rules: free ports on 127.0.0.1, a temporary
//! directory each, output to a log file there, killed when dropped and when
//! the process that started them dies. A lesson binary that starts them
//! also calls [`stop_all_on_ctrl_c`], so that Ctrl-C removes their
//! directories too, not only their processes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use tempfile::TempDir;

use super::{
    Guarded, free_port, greet, loopback, redis_server_binary, retry_on_port_clash, temp_dir,
    wait_for_redis, wait_until,
};

// ---------------------------------------------------------------------------
// A Redis node
// ---------------------------------------------------------------------------

/// A `redis-server` that can crash and come back: [`RedisNode::kill`] is
/// `kill -9`, [`RedisNode::start_again`] starts it on the same port, with the
/// same settings, on the same data directory, and waits until it answers.
pub struct RedisNode {
    /// What the lesson calls it ("primary", "replica 1"), for error messages.
    name: String,
    /// The running server; `None` between a kill and a start.
    process: Option<Guarded>,
    port: u16,
    /// `requirepass` and `masterauth` both: one password for the whole group.
    password: String,
    /// The caller's settings, passed after the kit's own (later wins).
    config: Vec<String>,
    /// Where the server keeps `dump.rdb`, `appendonlydir/` and `redis.log`.
    dir: PathBuf,
    /// The directory's owner when the kit made it: removed on drop. `None`
    /// when the caller gave a directory (it stays, for someone to look at).
    _temp: Option<TempDir>,
    /// Its entry in the Ctrl-C list, while it runs.
    live: Option<u64>,
}

impl RedisNode {
    /// Starts a node in a new temporary directory, on a free port, with
    /// `password` and extra `redis-server` arguments such as
    /// `["--appendonly", "yes"]`, and waits until it answers.
    pub fn start(name: &str, password: &str, config: &[&str]) -> io::Result<Self> {
        retry_on_port_clash(|| {
            let temp = temp_dir("redis-node")?;
            let dir = temp.path().to_path_buf();
            Self::launch(name, password, config, dir, Some(temp), free_port()?)
        })
    }

    /// Starts a node on a free port whose data lives in `dir` (created if
    /// need be, and left in place afterwards): to look at what another
    /// node left there, or to keep it for a test to look at.
    pub fn start_in(dir: &Path, name: &str, password: &str, config: &[&str]) -> io::Result<Self> {
        fs::create_dir_all(dir).map_err(|error| {
            io::Error::other(format!(
                "cannot make the data folder {} for redis-server ({name}): {error}",
                dir.display()
            ))
        })?;
        retry_on_port_clash(|| {
            Self::launch(
                name,
                password,
                config,
                dir.to_path_buf(),
                None,
                free_port()?,
            )
        })
    }

    fn launch(
        name: &str,
        password: &str,
        config: &[&str],
        dir: PathBuf,
        temp: Option<TempDir>,
        port: u16,
    ) -> io::Result<Self> {
        let mut node = RedisNode {
            name: name.to_string(),
            process: None,
            port,
            password: password.to_string(),
            config: config.iter().map(|s| s.to_string()).collect(),
            dir,
            _temp: temp,
            live: None,
        };
        node.start_again()?;
        Ok(node)
    }

    /// Starts the node again after [`RedisNode::kill`]: same port, same
    /// settings, same directory, so it loads whatever it had saved there.
    /// Does nothing if it is running.
    pub fn start_again(&mut self) -> io::Result<()> {
        if self.process.is_some() {
            return Ok(());
        }
        let mut command = Command::new(redis_server_binary()?);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--daemonize", "no", "--requirepass", &self.password])
            .args(["--masterauth", &self.password])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.config);
        let log = self.log();
        let mut process = Guarded::spawn(command, &log)?;
        let what = format!("redis-server ({}, port {})", self.name, self.port);
        wait_for_redis(&what, &mut process, self.port, Some(&self.password), &log)?;
        self.live = Some(register(process.pid, self._temp.as_ref().map(|t| t.path())));
        self.process = Some(process);
        Ok(())
    }

    /// Kills the server at once (SIGKILL), as a crash would: nothing it
    /// held only in memory survives. [`RedisNode::start_again`] restarts it.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
        if let Some(id) = self.live.take() {
            deregister(id);
        }
    }

    /// `redis://:<password>@127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/", self.password, self.port)
    }

    /// The port it listens on (the same after a restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.pid as u32)
    }

    /// Whether its process is alive (a test can check that a lesson's
    /// `kill -9` really happened, or that a paused node was resumed).
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(Guarded::is_alive)
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("redis.log")
    }
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// A Sentinel
// ---------------------------------------------------------------------------

/// A Redis Sentinel: `redis-server sentinel.conf --sentinel`, on a free
/// port, watching nothing until it is told (`SENTINEL MONITOR`). It has no
/// password of its own; it answers on 127.0.0.1 only.
pub struct Sentinel {
    process: Guarded,
    port: u16,
    /// Holds `sentinel.conf`, which Sentinel rewrites as it learns the
    /// group (it must be writable), and `sentinel.log`.
    dir: TempDir,
    live: u64,
}

impl Sentinel {
    /// Starts a Sentinel and waits until it answers PING; `name` ("sentinel
    /// 1") is for error messages.
    pub fn start(name: &str) -> io::Result<Self> {
        let binary = redis_server_binary()?;
        retry_on_port_clash(|| {
            let dir = temp_dir("sentinel")?;
            let port = free_port()?;
            let conf = dir.path().join("sentinel.conf");
            fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {}\nsentinel resolve-hostnames no\n",
                    dir.path().display()
                ),
            )?;
            let mut command = Command::new(&binary);
            command.arg(&conf).arg("--sentinel");
            let log = dir.path().join("sentinel.log");
            let mut process = Guarded::spawn(command, &log)?;
            let what = format!("redis-server --sentinel ({name}, port {port})");
            let addr = loopback(port);
            wait_until(&what, &mut process, &log, || {
                greet(addr, b"PING\r\n", |reply| reply.starts_with(b"+PONG"))
            })?;
            let live = register(process.pid, Some(dir.path()));
            Ok(Sentinel {
                process,
                port,
                dir,
                live,
            })
        })
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its log file (Sentinel logs every state change: `+sdown`,
    /// `+odown`, `+switch-master`).
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("sentinel.log")
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.process.kill();
        deregister(self.live);
    }
}

// ---------------------------------------------------------------------------
// Ctrl-C
// ---------------------------------------------------------------------------

/// The servers running now, with the temporary directory to remove, for
/// the Ctrl-C handler.
static LIVE: Mutex<Vec<(u64, i32, Option<PathBuf>)>> = Mutex::new(Vec::new());

fn register(pid: i32, dir: Option<&Path>) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut live) = LIVE.lock() {
        live.push((id, pid, dir.map(Path::to_path_buf)));
    }
    id
}

fn deregister(id: u64) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(entry, _, _)| *entry != id);
    }
}

/// Makes Ctrl-C stop every [`RedisNode`] and [`Sentinel`] this process
/// started and remove their temporary directories before it exits (with
/// status 130, as a shell reports an interrupted program).
///
/// Without it, the servers still die with the process (they are bound to
/// it), but their directories would wait for the next run to sweep them.
/// Call it once, at the start of `main`.
pub fn stop_all_on_ctrl_c() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let watcher = std::thread::Builder::new().name("ctrl-c".into()).spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
                eprintln!("\ninterrupted: stopping the servers this run started");
                if let Ok(live) = LIVE.lock() {
                    for (_, pid, dir) in live.iter() {
                        super::kill_group(*pid, libc::SIGKILL);
                        if let Some(dir) = dir {
                            let _ = fs::remove_dir_all(dir);
                        }
                    }
                }
                std::process::exit(130);
            }
        });
        if let Err(error) = watcher {
            eprintln!("warning: cannot watch for Ctrl-C ({error})");
        }
    });
}
