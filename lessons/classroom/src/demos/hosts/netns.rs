//! Hosts made of Linux network namespaces, linked by veth pairs to one
//! bridge, with link-local addresses only.
//!
//! A network namespace is a copy of the kernel's network stack: its own
//! interfaces, its own loopback, its own routes and ports. A process started
//! with `ip netns exec NAME` sees only that copy, so for networking it is on
//! another machine. [`Network::create`] builds, with `ip` alone:
//!
//! ```text
//!   namespace PREFIX-brokers                    namespace PREFIX-web-1
//!   br0 169.254.26.1/24  ──  web-1 ═══ veth ═══ eth0 169.254.26.11/24
//!                        ──  web-2 ═══ veth ═══ eth0 ... (PREFIX-web-2)
//! ```
//!
//! Every address is in 169.254.0.0/16, the IPv4 link-local range: routers
//! never forward it, and no namespace here has a default route or any link
//! to the machine's own network, so no packet can leave them. Everything is
//! removed by [`Network::remove`] (also on drop, on Ctrl-C, and by the next
//! run if this one was killed): the processes inside are killed first, then
//! `ip netns delete` takes the namespace, and its interfaces with it.

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Result;

/// The link-local network every host is on: 169.254.26.0/24 (26, the lesson).
pub const SUBNET: [u8; 3] = [169, 254, 26];

/// The brokers' address: the bridge in the brokers' namespace.
pub const BROKERS_ADDR: Ipv4Addr = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], 1);

/// What every namespace name of the course starts with. The next part is
/// the id of the process that made it, so a run can tell its own, and
/// those of a run that is gone, from another run's.
pub const PREFIX: &str = "course-rpc";

/// One host: a namespace with one link to the bridge.
#[derive(Debug, Clone)]
pub struct Host {
    /// The host's name, as the agents and `rpc` know it (`web-1`).
    pub name: String,
    /// Its namespace (`course-rpc-4242-0-web-1`).
    pub namespace: String,
    /// Its address on the link (`169.254.26.11`).
    pub addr: Ipv4Addr,
}

/// The brokers' namespace, its bridge and the hosts linked to it.
pub struct Network {
    /// `course-rpc-<pid>-<n>`: this run's namespaces all start with it.
    prefix: String,
    /// The namespace that holds the bridge (and the brokers).
    pub brokers: String,
    pub hosts: Vec<Host>,
    /// The namespaces made so far, shared with the Ctrl-C handler, which
    /// removes them if the demo is interrupted.
    made: Made,
}

/// Namespaces to remove. Each is added *before* `ip netns add` runs, while
/// the lock is held, so a Ctrl-C never finds one half made.
pub type Made = Arc<Mutex<Vec<String>>>;

impl Network {
    /// Makes the brokers' namespace and bridge, then one host per name,
    /// each linked to the bridge. On any error, what was made is removed.
    pub fn create(prefix: &str, names: &[&str], made: Made) -> Result<Network> {
        let mut network = Network {
            prefix: prefix.to_string(),
            brokers: format!("{prefix}-brokers"),
            hosts: Vec::new(),
            made,
        };
        network.build(names).inspect_err(|_| network.remove())?;
        Ok(network)
    }

    // ANCHOR: build
    fn build(&mut self, names: &[&str]) -> Result<()> {
        let hub = self.brokers.clone();
        self.add_namespace(&hub)?;
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        ip(&[
            "-n",
            &hub,
            "addr",
            "add",
            &format!("{BROKERS_ADDR}/24"),
            "dev",
            "br0",
        ])?;
        ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        for (i, name) in names.iter().enumerate() {
            // The host's end of the link is `eth0` in its namespace; the
            // other end sits in the brokers' namespace under the host's
            // name (interface names have at most 15 bytes).
            if name.len() > 15 {
                return Err(format!(
                    "host name `{name}` is longer than an interface name may be"
                ));
            }
            let host = Host {
                name: name.to_string(),
                namespace: format!("{}-{name}", self.prefix),
                addr: Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], 10 + i as u8),
            };
            self.add_namespace(&host.namespace)?;
            let ns = host.namespace.as_str();
            #[rustfmt::skip]
            ip(&["-n", &hub, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", ns])?;
            ip(&["-n", &hub, "link", "set", name, "master", "br0", "up"])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", host.addr),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
            self.hosts.push(host);
        }
        Ok(())
    }
    // ANCHOR_END: build

