//! `just demo lesson-26 --hosts`: the agents answer from network namespaces
//! of their own, and nothing of the run is left afterwards: not after the
//! end, not after Ctrl-C, not after a failure.
//!
//! Making namespaces needs root (CI runs as root). Each test observes with
//! its own `ip` commands and /proc, not with the demo's code. As another
//! user, the tests that need root say so and pass without checking.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use classroom::demos::hosts::{self, AGENTS, netns};
use classroom::stage::Stage;

/// Generous: RabbitMQ starts in a few seconds, more on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(180);

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("not root: network namespaces cannot be made here, so this is not checked");
    }
    root
}

/// `ip ARGS`, its standard output.
fn ip(args: &[&str]) -> String {
    let output = Command::new("ip").args(args).output().expect("run ip");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The names `ip netns list` shows that start with `prefix`.
fn namespaces_of(prefix: &str) -> Vec<String> {
    ip(&["netns", "list"])
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// The interfaces of the machine's own namespace, by name.
fn root_interfaces() -> Vec<String> {
    let mut names: Vec<String> = ip(&["-o", "link"])
        .lines()
        .filter_map(|line| line.split(':').nth(1))
        .map(|name| name.trim().to_string())
        .collect();
    names.sort();
    names
}

/// The processes `ip netns pids` finds in a namespace, with their command lines.
fn processes_in(namespace: &str) -> Vec<(i32, Vec<String>)> {
    ip(&["netns", "pids", namespace])
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .map(|pid: i32| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let words = cmdline
                .split(|byte| *byte == 0)
                .filter(|word| !word.is_empty())
                .map(|word| String::from_utf8_lossy(word).into_owned())
                .collect();
            (pid, words)
        })
        .collect()
}

/// The agent in `namespace`: its pid, if exactly one `agent --host NAME` runs there.
fn agent_in(namespace: &str, name: &str) -> Option<i32> {
    let agents: Vec<i32> = processes_in(namespace)
        .into_iter()
        .filter(|(_, words)| {
            words
                .first()
                .is_some_and(|program| program.ends_with("/agent"))
                && words.windows(2).any(|pair| pair == ["--host", name])
        })
        .map(|(pid, _)| pid)
        .collect();
    (agents.len() == 1).then(|| agents[0])
}

fn gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

#[test]
fn agents_answer_from_hosts_of_their_own_and_nothing_is_left() {
    if !root() {
        return;
    }
    let interfaces_before = root_interfaces();
    let mut stage = Stage::new(false);
    let mut seen = Vec::new();
    let outcome = hosts::play_with(&mut stage, |network, _| {
        for name in AGENTS {
            let host = network.host(name)?;
            // The agent for web-1 runs inside web-1's namespace, by the
            // kernel's account (`ip netns pids`, `ip netns identify`).
            let pid = agent_in(&host.namespace, name)
                .ok_or_else(|| format!("no agent --host {name} in {}", host.namespace))?;
            let identified = ip(&["netns", "identify", &pid.to_string()]);
            if identified.trim() != host.namespace {
                return Err(format!(
                    "agent {pid} is in `{}`, not {}",
                    identified.trim(),
                    host.namespace
                ));
            }
            // Its host has its own link and no way out: no default route.
            let routes = ip(&["-n", &host.namespace, "route"]);
            if routes.contains("default") || !routes.contains("169.254.") {
                return Err(format!("{name}'s routes: {routes}"));
            }
            seen.push((pid, host.namespace.clone()));
        }
        // The brokers listen on the link-local address only.
        let listening = Command::new("ss")
            .args(["-N", &network.brokers, "-Htln"])
            .output()
            .map_err(|e| e.to_string())?;
        let listening = String::from_utf8_lossy(&listening.stdout);
        for port in [5672, 6379] {
            let on_link = format!("169.254.26.1:{port}");
            if !listening.contains(&on_link) || listening.contains(&format!("127.0.0.1:{port}")) {
                return Err(format!("the brokers listen on:\n{listening}"));
            }
        }
        Ok(())
    });
    let lines = stage.transcript();
    let show = || {
        lines
            .iter()
            .map(|line| format!("{:>8} | {}", line.actor, line.text))
            .collect::<Vec<_>>()
            .join("\n")
    };
    outcome.unwrap_or_else(|e| panic!("{e}\n{}", show()));
    assert_eq!(seen.len(), AGENTS.len());

    // `hostname`, run by each agent, printed that host's name: each answer
    // came from the host it was sent to.
    let check: Vec<&str> = lines
        .iter()
        .filter(|line| line.actor == "check")
        .map(|line| line.text.as_str())
        .collect();
    for name in AGENTS {
        let answered = check.windows(2).any(|pair| {
            pair[0].starts_with(&format!("{name} "))
                && pair[0].contains("done")
                && pair[1] == format!("  | {name}")
        });
        assert!(answered, "no `{name} done` with `| {name}` in:\n{}", show());
    }
    // `rpc` and `check_task` said nothing alarming on the way (while
    // closing, an acknowledgement could meet the closing channel: that
    // printed an error, at random, though nothing was lost).
    let errors: Vec<&str> = lines
        .iter()
        .filter(|line| ["rpc", "check"].contains(&line.actor.as_str()))
        .map(|line| line.text.as_str())
        .filter(|text| text.contains("error"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{}", show());
    // The brokers' side saw each agent connect from its link-local address.
    let ss: Vec<&str> = lines
        .iter()
        .filter(|line| line.actor == "ss")
        .map(|line| line.text.as_str())
        .collect();
    for addr in ["169.254.26.11:", "169.254.26.12:", "169.254.26.13:"] {
        assert!(
            ss.iter().any(|line| line.contains(addr)),
            "{addr} not in {ss:?}"
        );
    }

    // Afterwards: no namespace, no process that was in one, no new interface.
    for (pid, namespace) in &seen {
        assert!(
            namespaces_of(namespace).is_empty(),
            "{namespace} is still listed"
        );
        assert!(gone(*pid), "agent {pid} still runs");
    }
    assert!(namespaces_of(&format!("{}-{}-", netns::PREFIX, std::process::id())).is_empty());
    assert_eq!(root_interfaces(), interfaces_before);
}

/// A failure half-way (here, a host name too long for an interface) leaves
/// nothing: what was made before it is removed.
#[test]
fn a_failure_half_way_leaves_no_namespace() {
    if !root() {
        return;
    }
    let prefix = support::testkit::unique_name(netns::PREFIX);
    let made = netns::Made::default();
    let error = netns::Network::create(&prefix, &["web-1", "a-name-longer-than-15"], made.clone())
        .err()
        .expect("a host name of 21 bytes is refused");
    assert!(error.contains("a-name-longer-than-15"), "{error}");
    assert!(
        namespaces_of(&prefix).is_empty(),
        "{:?}",
        namespaces_of(&prefix)
    );
}

/// A run killed outright (SIGKILL) cannot clean up: the next run removes
/// the namespaces of processes that are gone, and leaves those of live ones.
#[test]
fn the_next_run_sweeps_what_a_killed_run_left() {
    if !root() {
        return;
    }
    let mut finished = Command::new("true").spawn().expect("run true");
    let dead = finished.id();
    finished.wait().expect("reap true");
    let stale = format!("{}-{dead}-0-web-1", netns::PREFIX);
    // Process 1 lives as long as the machine (or container) does.
    let live = format!("{}-1-{dead}-web-1", netns::PREFIX);
    for name in [&stale, &live] {
        assert!(
            Command::new("ip")
                .args(["netns", "add", name])
                .status()
                .unwrap()
                .success()
        );
    }
    let swept = netns::sweep_stale();
    let stale_left = namespaces_of(&stale);
    let live_left = namespaces_of(&live);
    netns::delete_namespace(&live);
    assert!(stale_left.is_empty(), "{stale} is still there");
    assert_eq!(
        live_left,
        std::slice::from_ref(&live),
        "a live run's namespace was swept"
    );
    assert!(swept.contains(&stale), "{swept:?}");
}

/// Ctrl-C in the terminal (SIGINT to the demo's whole process group) while
/// the agents run: the demo removes its namespaces, and all in them, first.
#[test]
fn ctrl_c_leaves_no_namespace() {
    if !root() {
        return;
    }
    let mut demo = Command::new(env!("CARGO_BIN_EXE_demo"));
    demo.args(["lesson-26", "--hosts"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        // A group of its own, like a job in a terminal.
        demo.process_group(0);
    }
    let mut demo = demo.spawn().expect("start the demo");
    let pid = demo.id() as i32;
    let (lines, incoming) = mpsc::channel();
    let stdout = demo.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut output = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let ready = loop {
        match incoming.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let ready = line.contains("agent db-1 ready");
                output.push(line);
                if ready {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let prefix = format!("{}-{pid}-", netns::PREFIX);
    let during = namespaces_of(&prefix);
    let inside: Vec<i32> = during
        .iter()
        .flat_map(|namespace| processes_in(namespace))
        .map(|(pid, _)| pid)
        .collect();
    // SAFETY: a signal to the group of the child this test started.
    unsafe { libc::kill(-pid, libc::SIGINT) };
    let mut status = None;
    support::testkit::eventually_within("the demo to end after Ctrl-C", PATIENCE, || {
        status = demo.try_wait().ok().flatten();
        status.is_some()
    });
    let mut stderr = String::new();
    if let Some(mut err) = demo.stderr.take() {
        use std::io::Read;
        let _ = err.read_to_string(&mut stderr);
    }
    let shown = format!("stdout:\n{}\nstderr:\n{stderr}", output.join("\n"));
    assert!(ready, "the agents never got ready\n{shown}");
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{shown}");
    assert_eq!(
        during.len(),
        1 + 1 + AGENTS.len(),
        "brokers, ops and the agents' hosts: {during:?}"
    );
    assert!(
        inside.len() > AGENTS.len(),
        "agents and brokers in the namespaces: {inside:?}"
    );
    assert!(
        namespaces_of(&prefix).is_empty(),
        "left: {:?}\n{shown}",
        namespaces_of(&prefix)
    );
    for pid in inside {
        assert!(gone(pid), "process {pid} of a namespace still runs");
    }
    let folder = std::env::temp_dir().join(format!("{prefix}0"));
    assert!(!folder.exists(), "{} is left", folder.display());
}

/// Without CAP_NET_ADMIN and CAP_SYS_ADMIN (dropped here with `setpriv`),
/// one line says so, and the agents run as local processes, as in the plain demo.
#[test]
fn without_the_privilege_the_agents_run_locally() {
    if !root() {
        return;
    }
    let rabbit = support::testkit::shared_rabbitmq();
    let redis = support::testkit::shared_redis();
    let output = Command::new("setpriv")
        .args([
            "--bounding-set=-net_admin,-sys_admin",
            "--inh-caps=-all",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_demo"))
        .args(["lesson-26", "--hosts"])
        .env("NO_COLOR", "1")
        .env("AMQP_URL", rabbit.url())
        .env("REDIS_URL", redis.url())
        .stdin(Stdio::null())
        .output()
        .expect("run the demo under setpriv");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let shown = format!(
        "{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{shown}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            "== --hosts needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to make network namespaces: the agents run as local processes instead"
        ),
        "{shown}"
    );
    assert_eq!(stdout.matches("needs root").count(), 1, "{shown}");
    // The plain demo played: three local agents ran `df -h` for the task.
    for name in AGENTS {
        assert!(
            stdout.contains(&format!("[{name}] task 1: running df -h")),
            "{shown}"
        );
    }
    assert!(stdout.contains("3 done, 1 no agent"), "{shown}");
}
