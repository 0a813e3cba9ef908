//! The brokers a lesson needs, started for it when none runs.
//!
//! `just run lesson-10 send` on a fresh machine should just work: when a
//! lesson talks to RabbitMQ, Redis or Memcached, nothing answers at the
//! default address and the student named no address of their own (`--url`,
//! `AMQP_URL`, `REDIS_URL`, ...), `just run` starts the course's broker the
//! way `just up` does (it calls `just up NAME`), waits until it answers, says
//! so in one line on stderr, and then runs the lesson.
//!
//! It never starts anything on top of a port that is taken: a program that
//! answers there but does not speak the broker's protocol is named, and the
//! lesson does not run. A broker that is not installed gets one line naming
//! `just setup`.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server some lessons talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    RabbitMq,
    Redis,
    Memcached,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::RabbitMq => "RabbitMQ",
            Service::Redis => "Redis",
            Service::Memcached => "Memcached",
        })
    }
}

impl Service {
    /// Its name for `just up NAME` and `.brokers/NAME`.
    pub fn recipe_name(self) -> &'static str {
        match self {
            Service::RabbitMq => "rabbitmq",
            Service::Redis => "redis",
            Service::Memcached => "memcached",
        }
    }

    /// The default port every lesson uses.
    pub fn port(self) -> u16 {
        match self {
            Service::RabbitMq => 5672,
            Service::Redis => 6379,
            Service::Memcached => 11211,
        }
    }

    /// The environment variable that names another server.
    pub fn env_var(self) -> &'static str {
        match self {
            Service::RabbitMq => "AMQP_URL",
            Service::Redis => "REDIS_URL",
            Service::Memcached => "MEMCACHED_URL",
        }
    }

    /// The flag that names another server in a program that talks to
    /// several (lesson 26's `rpc`); one-broker programs take `--url`.
    fn flag(self) -> &'static str {
        match self {
            Service::RabbitMq => "--amqp-url",
            Service::Redis => "--redis-url",
            Service::Memcached => "--memcached-url",
        }
    }

    /// The server program `just up` runs natively.
    fn binary(self) -> &'static str {
        match self {
            Service::RabbitMq => "rabbitmq-server",
            Service::Redis => "redis-server",
            Service::Memcached => "memcached",
        }
    }

    /// The first words of the broker's protocol, and whether a reply is the
    /// broker's own.
    fn greeting(self) -> &'static [u8] {
        match self {
            // AMQP 0-9-1's protocol header.
            Service::RabbitMq => b"AMQP\x00\x00\x09\x01",
            Service::Redis => b"PING\r\n",
            Service::Memcached => b"version\r\n",
        }
    }

    fn recognises(self, reply: &[u8]) -> bool {
        match self {
            // A Connection.Start method frame (type 1), or the header back
            // from a broker that speaks another AMQP version.
            Service::RabbitMq => reply.first() == Some(&1) || reply.starts_with(b"AMQP"),
            // Without a password PONG; with one (the course's) NOAUTH; a
            // Redis in protected mode says DENIED.
            Service::Redis => ["+PONG", "-NOAUTH", "-DENIED", "-WRONGPASS"]
                .iter()
                .any(|start| reply.starts_with(start.as_bytes())),
            Service::Memcached => reply.starts_with(b"VERSION "),
        }
    }
}

/// The brokers program `program` (a cargo target name) of lesson `number`
/// talks to. Lesson 26's agent needs RabbitMQ, its `rpc` both RabbitMQ
/// (requests) and Redis (results).
pub fn needs(number: u8, program: &str) -> Vec<Service> {
    if program.ends_with("memcached") {
        return vec![Service::Memcached];
    }
    match number {
        10..=15 => vec![Service::RabbitMq],
        16..=24 => vec![Service::Redis],
        26 if program == "agent" => vec![Service::RabbitMq],
        26 => vec![Service::RabbitMq, Service::Redis],
        _ => Vec::new(),
    }
}

/// Whether the student named a server for `service` (so nothing is ever
/// started), or only asked for help.
pub fn chosen_elsewhere(service: Service, args: &[String], env: impl Fn(&str) -> bool) -> bool {
    let names = |flag: &str| {
        args.iter()
            .any(|arg| arg == flag || arg.starts_with(&format!("{flag}=")))
    };
    let help = args
        .iter()
        .any(|arg| matches!(arg.as_str(), "-h" | "--help" | "-V" | "--version"));
    help || env(service.env_var()) || names("--url") || names(service.flag())
}

