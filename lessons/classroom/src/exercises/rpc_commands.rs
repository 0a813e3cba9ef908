//! Exercise 26, rpc-commands: the agent and `rpc` of homework 26, checked
//! from the outside.
//!
//! Every requirement starts the student's `agent --host NAME` processes on
//! throwaway brokers, in a namespace of its own (so nothing else sees its
//! commands), sends tasks with the student's `rpc run`, and reads them back
//! with `rpc check_task`, exactly as a user would. What the checker relies on
//! is only the programs' interface:
//!
//! - `agent --amqp-url URL --namespace NS --key-file FILE --host NAME
//!   [--allow RULE] [--max-output BYTES]` prints a line containing `ready`
//!   once it consumes;
//! - `rpc --amqp-url URL --redis-url URL --namespace NS --key-file FILE run
//!   CMD --hosts H... [--timeout S] [--queue-wait S]` prints `task id: N`;
//! - `rpc ... check_task N` prints one line per host, `HOST  STATE  ...`,
//!   followed by its output lines marked `|` (stdout) and `!` (stderr).
//!
//! `just check rpc-commands --amqp-url URL --redis-url URL` uses running
//! brokers instead of starting throwaway ones (a few seconds faster).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use support::testkit::unique_name;

use crate::Result;
use crate::check::{Exercise, Requirement, Subject, describe_failure};

pub const EXERCISE: Exercise = Exercise {
    name: "rpc-commands",
    lesson: 26,
    starter: "rpc-commands",
    programs: &["agent", "rpc"],
    probe: None,
    requirements: &[
        Requirement {
            title: "`rpc run` prints `task id: N` and exits at once, without waiting for the hosts",
            hint: "Rpc::send publishes and awaits only the broker's confirmations, never the \
                   agents' answers: those are collected later, by check_task (Rpc::collect)",
            check: run_returns_at_once,
        },
        Requirement {
            title: "one task on three agents gives three results, each with its own output",
            hint: "agent::handle runs the command (exec::run) and publishes the Reply to the \
                   request's reply_to with the request's correlation_id; Rpc::collect stores \
                   each reply under the task and host that its correlation id names",
            check: three_agents_three_results,
        },
        Requirement {
            title: "check_task in a second rpc process shows the results again (they are in Redis)",
            hint: "Rpc::collect must store every reply with store.save before it acknowledges \
                   the message: once acknowledged, the reply is gone from RabbitMQ",
            check: results_are_kept,
        },
        Requirement {
            title: "a host with no agent is reported as `no agent` at once, not left pending",
            hint: "Rpc::send publishes with `mandatory: true`; a message nobody can take comes \
                   back in a confirmation (Confirmation::Ack(Some(message))): match it to its \
                   host by message.routing_key",
            check: unknown_host_has_no_agent,
        },
        Requirement {
            title: "a command past its timeout is killed and reported `timed out`",
            hint: "exec::run: wait for the child and its pipes under tokio::time::timeout; on \
                   expiry kill it (kill_group) and answer Outcome::TimedOut",
            check: timeout_is_reported,
        },
        Requirement {
            title: "the timeout also kills what the command started (its whole process group)",
            hint: "exec::run: give the command a group of its own with .process_group(0), and \
                   at the timeout kill_group(child.id()): killing only the child leaves its \
                   children running, holding the pipes",
            check: timeout_kills_the_group,
        },
        Requirement {
            title: "a command the allow-list does not allow is refused, and does not run",
            hint: "agent::handle: ask config.policy.check(&request.argv) before running \
                   anything, and answer a refusal (refusal(config, reason, ..)) instead",
            check: disallowed_is_refused,
        },
        Requirement {
            title: "`df -h; rm -rf x` runs no shell: df gets the words as its arguments",
            hint: "exec::run starts the program itself, Command::new(&argv[0]).args(&argv[1..]), \
                   never `sh -c` with the command joined into one string",
            check: no_shell,
        },
        Requirement {
            title: "output past --max-output is cut, and the answer says how much there was",
            hint: "Capture::read_all: add every chunk to total, keep bytes only while kept is \
                   shorter than cap, and read on to the end of the pipe",
            check: output_is_capped,
        },
    ],
};

