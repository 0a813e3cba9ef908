//! `just demo lesson-26 --hosts`: homework 26 across hosts that share no
//! loopback with the brokers.
//!
//! The plain demo runs every agent on this machine, beside the brokers. Here
//! each agent gets a host of its own: a Linux network namespace (its own
//! interfaces, loopback, routes and ports) and a UTS namespace (its own host
//! name), linked to the brokers' namespace by a veth pair on one bridge:
//!
//! ```text
//! brokers  RabbitMQ, Redis on 169.254.26.1   (bridge br0)
//! ops      169.254.26.10   runs rpc
//! web-1    169.254.26.11   agent --host web-1
//! web-2    169.254.26.12   agent --host web-2
//! db-1     169.254.26.13   agent --host db-1
//! ```
//!
//! Only link-local addresses, no default route, no link to the machine's
//! network: nothing leaves. The namespaces are named `course-rpc-PID-N-HOST`
//! and are removed at the end, on a failure, and on Ctrl-C; a run that was
//! killed outright is swept up by the next one. Making namespaces needs
//! root: without it the demo says so in one line and plays the plain demo.

pub mod brokers;
pub mod netns;

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use self::brokers::{Brokers, in_namespace};
use self::netns::{Made, Network};
use super::lesson_26::{self, expect_success, words};
use crate::Result;
use crate::stage::Stage;

/// The hosts that get an agent.
pub const AGENTS: [&str; 3] = ["web-1", "web-2", "db-1"];

/// The host the operator types `rpc` on.
pub const OPS: &str = "ops";

/// The lesson whose programs run on the hosts.
const LESSON: u8 = 26;

/// The longest any one step may take; steps normally take milliseconds,
/// but a loaded machine (CI, a classroom server) can be very slow.
const STEP: Duration = Duration::from_secs(60);

/// `just demo lesson-26 --hosts`: on hosts of their own when this process
/// may make namespaces; otherwise one line that says why, and the plain demo.
pub fn play(stage: &mut Stage, throwaway: bool) -> Result<()> {
    if let Some(why) = netns::missing_privilege() {
        stage.narrate(&format!("{why}: the agents run as local processes instead"));
        return super::play(&lesson_26::DEMO, stage, throwaway);
    }
    play_with(stage, |_, _| Ok(()))
}

/// Plays the demo on namespaces, and calls `on_ready` once every agent is
/// ready (tests look at the hosts from outside there). Whatever happens,
/// the namespaces and the run's folder are removed before it returns.
pub fn play_with(
    stage: &mut Stage,
    on_ready: impl FnOnce(&Network, &mut Stage) -> Result<()>,
) -> Result<()> {
    stage.build(LESSON, &["agent", "rpc"])?;
    let stale = netns::sweep_stale();
    if !stale.is_empty() {
        stage.narrate(&format!(
            "removed namespaces a killed run left behind: {}",
            stale.join(", ")
        ));
    }
    let prefix = support::testkit::unique_name(netns::PREFIX);
    let scratch = netns::scratch_dir(&prefix);
    let made = Made::default();
    let interrupt = on_interrupt(Arc::clone(&made), scratch.clone())?;
    let outcome = script(stage, &prefix, &made, &scratch, on_ready);
    netns::remove_all(&made);
    let _ = fs::remove_dir_all(&scratch);
    drop(interrupt);
    let ours = format!("{prefix}-");
    let left: Vec<String> = netns::list()
        .into_iter()
        .filter(|name| name.starts_with(&ours))
        .collect();
    if left.is_empty() {
        stage.narrate(&format!(
            "every namespace of this run is gone: `ip netns list` shows no {prefix}-*"
        ));
        outcome
    } else {
        Err(format!(
            "these namespaces could not be removed: {} (ip netns delete NAME)",
            left.join(", ")
        ))
    }
}

