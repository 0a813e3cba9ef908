//! Throwaway Redis, RabbitMQ and Memcached servers for tests.
//!
//! Tests talk to real brokers, never mocks. But a test must never touch the
//! brokers a student is running on the default ports (6379, 5672), and must
//! never leave a server behind. So each server started here:
//!
//! - listens on free ports that the OS picks, on 127.0.0.1 only;
//! - lives in its own temporary directory (data, logs, its own RabbitMQ node
//!   name, Erlang cookie and `epmd`), with its output sent to files there;
//! - is answered before `start` returns (bounded polling of its port with a
//!   real protocol greeting, not a sleep);
//! - is killed and its directory removed when the value is dropped, which
//!   also happens when the test panics. If the whole test process dies (a
//!   crash, Ctrl-C, a CI timeout), the kernel kills the servers too: they are
//!   spawned with `PR_SET_PDEATHSIG` on Linux.
//!
//! Starting RabbitMQ takes a few seconds, so a test binary usually shares one
//! of each with [`shared_redis`] and [`shared_rabbitmq`], and every test uses
//! names of its own ([`unique_name`]). A test that stops or kills its broker
//! starts a private one with [`RabbitMq::start`]. A test that needs several
//! nodes in one cluster, to kill and restart them, starts a
//! [`RabbitCluster`] (lesson 28's programs start theirs the same way).
//!
//! [`ServerProcess`] runs a lesson's own server binary under the same rules
//! (killed on drop, dies with the test), and reads back the address from
//! its `listening on ADDR` line, so tests and benchmarks can pass port 0.
//! Other lesson programs that tests start in the background are
//! [`Program`]s: their output is read line by line (to wait for "ready"
//! instead of sleeping), and they are killed when the test is done with them.
//!
//! Lesson 27 needs more than one Redis: [`RedisNode`] is a server that can
//! be killed and started again on its own data, and [`Sentinel`] is the same
//! binary in sentinel mode (both in `testkit/replication.rs`).
//!
//! ```no_run
//! let rabbit = support::testkit::shared_rabbitmq();
//! let queue = support::testkit::unique_name("hello");
//! // ... run a lesson binary with `--url rabbit.url()` and a queue of its own.
//! # let _ = (rabbit, queue);
//! ```

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use tempfile::TempDir;

mod bad_input;
mod cluster;
mod program;
mod replication;
#[cfg(feature = "amqp")]
mod routing;
#[cfg(feature = "redis")]
mod tour;
#[cfg(unix)]
pub use bad_input::ends_quietly_when_the_reader_leaves;
pub use bad_input::{
    a_taken_port_gets_a_next_step, localhost_means_loopback, refused, refused_command,
};
pub use cluster::{ClusterBuilder, RabbitCluster};
pub use program::{Finished, PATIENCE, Program, eventually, eventually_within, run};
pub use program::{Timed, run_timed};
pub use replication::{RedisNode, Sentinel, stop_all_on_ctrl_c};
#[cfg(feature = "amqp")]
pub use routing::{Probe, ask_queue, queue_length, route};
#[cfg(feature = "redis")]
pub use tour::{anonymise, assert_exchanges, redis_tour};

/// How long a server may take to answer after it is started. RabbitMQ needs
/// about 4 s on a 2-core machine; a loaded CI machine gets ample slack.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a graceful RabbitMQ stop may take before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A name no other test in this run uses, for queues, exchanges and key
/// prefixes: `prefix-<process id>-<counter>`.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------

/// A `redis-server` of this test's own, on a free port, with no persistence,
/// and a password of its own (`requirepass`), as the course's Redis has one:
/// lessons get it in [`RedisServer::url`], so every test goes through
/// `AUTH` as a real deployment would.
pub struct RedisServer {
    process: Guarded,
    port: u16,
    password: Option<String>,
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server with a password and waits until it answers.
    pub fn start() -> io::Result<Self> {
        Self::start_with(Some(unique_name("testkit-pw")))
    }