/// The longest a single program run (an `rpc`) may take.
const RPC_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an agent may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a quick command may take to be answered and collected.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two `check_task`s while waiting for answers.
const POLL: Duration = Duration::from_millis(150);

/// The states `check_task` shows a host in (lesson 26's report).
const STATES: &[&str] = &[
    "pending",
    "done",
    "refused",
    "timed out",
    "no agent",
    "error",
];

// ---------------------------------------------------------------------------
// The requirements
// ---------------------------------------------------------------------------

fn run_returns_at_once(subject: &Subject) -> Result<()> {
    let marker = Marker::new();
    let result = (|| {
        let mut scene = Scene::new(subject)?;
        scene.agents(&[("web-1", &["--allow", "sleep *"])])?;
        // The command takes 20 s; `run` must be back long before.
        let started = Instant::now();
        let id = scene.run(
            &format!("sleep {marker}"),
            &["web-1"],
            &["--queue-wait", "30"],
        )?;
        let took = started.elapsed();
        if took > Duration::from_secs(5) {
            return Err(format!(
                "rpc run printed `task id: {id}` but took {:.1} s: it should return as soon \
                 as the broker has the messages",
                took.as_secs_f64()
            ));
        }
        Ok(())
    })();
    // The scene is gone, so are its agents: nothing can start the command now.
    marker.kill_leftovers();
    result
}

fn three_agents_three_results(subject: &Subject) -> Result<()> {
    let mut scene = Scene::new(subject)?;
    scene.agents(&[("web-1", &[]), ("web-2", &[]), ("db-1", &[])])?;
    let hosts = ["web-1", "web-2", "db-1"];
    // Two tasks in flight together, so that each answer must find its own task.
    let first = scene.run("echo first task", &hosts, &[])?;
    let second = scene.run("echo second task", &hosts, &[])?;
    if first == second {
        return Err(format!("both tasks got the id {first}"));
    }
    for (id, text) in [(first, "first task"), (second, "second task")] {
        let report = scene.settle(id, &hosts, ANSWER_TIMEOUT)?;
        for host in hosts {
            let answer = report.host(host)?;
            answer.expect_state("done", &report)?;
            if !answer.stdout.iter().any(|line| line == text) {
                return Err(format!(
                    "task {id} ran `echo {text}`, but {host}'s output is {:?}\n{}",
                    answer.stdout, report.text
                ));
            }
        }
    }
    Ok(())
}

fn results_are_kept(subject: &Subject) -> Result<()> {
    let mut scene = Scene::new(subject)?;
    scene.agents(&[("web-1", &[])])?;
    let id = scene.run("echo kept in redis", &["web-1"], &[])?;
    let first = scene.settle(id, &["web-1"], ANSWER_TIMEOUT)?;
    first.host("web-1")?.expect_state("done", &first)?;
    // That check_task took the reply from RabbitMQ; this one starts afresh.
    let again = scene.check_task(id)?;
    let answer = again.host("web-1")?;
    answer.expect_state("done", &again)?;
    if !answer.stdout.iter().any(|line| line == "kept in redis") {
        return Err(format!(
            "a second check_task {id} no longer shows the output:\n{}",
            again.text
        ));
    }
    Ok(())
}

fn unknown_host_has_no_agent(subject: &Subject) -> Result<()> {
    let mut scene = Scene::new(subject)?;
    scene.agents(&[("web-1", &[])])?;
    let id = scene.run("echo hello", &["web-1", "db-9"], &[])?;
    // No waiting: `run` has already learnt that nothing serves db-9.
    let report = scene.check_task(id)?;
    report.host("db-9")?.expect_state("no agent", &report)?;
    if report.host("web-1")?.state == "no agent" {
        return Err(format!(
            "web-1 has an agent, but is reported as `no agent` too:\n{}",
            report.text
        ));
    }
    Ok(())
}