/// The script: hosts, brokers, agents, two tasks from `ops`, the agents'
/// connections seen from the brokers' side, then Ctrl-C to the agents.
fn script(
    stage: &mut Stage,
    prefix: &str,
    made: &Made,
    scratch: &Path,
    on_ready: impl FnOnce(&Network, &mut Stage) -> Result<()>,
) -> Result<()> {
    stage.narrate(
        "making the hosts: a network namespace each, linked to the brokers' namespace \
         by a veth pair on one bridge, link-local addresses only (169.254.26.0/24)",
    );
    let names: Vec<&str> = std::iter::once(OPS).chain(AGENTS).collect();
    let network = Network::create(prefix, &names, Arc::clone(made))?;
    stage.narrate(&format!(
        "brokers     namespace {}  br0 {}/24",
        network.brokers,
        netns::BROKERS_ADDR
    ));
    for host in &network.hosts {
        stage.narrate(&format!(
            "host {:<5}  namespace {}  eth0 {}/24",
            host.name, host.namespace, host.addr
        ));
    }
    stage.narrate("web-1's routes: its own link and nothing else, no default route");
    let web1 = network.host("web-1")?;
    let mut routes = Command::new("ip");
    routes.args(["-n", &web1.namespace, "route"]);
    run_to_end(stage, "ip", routes)?;

    stage.narrate(&format!(
        "RabbitMQ and Redis start in {}, listening on {} only (a few seconds)",
        network.brokers,
        netns::BROKERS_ADDR
    ));
    let brokers = Brokers::start(&network.brokers, scratch, &network.host(OPS)?.namespace)?;
    let amqp = ["--amqp-url", brokers.amqp_url.as_str()];
    let redis = ["--redis-url", brokers.redis_url.as_str()];
    let key = crate::exercises::rpc_commands::random_key()?;

    stage.narrate("an agent on each host: ip netns exec course-rpc-…-web-1 agent --host web-1");
    for name in AGENTS {
        let host = network.host(name)?;
        let args = words(&[&amqp, &["--host", name]]);
        spawn_on(stage, name, &host.namespace, name, "agent", &args, &key)?;
    }
    for name in AGENTS {
        stage.wait_for(name, "ready", STEP)?;
    }
    on_ready(&network, stage)?;

    let ops = network.host(OPS)?.namespace.clone();
    stage.narrate("on ops: rpc run \"df -h\" --hosts web-1 web-2");
    let df = words(&[
        &amqp,
        &redis,
        &["run", "df -h", "--hosts", "web-1", "web-2"],
    ]);
    spawn_on(stage, "rpc", &ops, OPS, "rpc", &df, &key)?;
    stage.wait_for("rpc", "task id:", STEP)?;
    expect_success(stage, "rpc")?;
    for name in ["web-1", "web-2"] {
        stage.wait_for(name, "running df -h", STEP)?;
    }

    stage.narrate(
        "on ops: rpc run hostname --hosts web-1 web-2 db-1, then check_task --wait: \
         each host answers with its own name",
    );
    let hostname = words(&[&amqp, &redis, &["run", "hostname", "--hosts"], &AGENTS]);
    spawn_on(stage, "rpc", &ops, OPS, "rpc", &hostname, &key)?;
    let id = task_id(&stage.wait_for("rpc", "task id:", STEP)?)?;
    expect_success(stage, "rpc")?;
    let check = words(&[&amqp, &redis, &["check_task", &id, "--wait"]]);
    spawn_on(stage, "check", &ops, OPS, "rpc", &check, &key)?;
    stage.wait_for("check", "3 done", STEP)?;
    expect_success(stage, "check")?;

    stage.narrate(&format!(
        "in {}: ss lists the agents' connections to RabbitMQ, from their link-local addresses",
        network.brokers
    ));
    let mut ss = in_namespace(&network.brokers, "ss");
    ss.args(["-Htn", "state", "established", "sport", "=", ":5672"]);
    run_to_end(stage, "ss", ss)?;

    stage.narrate("Ctrl-C to each agent, then the namespaces go, and their links with them");
    for name in AGENTS {
        stage.stop(name)?;
        stage.wait_for(name, "stopping", STEP)?;
    }
    drop(brokers);
    Ok(())
}

// ANCHOR: spawn_on
/// Starts `program` of lesson 26 on `host`: inside its network namespace
/// (`ip netns exec`), and in a UTS namespace of its own whose host name is
/// the host's, so `hostname` there answers `web-1`.
fn spawn_on(
    stage: &mut Stage,
    actor: &str,
    namespace: &str,
    host: &str,
    program: &str,
    args: &[String],
    key: &str,
) -> Result<()> {
    let mut command = in_namespace(namespace, stage.binary(LESSON, program)?);
    command
        .args(args)
        .env("RPC_KEY", key)
        .env_remove("RPC_KEY_FILE");
    let name = CString::new(host).map_err(|_| format!("host name {host:?} holds a NUL"))?;
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe system calls between fork and
        // exec, on memory prepared before the fork.
        unsafe {
            command.pre_exec(move || {
                if libc::unshare(libc::CLONE_NEWUTS) != 0
                    || libc::sethostname(name.as_ptr(), name.as_bytes().len()) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    stage.spawn_command(actor, command)
}
// ANCHOR_END: spawn_on

/// Runs a short tool on the stage and waits for it to end successfully.
fn run_to_end(stage: &mut Stage, actor: &str, command: Command) -> Result<()> {
    stage.spawn_command(actor, command)?;
    expect_success(stage, actor)
}

/// The id in `task id: N`.
fn task_id(line: &str) -> Result<String> {
    line.rsplit(' ')
        .next()
        .filter(|id| id.parse::<u64>().is_ok())
        .map(str::to_string)
        .ok_or_else(|| format!("rpc printed `{line}`, not `task id: N`"))
}

/// Stops watching for Ctrl-C when dropped.
struct Interrupt(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for Interrupt {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

/// Until the returned guard is dropped, Ctrl-C (SIGINT), SIGTERM and SIGHUP
/// remove the run's namespaces and folder, then end the demo (exit 130).
/// Without this, Ctrl-C would end the demo at once and leave them behind.
fn on_interrupt(made: Made, scratch: PathBuf) -> Result<Interrupt> {
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    // The watcher says when its handlers are in place: a Ctrl-C before
    // that would still end the demo the default way.
    let (listening, listens) = std::sync::mpsc::channel::<()>();
    let watcher = move || {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut int = signal(SignalKind::interrupt())?;
            let mut term = signal(SignalKind::terminate())?;
            let mut hup = signal(SignalKind::hangup())?;
            let _ = listening.send(());
            tokio::select! {
                _ = finished => return Ok(()),
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            eprintln!("interrupted: removing the demo's namespaces");
            // The lock stays held until the process ends: the script cannot
            // make another namespace, nor finish on its own, meanwhile.
            let mut list = made.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            netns::remove_listed(&mut list);
            let _ = fs::remove_dir_all(&scratch);
            std::process::exit(130);
        })
    };
    let thread = std::thread::spawn(move || -> std::io::Result<()> { watcher() });
    if listens.recv().is_err() {
        let why = match thread.join() {
            Ok(Err(error)) => error.to_string(),
            _ => "it ended".to_string(),
        };
        return Err(format!("could not watch for Ctrl-C: {why}"));
    }
    Ok(Interrupt(Some(done)))
}