/// What answers at a broker's default address.
#[derive(Debug, PartialEq, Eq)]
pub enum Probe {
    /// Nothing listens there.
    Nothing,
    /// The broker (or another copy of it) answers in its own protocol.
    Broker,
    /// Something else: what it said, and which program it is, if we can tell.
    Other { said: String, owner: Option<String> },
}

/// Asks 127.0.0.1:`port` whether it is `service`.
pub fn probe(service: Service, port: u16) -> Probe {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return Probe::Nothing;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let mut reply = [0u8; 64];
    let n = stream
        .write_all(service.greeting())
        .and_then(|()| stream.read(&mut reply))
        .unwrap_or(0);
    if service.recognises(&reply[..n]) {
        return Probe::Broker;
    }
    let said = if n == 0 {
        "nothing within 3 s".to_string()
    } else {
        format!("{:?}", String::from_utf8_lossy(&reply[..n]).trim_end())
    };
    Probe::Other {
        said,
        owner: listener_owner(port),
    }
}

/// Makes sure every broker program `program` of lesson `number` needs is
/// answering, starting the course's own where nothing is. Returns the error
/// to print when the lesson cannot run.
pub fn ensure(root: &Path, number: u8, program: &str, args: &[String]) -> Result<(), String> {
    let is_set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    for service in needs(number, program) {
        if chosen_elsewhere(service, args, is_set) {
            continue;
        }
        ensure_one(root, service)?;
    }
    Ok(())
}

fn ensure_one(root: &Path, service: Service) -> Result<(), String> {
    let port = service.port();
    let at = format!("127.0.0.1:{port}");
    match probe(service, port) {
        Probe::Broker => return Ok(()),
        Probe::Other { said, owner } => {
            let who = owner.unwrap_or_else(|| "a program".to_string());
            return Err(format!(
                "{at} is taken by {who}, which is not {service} (greeted in {service}'s protocol, \
                 it answered {said}).\n  Not starting a second server on top of it: stop that \
                 program, or point the lesson at your {service} with --url or {}.",
                service.env_var()
            ));
        }
        Probe::Nothing => {}
    }
    if !installed(service) && !docker_engine() {
        return Err(format!(
            "no {service} at {at}, and {} is not installed: `just setup` installs it.",
            service.binary()
        ));
    }
    let _turn = match StartLock::take(root, service)? {
        Some(lock) => lock,
        None => {
            // Said after the wait, so as not to cut into the other one's line.
            wait_for(service, Duration::from_secs(120)).map_err(|e| e.to_string())?;
            eprintln!("{service} at {at}: started by another `just run`, `just down` stops it");
            return Ok(());
        }
    };
    // Someone may have finished starting it while we took the lock.
    if probe(service, port) == Probe::Broker {
        return Ok(());
    }
    eprint!("no {service} at {at}: ");
    let _ = io::stderr().flush();
    let output = Command::new("just")
        .arg("--justfile")
        .arg(root.join("justfile"))
        .args(["up", service.recipe_name()])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run `just up {}`: {e}", service.recipe_name()))?;
    if !output.status.success() {
        return Err(format!(
            "could not start one: `just up {}` failed:\n{}{}",
            service.recipe_name(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    wait_for(service, Duration::from_secs(60)).map_err(|e| e.to_string())?;
    eprintln!("started one for the course, `just down` stops it");
    Ok(())
}

/// Polls until `service` answers in its protocol.
fn wait_for(service: Service, within: Duration) -> io::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        match probe(service, service.port()) {
            Probe::Broker => return Ok(()),
            _ if Instant::now() > deadline => {
                return Err(io::Error::other(format!(
                    "{service} did not answer at 127.0.0.1:{} within {} s (see .brokers/{}/)",
                    service.port(),
                    within.as_secs(),
                    service.recipe_name()
                )));
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Whether the server binary `just up` would run is on this machine.
fn installed(service: Service) -> bool {
    if service == Service::RabbitMq && Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server").is_file()
    {
        return true;
    }
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join(service.binary()).is_file())
    })
}

/// Whether `just up` would use docker compose instead of the binaries.
fn docker_engine() -> bool {
    let quiet = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    quiet(&["info"]) && quiet(&["compose", "version"])
}

/// `.brokers/NAME.starting`, created by the one `just run` that starts the
/// broker, so that two terminals started at once do not both start it.
struct StartLock(PathBuf);

impl StartLock {
    /// The lock, or `None` when another live process holds it.
    fn take(root: &Path, service: Service) -> Result<Option<Self>, String> {
        let dir = root.join(".brokers");
        fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        let path = dir.join(format!("{}.starting", service.recipe_name()));
        for _ in 0..2 {
            match fs::File::create_new(&path) {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Some(StartLock(path)));
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&path).unwrap_or_default();
                    let alive = holder
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if alive {
                        return Ok(None);
                    }
                    // Left by a `just run` that was interrupted.
                    let _ = fs::remove_file(&path);
                }
                Err(error) => return Err(format!("could not create {}: {error}", path.display())),
            }
        }
        Ok(None)
    }
}