    /// Starts a server without a password: for a test of what a lesson
    /// says to a student's own passwordless Redis, and for a wiretap that
    /// sits between a program and the server and reads every command.
    pub fn start_open() -> io::Result<Self> {
        Self::start_with(None)
    }

    fn start_with(password: Option<String>) -> io::Result<Self> {
        let binary = redis_server_binary()?;
        retry_on_port_clash(|| {
            let dir = temp_dir("redis")?;
            let port = free_port()?;
            let mut command = Command::new(&binary);
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path());
            if let Some(password) = &password {
                command.args(["--requirepass", password]);
            }
            let process = Guarded::spawn(command, &dir.path().join("redis.log"))?;
            let mut server = RedisServer {
                process,
                port,
                password: password.clone(),
                dir,
            };
            server.wait_until_ready()?;
            Ok(server)
        })
    }

    /// `redis://:<password>@127.0.0.1:<port>/`, for a lesson's `--url`.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Its password (`None` for [`RedisServer::start_open`]), for tools
    /// that take it apart from the address (`redis-cli -a`, `redis-benchmark -a`).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id (benchmarks read its CPU time from /proc).
    pub fn pid(&self) -> u32 {
        self.process.pid as u32
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    fn wait_until_ready(&mut self) -> io::Result<()> {
        let log = self.dir.path().join("redis.log");
        let password = self.password.as_deref();
        wait_for_redis("redis-server", &mut self.process, self.port, password, &log)
    }
}

/// Finds `redis-server` (or `REDIS_SERVER_BIN`), or says how to install it.
fn redis_server_binary() -> io::Result<PathBuf> {
    find_binary(
        "REDIS_SERVER_BIN",
        &["redis-server"],
        &[],
        "redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)",
    )
}

/// Waits until the `redis-server` on `port` answers AUTH (or PING, without
/// a password); `what` names it in the error, with its log.
fn wait_for_redis(
    what: &str,
    process: &mut Guarded,
    port: u16,
    password: Option<&str>,
    log: &Path,
) -> io::Result<()> {
    let addr = loopback(port);
    let hello = match password {
        Some(password) => format!("AUTH {password}\r\nPING\r\n"),
        None => "PING\r\n".to_string(),
    };
    let answer: &[u8] = if password.is_some() { b"+OK" } else { b"+PONG" };
    wait_until(what, process, log, || {
        greet(addr, hello.as_bytes(), |reply| reply.starts_with(answer))
    })
}

// ---------------------------------------------------------------------------
// Memcached
// ---------------------------------------------------------------------------

/// A `memcached` of this test's own, on a free port (TCP only, 64 MiB).
pub struct MemcachedServer {
    process: Guarded,
    port: u16,
    dir: TempDir,
}

impl MemcachedServer {
    /// Starts a server and waits until it answers `version`.
    pub fn start() -> io::Result<Self> {
        let binary = find_binary(
            "MEMCACHED_BIN",
            &["memcached"],
            &[],
            "memcached (Debian/Ubuntu: apt-get install memcached; macOS: brew install memcached; or `just setup`)",
        )?;
        retry_on_port_clash(|| {
            let dir = temp_dir("memcached")?;
            let port = free_port()?;
            let process = Self::spawn(&binary, port, &dir)?;
            let mut server = MemcachedServer { process, port, dir };
            server.wait_until_up()?;
            Ok(server)
        })
    }

