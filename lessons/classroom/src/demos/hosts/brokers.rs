//! Throwaway Redis and RabbitMQ inside the brokers' namespace, listening
//! only on the bridge's link-local address.
//!
//! The test kit's brokers listen on 127.0.0.1, which is a different
//! loopback in every namespace: an agent in `web-1` could never reach them.
//! These listen on 169.254.26.1, the one address every host is linked to.
//! Inside a namespace of our own the default ports are free (no student's
//! broker is in there), so the URLs read as they would on a real network.
//! Their data and logs go to the run's folder; they are killed with
//! everything else in the namespace when the network is removed.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::BROKERS_ADDR;
use crate::Result;

/// How long a broker may take to answer: RabbitMQ needs several seconds on
/// a loaded two-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The two brokers, running in the brokers' namespace.
pub struct Brokers {
    pub amqp_url: String,
    pub redis_url: String,
    /// The servers (`ip netns exec` becomes the server: same process).
    servers: Vec<Child>,
}

impl Brokers {
    /// Starts both in `namespace`, with data under `dir`, and waits until
    /// each answers its protocol's greeting, asked from the namespace
    /// `probe_from` (another host: so the link itself is proven too).
    pub fn start(namespace: &str, dir: &Path, probe_from: &str) -> Result<Brokers> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let password = crate::exercises::rpc_commands::random_key()?;
        let mut brokers = Brokers {
            amqp_url: format!("amqp://guest:guest@{BROKERS_ADDR}:5672/%2f"),
            redis_url: format!("redis://:{password}@{BROKERS_ADDR}:6379/"),
            servers: Vec::new(),
        };

        let redis_dir = dir.join("redis");
        fs::create_dir_all(&redis_dir).map_err(|e| e.to_string())?;
        let mut redis = in_namespace(namespace, "redis-server");
        redis
            .args(["--bind", &BROKERS_ADDR.to_string(), "--port", "6379"])
            .args(["--requirepass", &password])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&redis_dir);
        let log = redis_dir.join("redis.log");
        brokers.servers.push(spawn(redis, &log, "redis-server")?);
        let hello = format!("AUTH {password}\r\nPING\r\n");
        brokers.wait_until_answers("Redis", 6379, hello.as_bytes(), b"+OK", probe_from, &log)?;

        let rabbit_dir = dir.join("rabbitmq");
        let rabbit = rabbitmq_command(namespace, &rabbit_dir)?;
        let log = rabbit_dir.join("node.log");
        brokers
            .servers
            .push(spawn(rabbit, &log, "rabbitmq-server")?);
        // A ready broker answers the AMQP 0-9-1 header with a method frame
        // (frame type 1).
        brokers.wait_until_answers(
            "RabbitMQ",
            5672,
            b"AMQP\x00\x00\x09\x01",
            &[1],
            probe_from,
            &log,
        )?;
        Ok(brokers)
    }

    /// Polls the port from the host `from` until the greeting is answered,
    /// the server exits, or time runs out.
    fn wait_until_answers(
        &mut self,
        what: &str,
        port: u16,
        hello: &[u8],
        answer: &[u8],
        from: &str,
        log: &Path,
    ) -> Result<()> {
        let addr = SocketAddr::from((BROKERS_ADDR, port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if greets_from(from, addr, hello, answer)? {
                return Ok(());
            }
            let server = self.servers.last_mut().ok_or("no server was started")?;
            if let Ok(Some(status)) = server.try_wait() {
                return Err(format!(
                    "{what} exited ({status}); its log, {}:\n{}",
                    log.display(),
                    tail(log)
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{what} did not answer on {addr} within {} s; its log: {}",
                    START_TIMEOUT.as_secs(),
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Brokers {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// `ip netns exec NAMESPACE PROGRAM`: the program, inside the namespace.
pub fn in_namespace(namespace: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", namespace]).arg(program);
    command
}

/// A RabbitMQ node of its own: its own data, logs, cookie (in HOME) and
/// settings, nothing from /etc/rabbitmq.
fn rabbitmq_command(namespace: &str, dir: &Path) -> Result<Command> {
    let server = [
        "/usr/lib/rabbitmq/bin/rabbitmq-server",
        "/usr/sbin/rabbitmq-server",
    ]
    .into_iter()
    .find(|path| Path::new(path).is_file())
    .ok_or("rabbitmq-server is not installed (just setup installs it)")?;
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let write = |name: &str, text: &str| {
        fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write(
        "rabbitmq.conf",
        &format!(
            "listeners.tcp.default = {BROKERS_ADDR}:5672\n\
             # guest may log in from the agents' hosts: nothing outside\n\
             # these namespaces can reach this address.\n\
             loopback_users = none\n\
             log.console = false\n"
        ),
    )?;
    write("rabbitmq-env.conf", "")?;
    write("enabled_plugins", "[].\n")?;
    let path = |name: &str| dir.join(name).into_os_string();
    let mut command = in_namespace(namespace, server);
    command
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", dir)
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        // `localhost` is this namespace's own loopback: Erlang's node
        // name and its port mapper (epmd) stay inside it.
        .env("RABBITMQ_NODENAME", "rabbit@localhost")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_CONFIG_FILE", path("rabbitmq"))
        .env("RABBITMQ_CONF_ENV_FILE", path("rabbitmq-env.conf"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
        .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
        .env("RABBITMQ_LOG_BASE", path("log"))
        .env("RABBITMQ_PID_FILE", path("node.pid"))
        .env("ERL_CRASH_DUMP", path("erl_crash.dump"))
        // The start script then `exec`s the Erlang VM, so the VM is the
        // process we started; `-noinput` keeps it from reading a shell.
        .env("RABBITMQ_ALLOW_INPUT", "1")
        .env(
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
            "-noinput -kernel inet_dist_use_interface {127,0,0,1}",
        );
    Ok(command)
}

/// Starts a server with its output going to `log`, in a process group of
/// its own (a Ctrl-C meant for the demo is handled by the demo, which then
/// removes the namespace and everything in it), dying with the demo.
fn spawn(mut command: Command, log: &Path, what: &str) -> Result<Child> {
    let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    command.stdin(Stdio::null()).stdout(out).stderr(err);
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        // SAFETY: only an async-signal-safe system call between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    command
        .spawn()
        .map_err(|e| format!("could not start {what}: {e}"))
}

/// Connects to `addr` from inside the namespace `from`, sends `hello`, and
/// says whether the reply starts with `answer`.
///
/// A thread can enter another network namespace on its own (`setns`): the
/// sockets it opens then belong there. So the probe runs on a short-lived
/// thread, and the rest of the demo stays where it was.
pub fn greets_from(from: &str, addr: SocketAddr, hello: &[u8], answer: &[u8]) -> Result<bool> {
    let netns =
        File::open(format!("/run/netns/{from}")).map_err(|e| format!("namespace {from}: {e}"))?;
    let hello = hello.to_vec();
    let answer = answer.to_vec();
    std::thread::spawn(move || -> Result<bool> {
        // SAFETY: setns on a file descriptor we own; it changes only this
        // thread's network namespace.
        if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns: {}", std::io::Error::last_os_error()));
        }
        let attempt = || -> std::io::Result<bool> {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(&hello)?;
            let mut reply = [0u8; 16];
            let n = stream.read(&mut reply)?;
            Ok(reply[..n].starts_with(&answer))
        };
        Ok(attempt().unwrap_or(false))
    })
    .join()
    .map_err(|_| "the probe thread panicked".to_string())?
}

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