    /// `ip netns add NAME` and its loopback up, noted first in `made`.
    fn add_namespace(&self, name: &str) -> Result<()> {
        {
            let mut made = self.made.lock().map_err(|_| "a thread panicked")?;
            made.push(name.to_string());
            ip(&["netns", "add", name])?;
        }
        ip(&["-n", name, "link", "set", "lo", "up"])
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts
            .iter()
            .find(|host| host.name == name)
            .ok_or_else(|| format!("no host called {name} in this network"))
    }

    /// Kills every process in this run's namespaces and deletes them.
    pub fn remove(&self) {
        remove_all(&self.made);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Removes every namespace listed in `made` (and empties the list).
pub fn remove_all(made: &Made) {
    // A poisoned lock still holds the list: clean up all the same.
    let mut made = made.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    remove_listed(&mut made);
}

/// Removes the namespaces in `list`, hosts first, the brokers' namespace
/// (listed first) last. For a caller that holds the lock already.
pub fn remove_listed(list: &mut Vec<String>) {
    for name in list.drain(..).rev() {
        delete_namespace(&name);
    }
}

/// Kills the processes inside a namespace, then deletes it. A namespace
/// lives on, unnamed, as long as a process is inside it: hence the killing.
pub fn delete_namespace(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = pids_in(name);
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in pids {
            // SAFETY: plain system call; a process already gone is harmless.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // A killed process leaves the namespace as it exits; poll briefly.
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = ip(&["netns", "delete", name]);
}

/// The processes inside a namespace (`ip netns pids`).
pub fn pids_in(name: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .stderr(Stdio::null())
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The names `ip netns list` shows.
pub fn list() -> Vec<String> {
    Command::new("ip")
        .args(["netns", "list"])
        .stderr(Stdio::null())
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                // Lines read `NAME` or `NAME (id: N)`.
                .filter_map(|line| line.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes what runs that were killed outright (SIGKILL, a power cut) left:
/// course namespaces and folders whose process is gone. Returns their names.
pub fn sweep_stale() -> Vec<String> {
    let stale: Vec<String> = list()
        .into_iter()
        .filter(|name| owner(name).is_some_and(|pid| !alive(pid)))
        .collect();
    for name in &stale {
        delete_namespace(name);
    }
    if let Ok(entries) = fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if owner(&name).is_some_and(|pid| !alive(pid)) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    stale
}

/// The process id in a name `course-rpc-<pid>-...`.
fn owner(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(PREFIX)?.strip_prefix('-')?;
    rest.split('-').next()?.parse().ok()
}

/// Whether a process is running (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// The folder a run keeps its brokers' data and logs in.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(prefix)
}

/// Why this process cannot make namespaces, if it cannot: they need
/// CAP_NET_ADMIN (links, addresses) and CAP_SYS_ADMIN (`ip netns add`
/// mounts the namespace under /run/netns; `ip netns exec` enters it), and
/// iproute2's `ip`.
pub fn missing_privilege() -> Option<String> {
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & (1 << cap) != 0;
    if !has(CAP_NET_ADMIN) || !has(CAP_SYS_ADMIN) {
        return Some(
            "--hosts needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to make network namespaces"
                .into(),
        );
    }
    let ip_runs = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ip_runs {
        return Some("--hosts needs iproute2's `ip` (apt-get install iproute2)".into());
    }
    None
}

/// Runs `ip ARGS`, and turns a failure into an error that shows the command
/// and what `ip` said.
pub fn ip(args: &[&str]) -> Result<()> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run `ip`: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