    fn spawn(binary: &Path, port: u16, dir: &TempDir) -> io::Result<Guarded> {
        let mut command = Command::new(binary);
        command
            .args(["--port", &port.to_string(), "--listen", "127.0.0.1"])
            .args(["--udp-port", "0", "--memory-limit", "64"]);
        // memcached refuses to run as root unless told which user to be.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            command.args(["--user", "root"]);
        }
        Guarded::spawn(command, &dir.path().join("memcached.log"))
    }

    fn wait_until_up(&mut self) -> io::Result<()> {
        let log = self.dir.path().join("memcached.log");
        let addr = loopback(self.port);
        wait_until("memcached", &mut self.process, &log, || {
            greet(addr, b"version\r\n", |reply| reply.starts_with(b"VERSION "))
        })
    }

    /// Kills the server and starts it again on the same port, as a crash
    /// and a restart would: what it held in memory is gone.
    pub fn restart(&mut self) -> io::Result<()> {
        self.process.kill();
        let binary = find_binary("MEMCACHED_BIN", &["memcached"], &[], "memcached")?;
        self.process = Self::spawn(&binary, self.port, &self.dir)?;
        self.wait_until_up()
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port)
    }

    /// `memcache://127.0.0.1:<port>`, for a lesson's `--url`.
    pub fn url(&self) -> String {
        format!("memcache://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid as u32
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

// ---------------------------------------------------------------------------
// RabbitMQ
// ---------------------------------------------------------------------------

/// A RabbitMQ node of this test's own: its own node name, ports, data and
/// log directories, Erlang cookie and `epmd`.
///
/// It can be stopped and started again keeping its data ([`RabbitMq::stop`],
/// [`RabbitMq::start_again`]), which is how durability is proven, and
/// killed outright ([`RabbitMq::kill`]).
pub struct RabbitMq {
    /// The broker itself; `None` while stopped.
    node: Option<Guarded>,
    /// The Erlang port mapper the node and `rabbitmqctl` find each other by.
    /// One per node, so that no daemon outlives the test.
    epmd: Guarded,
    /// The files and settings a restart needs to come back as the same node.
    setup: NodeSetup,
    /// Holds data, logs, config and cookie; removed on drop.
    _dir: TempDir,
}

/// What makes a node the same node again after a restart.
struct NodeSetup {
    dir: PathBuf,
    node_name: String,
    amqp_port: u16,
    dist_port: u16,
    epmd_port: u16,
    server_bin: PathBuf,
    ctl_bin: PathBuf,
}

impl RabbitMq {
    /// Starts a fresh node and waits until it speaks AMQP.
    pub fn start() -> io::Result<Self> {
        let (server_bin, ctl_bin, epmd_bin) = rabbitmq_binaries()?;
        retry_on_port_clash(|| {
            let dir = temp_dir("rabbitmq")?;
            let setup = NodeSetup {
                dir: dir.path().to_path_buf(),
                node_name: format!("{}@localhost", unique_name("testkit")),
                amqp_port: free_port()?,
                dist_port: free_port()?,
                epmd_port: free_port()?,
                server_bin: server_bin.clone(),
                ctl_bin: ctl_bin.clone(),
            };
            setup.write_files()?;
            let epmd = spawn_epmd(&epmd_bin, setup.epmd_port, &setup.dir)?;
            let mut rabbit = RabbitMq {
                node: None,
                epmd,
                setup,
                _dir: dir,
            };
            rabbit.start_again()?;
            Ok(rabbit)
        })
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`, for a lesson's `--url`.
    pub fn url(&self) -> String {
        self.url_for("guest", "guest")
    }

    /// The URL for another user of this node (see [`RabbitMq::ctl`] to make one).
    pub fn url_for(&self, user: &str, password: &str) -> String {
        format!(
            "amqp://{user}:{password}@127.0.0.1:{}/%2f",
            self.setup.amqp_port
        )
    }

    /// The AMQP port.
    pub fn port(&self) -> u16 {
        self.setup.amqp_port
    }

    /// A virtual host `name` with a broker user `name` of its own, allowed
    /// only names that start with `name.` (and the default exchange, to
    /// publish replies): a namespace that other users of this node cannot
    /// read, write or even connect to. Returns the user's URL for that
    /// vhost. Lesson 26 gives each namespace one.
    pub fn isolated_vhost(&self, name: &str, password: &str) -> io::Result<String> {
        let own = format!("^{}\\.", name.replace('.', "\\."));
        let writable = format!("^({}\\..*|amq\\.default)$", name.replace('.', "\\."));
        self.ctl(&["add_vhost", name])?;
        self.ctl(&["add_user", name, password])?;
        self.ctl(&["set_permissions", "-p", name, name, &own, &writable, &own])?;
        Ok(format!(
            "amqp://{name}:{password}@127.0.0.1:{}/{name}",
            self.setup.amqp_port
        ))
    }

    /// Runs `rabbitmqctl` against this node, e.g. `["add_user", "hhh", "pw"]`,
    /// and returns what it printed.
    pub fn ctl(&self, args: &[&str]) -> io::Result<String> {
        self.setup.ctl(args)
    }

    /// Stops the node gracefully (SIGTERM, as `rabbitmqctl stop` would) and
    /// waits until it is gone. Durable queues and persistent messages stay
    /// on disk for [`RabbitMq::start_again`].
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut node) = self.node.take() {
            node.terminate(STOP_TIMEOUT)?;
        }
        Ok(())
    }

    /// Starts the node again with the same name, ports and data directory,
    /// and waits until it speaks AMQP.
    pub fn start_again(&mut self) -> io::Result<()> {
        if self.node.is_some() {
            return Ok(());
        }
        let mut node = self.setup.spawn_node()?;
        self.setup.wait_for_amqp(&mut node)?;
        self.node = Some(node);
        Ok(())
    }

    /// Stops the node gracefully and starts it again. See [`RabbitMq::stop`].
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// Kills the node at once (SIGKILL), as a power cut would. It can be
    /// started again with [`RabbitMq::start_again`].
    pub fn kill(&mut self) {
        if let Some(mut node) = self.node.take() {
            node.kill();
        }
    }

    /// Whether the node process is alive.
    pub fn is_running(&mut self) -> bool {
        self.node.as_mut().is_some_and(Guarded::is_alive)
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        // No need to be graceful with data that is about to be deleted.
        self.kill();
        self.epmd.kill();
    }
}

/// Where the RabbitMQ server, `rabbitmqctl` and `epmd` are: the server and
/// its control tool side by side, `epmd` from Erlang.
fn rabbitmq_binaries() -> io::Result<(PathBuf, PathBuf, PathBuf)> {
    let server_bin = find_binary(
        "RABBITMQ_SERVER_BIN",
        &["rabbitmq-server"],
        // Debian's /usr/sbin/rabbitmq-server switches to the `rabbitmq`
        // user; the script behind it runs a node as whoever we are.
        &["/usr/lib/rabbitmq/bin/rabbitmq-server"],
        "rabbitmq-server (Debian/Ubuntu: apt-get install rabbitmq-server; macOS: brew install rabbitmq)",
    )?;
    let ctl_bin = server_bin.with_file_name("rabbitmqctl");
    let epmd_bin = find_binary(
        "EPMD_BIN",
        &["epmd"],
        &[],
        "epmd (it comes with Erlang, which rabbitmq-server depends on)",
    )?;
    Ok((server_bin, ctl_bin, epmd_bin))
}

/// An `epmd` of our own on `port` (loopback only), answering before this
/// returns. Its output goes to `dir/epmd.log`.
fn spawn_epmd(epmd_bin: &Path, port: u16, dir: &Path) -> io::Result<Guarded> {
    let mut epmd = Command::new(epmd_bin);
    epmd.args(["-port", &port.to_string(), "-address", "127.0.0.1"]);
    let log = dir.join("epmd.log");
    let mut epmd = Guarded::spawn(epmd, &log)?;
    let addr = loopback(port);
    wait_until("epmd", &mut epmd, &log, || TcpStream::connect(addr).is_ok())?;
    Ok(epmd)
}

impl NodeSetup {
    /// Starts `rabbitmq-server` as this node, its output going to
    /// `node.log`, without waiting for it (see [`NodeSetup::wait_for_amqp`]):
    /// a cluster starts its nodes side by side.
    fn spawn_node(&self) -> io::Result<Guarded> {
        let mut command = Command::new(&self.server_bin);
        command.env_clear().envs(self.server_env());
        Guarded::spawn(command, &self.log())
    }

    /// Where the node's output goes.
    fn log(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    /// Waits until `node` speaks AMQP, or fails with the end of its log.
    fn wait_for_amqp(&self, node: &mut Guarded) -> io::Result<()> {
        let addr = loopback(self.amqp_port);
        // AMQP 0-9-1 begins with this header; a broker that is ready answers
        // with a Connection.Start method frame (frame type 1).
        wait_until("rabbitmq-server", node, &self.log(), || {
            greet(addr, b"AMQP\x00\x00\x09\x01", |reply| {
                reply.first() == Some(&1)
            })
        })
    }

    /// Runs `rabbitmqctl` (or, with another `tool`, a sibling such as
    /// `rabbitmq-queues`) against this node and returns what it printed.
    fn run_tool(&self, tool: &str, args: &[&str]) -> io::Result<String> {
        let output = Command::new(self.ctl_bin.with_file_name(tool))
            .args(["-n", &self.node_name])
            .args(args)
            .env_clear()
            .envs(self.ctl_env())
            .stdin(Stdio::null())
            .output()?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "{tool} {} failed ({}): {}{}",
                args.join(" "),
                output.status,
                text,
                String::from_utf8_lossy(&output.stderr)
            )))
        }
    }

    /// `rabbitmqctl -n <this node> args...`.
    fn ctl(&self, args: &[&str]) -> io::Result<String> {
        self.run_tool("rabbitmqctl", args)
    }

    /// An empty config and env file, so that nothing in /etc/rabbitmq (a
    /// student's own settings) applies to the test node, and no plugins.
    fn write_files(&self) -> io::Result<()> {
        fs::write(
            self.dir.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{}\nlog.console = false\n",
                self.amqp_port
            ),
        )?;
        fs::write(self.dir.join("rabbitmq-env.conf"), "")?;
        fs::write(self.dir.join("enabled_plugins"), "[].\n")?;
        Ok(())
    }

    /// The environment that makes `rabbitmq-server` this node.
    fn server_env(&self) -> Vec<(OsString, OsString)> {
        let dir = |name: &str| self.dir.join(name).into_os_string();
        let mut env = self.common_env();
        env.extend([
            (
                "RABBITMQ_NODE_PORT".into(),
                self.amqp_port.to_string().into(),
            ),
            ("RABBITMQ_NODE_IP_ADDRESS".into(), "127.0.0.1".into()),
            (
                "RABBITMQ_DIST_PORT".into(),
                self.dist_port.to_string().into(),
            ),
            ("RABBITMQ_MNESIA_BASE".into(), dir("mnesia")),
            ("RABBITMQ_LOG_BASE".into(), dir("log")),
            ("RABBITMQ_PID_FILE".into(), dir("node.pid")),
            ("RABBITMQ_CONFIG_FILE".into(), dir("rabbitmq")),
            ("RABBITMQ_CONF_ENV_FILE".into(), dir("rabbitmq-env.conf")),
            (
                "RABBITMQ_ENABLED_PLUGINS_FILE".into(),
                dir("enabled_plugins"),
            ),
            // With input allowed, the start script `exec`s the Erlang VM
            // instead of waiting on it as a child, so the VM is the process
            // we spawned: signals and PR_SET_PDEATHSIG reach it directly.
            // `-noinput` then keeps it from reading a shell from stdin.
            ("RABBITMQ_ALLOW_INPUT".into(), "1".into()),
            (
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS".into(),
                "-noinput -kernel inet_dist_use_interface {127,0,0,1}".into(),
            ),
        ]);
        env
    }

    /// The environment `rabbitmqctl` needs to find this node.
    fn ctl_env(&self) -> Vec<(OsString, OsString)> {
        let mut env = self.common_env();
        env.push((
            "RABBITMQ_CONF_ENV_FILE".into(),
            self.dir.join("rabbitmq-env.conf").into_os_string(),
        ));
        env
    }

    /// What both the node and `rabbitmqctl` share: the cookie in HOME, the
    /// node name and this node's own `epmd`.
    fn common_env(&self) -> Vec<(OsString, OsString)> {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        vec![
            ("PATH".into(), path),
            ("HOME".into(), self.dir.clone().into_os_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("RABBITMQ_NODENAME".into(), self.node_name.clone().into()),
            ("ERL_EPMD_PORT".into(), self.epmd_port.to_string().into()),
            // An Erlang VM that dies (a node that fails to start, say on a
            // port another process took first) writes erl_crash.dump into
            // its working directory, which would be the lesson's folder.
            (
                "ERL_CRASH_DUMP".into(),
                self.dir.join("erl_crash.dump").into_os_string(),
            ),
        ]
    }
}

// ---------------------------------------------------------------------------
// A lesson's own server binary
// ---------------------------------------------------------------------------

/// How long a lesson server may take to print its `listening on` line.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A lesson's server binary, running as a child process: started with
/// `--listen 127.0.0.1:0` (or whatever the command says), its address read
/// back from its first line of stdout, `listening on ADDR`, as every server
/// in the course prints it.
///
/// Its later stdout lines are kept for [`ServerProcess::wait_for_line`]
/// (a pipe that nobody reads would fill up and stall the server); its stderr
/// is kept for error messages. It is killed when dropped, and dies with the
/// test process however that ends (`PR_SET_PDEATHSIG`).
///
/// ```no_run
/// # fn example(server_binary: &std::path::Path) -> std::io::Result<()> {
/// let mut command = std::process::Command::new(server_binary);
/// command.args(["--listen", "127.0.0.1:0", "--quiet"]);
/// let server = support::testkit::ServerProcess::start(command)?;
/// let stream = std::net::TcpStream::connect(server.addr())?;
/// # drop(stream);
/// # Ok(())
/// # }
/// ```
pub struct ServerProcess {
    /// The running server.
    child: Child,
    /// Where it listens, from its first line.
    addr: SocketAddr,
    /// Its stdout after the first line, one line per message.
    lines: Mutex<mpsc::Receiver<String>>,
    /// All of its stdout, kept for [`ServerProcess::output`].
    output: std::sync::Arc<Mutex<String>>,
    /// Everything it wrote to stderr so far.
    stderr: std::sync::Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `command` and waits for its `listening on ADDR` line.
    pub fn start(command: Command) -> io::Result<Self> {
        let (child, piped) = program::Piped::spawn(command)?;
        let first = piped.lines.recv_timeout(LISTEN_TIMEOUT);
        let mut server = ServerProcess {
            child,
            addr: loopback(0),
            lines: Mutex::new(piped.lines),
            output: piped.stdout,
            stderr: piped.stderr,
        };
        let first = match first {
            Ok(line) => line,
            Err(_) => return Err(server.failure("did not print `listening on ADDR`")),
        };
        server.addr = first
            .strip_prefix("listening on ")
            .and_then(|addr| addr.trim().parse().ok())
            .ok_or_else(|| {
                server.failure(&format!("printed {first:?} first, not `listening on ADDR`"))
            })?;
        Ok(server)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for a line of stdout that contains `needle`,
    /// and returns it. Lines before it are consumed.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> io::Result<String> {
        let deadline = Instant::now() + timeout;
        let lines = self
            .lines
            .lock()
            .map_err(|_| io::Error::other("a test thread panicked while reading lines"))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(_) => continue,
                Err(_) => return Err(self.failure(&format!("printed no line with {needle:?}"))),
            }
        }
    }

    /// Every line it printed to stdout so far, its first included (whether
    /// or not [`ServerProcess::wait_for_line`] has consumed them).
    pub fn output(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// An error naming what went wrong, with its exit status and stderr.
    fn failure(&self, what: &str) -> io::Error {
        // Give the stderr reader a moment to collect the last words of a
        // server that just died.
        std::thread::sleep(POLL_INTERVAL);
        io::Error::other(format!(
            "the server (pid {}) {what}. Its stderr:\n{}",
            self.child.id(),
            self.stderr()
        ))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes the child die when this process dies (Linux), however it ends.
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: only async-signal-safe system calls run between fork and
        // exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

// ---------------------------------------------------------------------------
// Shared instances
// ---------------------------------------------------------------------------

/// One Redis server for the whole test binary, started on first use.
///
/// Rust never drops statics, so shared servers are stopped and their
/// directories removed by an exit handler, and by the kernel if the process
/// dies without running it.
pub fn shared_redis() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(|| {
        let server = RedisServer::start().expect("starting the shared test redis-server");
        at_exit(server.process.pid, server.dir.path());
        server
    })
}

/// One Memcached server for the whole test binary, started on first use.
pub fn shared_memcached() -> &'static MemcachedServer {
    static SHARED: OnceLock<MemcachedServer> = OnceLock::new();
    SHARED.get_or_init(|| {
        let server = MemcachedServer::start().expect("starting the shared test memcached");
        at_exit(server.process.pid, server.dir.path());
        server
    })
}

/// One RabbitMQ node for the whole test binary, started on first use. Tests
/// must not stop it: use [`RabbitMq::start`] for a node of your own.
pub fn shared_rabbitmq() -> &'static RabbitMq {
    static SHARED: OnceLock<RabbitMq> = OnceLock::new();
    SHARED.get_or_init(|| {
        let rabbit = RabbitMq::start().expect("starting the shared test rabbitmq-server");
        let node_pid = rabbit.node.as_ref().map(|node| node.pid);
        if let Some(pid) = node_pid {
            at_exit(pid, rabbit.setup.dir.as_path());
        }
        at_exit(rabbit.epmd.pid, rabbit.setup.dir.as_path());
        rabbit
    })
}

/// Process groups to kill and directories to remove when the process exits.
static AT_EXIT: Mutex<Vec<(i32, PathBuf)>> = Mutex::new(Vec::new());

fn at_exit(pid: i32, dir: &Path) {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `cleanup` is an `extern "C" fn()` that never unwinds.
        unsafe { libc::atexit(cleanup) };
    });
    if let Ok(mut list) = AT_EXIT.lock() {
        list.push((pid, dir.to_path_buf()));
    }
}