impl Drop for StartLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The program listening on TCP `port`, as `name (pid N)`, read from /proc
/// (Linux; only processes we may look into).
fn listener_owner(port: u16) -> Option<String> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields.get(1)?.rsplit(':').next()?;
                    let listening = *fields.get(3)? == "0A";
                    (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                        .then(|| fields.get(9).map(|inode| inode.to_string()))
                        .flatten()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for process in fs::read_dir("/proc").ok()?.flatten() {
        let pid = process.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if wanted.iter().any(|w| target.as_os_str() == w.as_str()) {
                let name = fs::read_to_string(process.path().join("comm")).unwrap_or_default();
                return Some(format!("`{}` (pid {pid})", name.trim()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn broker_lessons_need_their_broker_and_the_others_none() {
        assert_eq!(needs(1, "producer-consumer"), vec![]);
        assert_eq!(needs(10, "send"), vec![Service::RabbitMq]);
        assert_eq!(needs(24, "subscriber"), vec![Service::Redis]);
        assert_eq!(needs(26, "agent"), vec![Service::RabbitMq]);
        assert_eq!(needs(26, "rpc"), vec![Service::RabbitMq, Service::Redis]);
        assert_eq!(needs(16, "memcached"), vec![Service::Memcached]);
    }

    #[test]
    fn an_address_of_ones_own_or_help_starts_nothing() {
        let none = |_: &str| false;
        assert!(!chosen_elsewhere(Service::RabbitMq, &args(&["send"]), none));
        assert!(chosen_elsewhere(
            Service::RabbitMq,
            &args(&["--url", "amqp://x"]),
            none
        ));
        assert!(chosen_elsewhere(
            Service::Redis,
            &args(&["--url=redis://x"]),
            none
        ));
        assert!(chosen_elsewhere(
            Service::Redis,
            &args(&["--redis-url", "r"]),
            none
        ));
        assert!(!chosen_elsewhere(
            Service::RabbitMq,
            &args(&["--redis-url", "r"]),
            none
        ));
        assert!(chosen_elsewhere(Service::Redis, &args(&["--help"]), none));
        assert!(chosen_elsewhere(Service::Redis, &[], |name| name == "REDIS_URL"));
        assert!(!chosen_elsewhere(Service::Redis, &[], |name| name == "AMQP_URL"));
    }

    /// A listener that is not a broker is told apart from the broker, and
    /// named (this test process owns it).
    #[test]
    fn a_port_taken_by_another_program_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Kept open until the probe has looked for its owner.
        let accepting = listener.try_clone().unwrap();
        let server = std::thread::spawn(move || {
            let (mut peer, _) = accepting.accept().unwrap();
            let mut hello = [0u8; 16];
            let _ = peer.read(&mut hello);
            peer.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
        });
        let probe = probe(Service::RabbitMq, port);
        server.join().unwrap();
        drop(listener);
        let Probe::Other { said, owner } = probe else {
            panic!("{probe:?}")
        };
        assert!(said.contains("HTTP/1.1 400"), "{said}");
        let me = format!("(pid {})", std::process::id());
        assert!(
            owner.as_deref().is_some_and(|o| o.ends_with(&me)),
            "{owner:?}"
        );
    }

    #[test]
    fn a_free_port_is_nothing() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(probe(Service::Redis, port), Probe::Nothing);
    }
}