fn timeout_is_reported(subject: &Subject) -> Result<()> {
    timed_out(subject, &["--allow", "sleep *"], |marker| {
        format!("sleep {marker}")
    })
}

fn timeout_kills_the_group(subject: &Subject) -> Result<()> {
    timed_out(subject, &["--allow", "sh *"], |marker| {
        format!("sh -c 'sleep {marker} & sleep {marker}'")
    })
}

/// Runs a 20-second command with a 1-second timeout, expects the agent's
/// `timed out` answer well before the task's deadline, and then no process
/// of the command left.
fn timed_out(subject: &Subject, allow: &[&str], command: fn(&Marker) -> String) -> Result<()> {
    let marker = Marker::new();
    let result = (|| {
        let mut scene = Scene::new(subject)?;
        scene.agents(&[("web-1", allow)])?;
        // A long queue wait puts the task's deadline 32 s away, so `timed
        // out` within the next seconds can only be the agent's own answer.
        let args = ["--timeout", "1", "--queue-wait", "30"];
        let id = scene.run(&command(&marker), &["web-1"], &args)?;
        let report = scene.settle(id, &["web-1"], ANSWER_TIMEOUT)?;
        report.host("web-1")?.expect_state("timed out", &report)?;
        let left = marker.survivors(Duration::from_secs(2));
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "task {id} was reported timed out, but {} of its processes still run \
                 (`sleep {marker}`, pids {left:?})",
                left.len()
            ))
        }
    })();
    // The scene is gone, so are its agents: nothing can start the command now.
    marker.kill_leftovers();
    result
}

fn disallowed_is_refused(subject: &Subject) -> Result<()> {
    let mut scene = Scene::new(subject)?;
    scene.agents(&[("web-1", &[])])?;
    let id = scene.run("rm -rf x", &["web-1"], &[])?;
    let report = scene.settle(id, &["web-1"], ANSWER_TIMEOUT)?;
    scene.expect_x_intact("rm -rf x")?;
    report.host("web-1")?.expect_state("refused", &report)
}

fn no_shell(subject: &Subject) -> Result<()> {
    let mut scene = Scene::new(subject)?;
    scene.agents(&[("web-1", &[])])?;
    let id = scene.run("df -h; rm -rf x", &["web-1"], &[])?;
    let report = scene.settle(id, &["web-1"], ANSWER_TIMEOUT)?;
    scene.expect_x_intact("df -h; rm -rf x")?;
    // `df *` is allowed: df runs, gets `-h;` `rm` `-rf` `x`, and fails on
    // the option `;` (exit 1, a complaint on stderr, no table). A shell, or
    // an agent that drops or splits words, would run a plain `df -h`:
    // exit 0 and a table of file systems.
    let answer = report.host("web-1")?;
    answer.expect_state("done", &report)?;
    let literal = answer.detail.starts_with("exit ")
        && !answer.detail.starts_with("exit 0 ")
        && answer.stdout.is_empty()
        && answer.stderr.iter().any(|line| line.contains(';'));
    if literal {
        Ok(())
    } else {
        Err(format!(
            "df did not get the words `-h;` `rm` `-rf` `x`: given them, it refuses the \
             option `;` and exits with 1 (stderr `df: invalid option -- ';'`), but here it \
             ended with `{}`, printed {} line(s) and complained {} on stderr:\n{}",
            answer.detail,
            answer.stdout.len(),
            if answer.stderr.is_empty() {
                "nothing"
            } else {
                "otherwise"
            },
            report.text
        ))
    }
}