extern "C" fn cleanup() {
    // `try_lock`: never wait at exit on a lock a dying thread may hold.
    let Ok(list) = AT_EXIT.try_lock() else { return };
    for (pid, _) in list.iter() {
        kill_group(*pid, libc::SIGKILL);
        // SAFETY: waitpid on our own child; reaps it so its files are closed.
        unsafe { libc::waitpid(*pid, std::ptr::null_mut(), 0) };
    }
    for (_, dir) in list.iter() {
        let _ = fs::remove_dir_all(dir);
    }
}

// ---------------------------------------------------------------------------
// Processes that cannot outlive the test
// ---------------------------------------------------------------------------

/// A child process in its own process group, with stdout and stderr going to
/// a log file, killed (with its whole group) when dropped.
struct Guarded {
    child: Child,
    pid: i32,
}

impl Guarded {
    /// Spawns `command` with its output going to `log`.
    fn spawn(mut command: Command, log: &Path) -> io::Result<Self> {
        let out = File::options().create(true).append(true).open(log)?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = spawn_bound_to_us(command)?;
        let pid = child.id() as i32;
        Ok(Guarded { child, pid })
    }

    fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL to the whole group, then reap.
    fn kill(&mut self) {
        if self.is_alive() {
            kill_group(self.pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// SIGTERM, wait up to `timeout` for a clean exit, then SIGKILL.
    fn terminate(&mut self, timeout: Duration) -> io::Result<()> {
        kill_group(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        self.kill();
        Err(io::Error::other(format!(
            "process {} did not stop within {} s and was killed",
            self.pid,
            timeout.as_secs()
        )))
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `command` in a process group of its own (so that killing the group
/// also kills whatever it started), through the spawner thread (see
/// [`spawner`]), and on Linux with `PR_SET_PDEATHSIG`, so that it dies with
/// the test process however that ends.
fn spawn_bound_to_us(mut command: Command) -> io::Result<Child> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    die_with_parent(&mut command);
    spawn_from_spawner(command)
}

fn kill_group(pid: i32, signal: i32) {
    // SAFETY: plain system call; a group that is already gone is harmless.
    unsafe { libc::kill(-pid, signal) };
}

/// The thread every server is spawned from.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that spawned a child exits,
/// not the process. Test threads end after each test, but a shared server
/// must live until the binary exits, so all children come from this one
/// thread, which lives as long as the process.
type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` from the spawner thread (see [`spawner`]).
fn spawn_from_spawner(command: Command) -> io::Result<Child> {
    let died = || io::Error::other("the testkit spawner thread died");
    let (reply, answer) = mpsc::channel();
    spawner()
        .lock()
        .map_err(|_| died())?
        .send((command, reply))
        .map_err(|_| died())?;
    answer.recv().map_err(|_| died())?
}

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("testkit-spawner".into())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("spawning the testkit spawner thread");
        Mutex::new(requests)
    })
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A port nothing listens on right now. Another process could take it before
/// the server binds it; [`retry_on_port_clash`] covers that rare case.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn retry_on_port_clash<T>(mut attempt: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut last = None;
    for _ in 0..3 {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(error) => last = Some(error),
        }
    }
    Err(last.expect("three attempts were made"))
}

/// A new directory `testkit-<what>-<our pid>-XXXXXX` in the system's temp
/// folder. Directories left by test runs that were killed (and so could not
/// clean up) are removed on the way.
fn temp_dir(what: &str) -> io::Result<TempDir> {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(remove_stale_dirs);
    tempfile::Builder::new()
        .prefix(&format!("testkit-{what}-{}-", std::process::id()))
        .tempdir()
}

fn remove_stale_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("testkit-") else {
            continue;
        };
        // testkit-<what>-<pid>-<random>
        let Some(pid) = rest.split('-').nth(1).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether `pid` is a running process (a zombie, dead but not yet reaped,
/// counts as gone).
fn process_alive(pid: i32) -> bool {
    if Path::new("/proc/self/stat").exists() {
        // /proc/<pid>/stat is `pid (name) STATE ...`; the name may hold spaces.
        return fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .is_some_and(|zombie| !zombie);
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Polls `ready` until it returns true, the process exits, or time runs out.
fn wait_until(
    what: &str,
    process: &mut Guarded,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> io::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if ready() {
            return Ok(());
        }
        if let Some(status) = process.child.try_wait()? {
            return Err(io::Error::other(format!(
                "{what} exited ({status}) before it answered. Its log {}:\n{}",
                log.display(),
                tail(log)
            )));
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "{what} did not answer within {} s. Its log {}:\n{}",
                START_TIMEOUT.as_secs(),
                log.display(),
                tail(log)
            )));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Connects, sends `hello`, and checks the first bytes of the reply.
fn greet(addr: SocketAddr, hello: &[u8], check: impl Fn(&[u8]) -> bool) -> bool {
    let attempt = || -> io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(hello)?;
        let mut reply = [0u8; 16];
        let n = stream.read(&mut reply)?;
        Ok(check(&reply[..n]))
    };
    attempt().unwrap_or(false)
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Finds a server binary: an override from the environment, then fixed
/// places, then `PATH`. The error says what to install.
fn find_binary(
    env_override: &str,
    names: &[&str],
    fixed: &[&str],
    install: &str,
) -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os(env_override) {
        return Ok(PathBuf::from(path));
    }
    let fixed = fixed.iter().map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)));
    fixed.chain(on_path).find(|p| p.is_file()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("tests need {install}, or set {env_override} to its path"),
        )
    })
}