fn output_is_capped(subject: &Subject) -> Result<()> {
    let mut scene = Scene::new(subject)?;
    scene.agents(&[("web-1", &["--max-output", "16"])])?;
    let long = "this line is much longer than sixteen bytes";
    let id = scene.run(&format!("echo '{long}'"), &["web-1"], &[])?;
    let report = scene.settle(id, &["web-1"], ANSWER_TIMEOUT)?;
    let answer = report.host("web-1")?;
    answer.expect_state("done", &report)?;
    let kept: usize = answer.stdout.iter().map(|line| line.len()).sum();
    if kept > 16 {
        return Err(format!(
            "the agent ran with --max-output 16, but sent back {kept} bytes:\n{}",
            report.text
        ));
    }
    let total = long.len() + 1;
    if !answer
        .notes
        .iter()
        .any(|note| note.contains(&total.to_string()))
    {
        return Err(format!(
            "the output was cut, but the answer does not say it had {total} bytes \
             (`[stdout truncated: kept 16 of {total} bytes]`):\n{}",
            report.text
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// A scene: brokers, a namespace, agents and a scratch folder of one check
// ---------------------------------------------------------------------------

struct Scene<'a> {
    subject: &'a Subject,
    amqp: String,
    redis: String,
    namespace: String,
    /// Killed when the scene ends (before its folder is removed).
    agents: Vec<AgentProcess>,
    /// The agents' working folder, with a folder `x` that must survive.
    scratch: Scratch,
}

impl<'a> Scene<'a> {
    fn new(subject: &'a Subject) -> Result<Self> {
        let (amqp, redis) = brokers(subject)?;
        Ok(Scene {
            subject,
            amqp,
            redis,
            namespace: unique_name("check26"),
            agents: Vec::new(),
            scratch: Scratch::new()?,
        })
    }

    /// Starts one agent per `(host, extra flags)` and waits until all are ready.
    fn agents(&mut self, agents: &[(&str, &[&str])]) -> Result<()> {
        let program = self
            .subject
            .programs
            .get("agent")
            .ok_or("no agent program")?;
        for (host, extra) in agents {
            let mut command = Command::new(program);
            command
                .args(["--amqp-url", &self.amqp, "--namespace", &self.namespace])
                .arg("--key-file")
                .arg(self.scratch.key_file())
                .args(["--host", host])
                .args(*extra)
                .current_dir(self.scratch.path());
            self.agents.push(AgentProcess::start(host, command)?);
        }
        for agent in &mut self.agents {
            agent.wait_ready()?;
        }
        Ok(())
    }

    /// Runs `rpc ARGS` to its end and returns what it printed.
    fn rpc(&self, args: &[&str]) -> Result<String> {
        let key_file = self.scratch.key_file().display().to_string();
        let mut all = vec![
            "--amqp-url",
            &self.amqp,
            "--redis-url",
            &self.redis,
            "--namespace",
            &self.namespace,
            "--key-file",
            &key_file,
        ];
        all.extend(args);
        let output = self.subject.run("rpc", &all, RPC_TIMEOUT)?;
        if !output.status.success() {
            return Err(format!(
                "`rpc {}` failed: {}{}",
                shown(args),
                describe_failure(&output),
                self.agents_said()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `rpc run COMMAND --hosts HOSTS EXTRA`, and the task id it printed.
    fn run(&self, command: &str, hosts: &[&str], extra: &[&str]) -> Result<u64> {
        let mut args = vec!["run", command, "--hosts"];
        args.extend(hosts);
        args.extend(extra);
        let stdout = self.rpc(&args)?;
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("task id: "))
            .and_then(|id| id.trim().parse().ok())
            .ok_or_else(|| {
                format!(
                    "`rpc {}` printed no `task id: N` line; it printed:\n{stdout}",
                    shown(&args)
                )
            })
    }

    /// `rpc check_task ID`, parsed.
    fn check_task(&self, id: u64) -> Result<Report> {
        let id = id.to_string();
        Ok(Report::parse(&self.rpc(&["check_task", &id])?))
    }

    /// Runs `check_task` until none of `hosts` is pending, for at most `limit`.
    fn settle(&self, id: u64, hosts: &[&str], limit: Duration) -> Result<Report> {
        let deadline = Instant::now() + limit;
        loop {
            let report = self.check_task(id)?;
            let mut pending = Vec::new();
            for host in hosts {
                if report.host(host)?.state == "pending" {
                    pending.push(*host);
                }
            }
            if pending.is_empty() {
                return Ok(report);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "after {} s, task {id} still has no answer from {}:\n{}{}",
                    limit.as_secs(),
                    pending.join(", "),
                    report.text,
                    self.agents_said()
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Fails if the folder `x` in the agents' working folder is gone.
    fn expect_x_intact(&self, command: &str) -> Result<()> {
        if self.scratch.path().join("x").is_dir() {
            Ok(())
        } else {
            Err(format!(
                "the folder x in the agent's working folder is gone: `{command}` deleted it"
            ))
        }
    }

    /// The last lines the agents wrote to stderr (a panic, an error), if any.
    fn agents_said(&self) -> String {
        let mut out = String::new();
        for agent in &self.agents {
            let lines = agent.stderr_tail(4);
            if !lines.is_empty() {
                out.push_str(&format!("\nthe agent {} said on stderr:", agent.host));
                for line in lines {
                    out.push_str(&format!("\n  {line}"));
                }
            }
        }
        out
    }
}

/// Where the brokers are: `--amqp-url` / `--redis-url` given to the
/// checker, or throwaway ones shared by every check of this process.
fn brokers(subject: &Subject) -> Result<(String, String)> {
    let amqp = match subject.options.get("amqp-url") {
        Some(url) => url.clone(),
        None => std::panic::catch_unwind(support::testkit::shared_rabbitmq)
            .map_err(|_| {
                "could not start a throwaway RabbitMQ: install rabbitmq-server, or pass \
                 --amqp-url URL --redis-url URL of running brokers"
                    .to_string()
            })?
            .url(),
    };
    let redis = match subject.options.get("redis-url") {
        Some(url) => url.clone(),
        None => std::panic::catch_unwind(support::testkit::shared_redis)
            .map_err(|_| {
                "could not start a throwaway Redis: install redis-server, or pass \
                 --amqp-url URL --redis-url URL of running brokers"
                    .to_string()
            })?
            .url(),
    };
    Ok((amqp, redis))
}

/// Arguments as one would type them, for messages.
fn shown(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            if arg.contains(' ') {
                format!("\"{arg}\"")
            } else {
                arg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// What check_task printed
// ---------------------------------------------------------------------------

/// One host's part of a `check_task` report.
#[derive(Debug, Default)]
struct HostAnswer {
    host: String,
    /// pending, done, refused, timed out, no agent or error.
    state: String,
    /// What follows the state on its line: `exit 1 in 3 ms`, ...
    detail: String,
    /// Its stdout lines (marked `|`).
    stdout: Vec<String>,
    /// Its stderr lines (marked `!`).
    stderr: Vec<String>,
    /// Notes such as `[stdout truncated: kept 16 of 44 bytes]`.
    notes: Vec<String>,
}

impl HostAnswer {
    fn expect_state(&self, state: &str, report: &Report) -> Result<()> {
        if self.state == state {
            Ok(())
        } else {
            Err(format!(
                "{} is `{}`, expected `{state}`:\n{}",
                self.host, self.state, report.text
            ))
        }
    }
}

/// A parsed `check_task` output.
struct Report {
    text: String,
    hosts: HashMap<String, HostAnswer>,
}

impl Report {
    /// Reads `HOST  STATE  detail` lines and the `  | ...`, `  ! ...` and
    /// `  [...]` lines under each.
    fn parse(text: &str) -> Report {
        let mut hosts: HashMap<String, HostAnswer> = HashMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(indented) = line.strip_prefix("  ") {
                let Some(answer) = current.as_ref().and_then(|host| hosts.get_mut(host)) else {
                    continue;
                };
                if let Some(out) = indented.strip_prefix("| ") {
                    answer.stdout.push(out.to_string());
                } else if indented == "|" {
                    answer.stdout.push(String::new());
                } else if let Some(err) = indented.strip_prefix("! ") {
                    answer.stderr.push(err.to_string());
                } else if indented.starts_with('[') {
                    answer.notes.push(indented.to_string());
                }
                continue;
            }
            current = None;
            let Some((host, rest)) = line.split_once(' ') else {
                continue;
            };
            let rest = rest.trim_start();
            if let Some(state) = STATES.iter().find(|state| rest.starts_with(*state)) {
                hosts.insert(
                    host.to_string(),
                    HostAnswer {
                        host: host.to_string(),
                        state: state.to_string(),
                        detail: rest[state.len()..].trim().to_string(),
                        ..HostAnswer::default()
                    },
                );
                current = Some(host.to_string());
            }
        }
        Report {
            text: text.to_string(),
            hosts,
        }
    }

    fn host(&self, host: &str) -> Result<&HostAnswer> {
        self.hosts.get(host).ok_or_else(|| {
            format!(
                "check_task shows no line `{host}  STATE ...` for the host {host}:\n{}",
                self.text
            )
        })
    }
}

// ---------------------------------------------------------------------------
// Processes: agents, and commands left behind
// ---------------------------------------------------------------------------

/// A running agent, killed when dropped.
struct AgentProcess {
    host: String,
    child: Child,
    /// Its stdout lines, for waiting on `ready`.
    stdout: mpsc::Receiver<String>,
    /// Every stderr line, for failure messages.
    stderr: Arc<Mutex<Vec<String>>>,
}

impl AgentProcess {
    fn start(host: &str, mut command: Command) -> Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // If the checker dies, its agents die with it.
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: only an async-signal-safe system call between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start the agent {host}: {e}"))?;
        let (sender, stdout) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(|l| l.ok()) {
                    let _ = sender.send(line);
                }
            });
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let lines = Arc::clone(&stderr);
            std::thread::spawn(move || collect_lines(pipe, &lines));
        }
        Ok(AgentProcess {
            host: host.to_string(),
            child,
            stdout,
            stderr,
        })
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains("ready") => return Ok(()),
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the agent {} printed no `ready` line within {} s",
                        self.host,
                        READY_TIMEOUT.as_secs()
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = self.child.wait();
                    return Err(format!(
                        "the agent {} exited before it was ready: {}",
                        self.host,
                        self.stderr_tail(6).join("\n  ")
                    ));
                }
            }
        }
    }

    fn stderr_tail(&self, count: usize) -> Vec<String> {
        let lines = self.stderr.lock().map(|l| l.clone()).unwrap_or_default();
        lines[lines.len().saturating_sub(count)..].to_vec()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_lines(pipe: impl Read, into: &Mutex<Vec<String>>) {
    for line in BufReader::new(pipe).lines().map_while(|l| l.ok()) {
        if let Ok(mut lines) = into.lock() {
            lines.push(line);
        }
    }
}

/// A long `sleep` argument no other process uses (`20.<pid><n>`), to find
/// the processes a command started, and kill what a check leaves behind.
struct Marker(String);

impl Marker {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Marker(format!("20.{}{n:03}", std::process::id()))
    }

    /// The pids of processes with the marker as an argument, still there
    /// after `grace` (processes take a moment to die).
    fn survivors(&self, grace: Duration) -> Vec<u32> {
        let deadline = Instant::now() + grace;
        loop {
            let found = self.processes();
            if found.is_empty() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill_leftovers(&self) {
        for pid in self.processes() {
            // SAFETY: a plain system call on a process we found by its arguments.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }

    fn processes(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                    cmdline
                        .split(|byte| *byte == 0)
                        .any(|arg| arg == self.0.as_bytes())
                })
            })
            .collect()
    }
}

impl std::fmt::Display for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A folder of one check, with a folder `x` in it and the namespace's
/// signing key beside it, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(unique_name("rpc-commands-check"));
        std::fs::create_dir_all(dir.join("x"))
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        let scratch = Scratch(dir);
        std::fs::write(scratch.key_file(), random_key()?)
            .map_err(|e| format!("could not write {}: {e}", scratch.key_file().display()))?;
        Ok(scratch)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The key agents and `rpc` of this check sign with (`--key-file`).
    fn key_file(&self) -> PathBuf {
        self.0.join("namespace.key")
    }
}

/// A fresh signing key: 32 random bytes from the kernel, in hex (the
/// checker's, and lesson 26's demo's).
pub(crate) fn random_key() -> Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|e| format!("could not read /dev/urandom for a key: {e}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
