//! The command runner, end to end: real `agent` and `rpc` processes against
//! a throwaway RabbitMQ and Redis.
//!
//! Every test has a namespace of its own (so its own exchange, queues and
//! keys on the shared brokers), starts its agents as child processes that
//! are killed when the test ends, and waits by reading their output or by
//! `check_task --wait`, never by sleeping.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lesson_26_rpc_commands::client::{Client, Timing};
use lesson_26_rpc_commands::names::{HostName, Namespace};
use lesson_26_rpc_commands::protocol::Outcome;
use lesson_26_rpc_commands::store::Answer;
use support::testkit::{shared_rabbitmq, shared_redis, unique_name};

/// The longest any single step may take before the test gives up.
const LIMIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The brokers and a namespace of this test's own.
struct Setup {
    amqp: String,
    redis: String,
    namespace: String,
}

fn setup() -> Setup {
    Setup {
        amqp: shared_rabbitmq().url(),
        redis: shared_redis().url(),
        namespace: unique_name("rpc-test"),
    }
}

/// What a finished `rpc` printed.
struct Ran {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// An agent process, killed when dropped.
struct Agent {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Agent {
    /// Waits (bounded) for a line of the agent's output that contains `text`.
    fn wait_for_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(line) = self.seen.iter().find(|line| line.contains(text)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "the agent never printed {text:?}; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Setup {
    fn broker_args(&self) -> Vec<String> {
        vec![
            "--amqp-url".into(),
            self.amqp.clone(),
            "--namespace".into(),
            self.namespace.clone(),
        ]
    }

    /// Starts `agent --host HOST ARGS...` in `dir` and waits until it is ready.
    fn agent_in(&self, dir: &Path, host: &str, args: &[&str]) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agent"))
            .args(self.broker_args())
            .args(["--host", host])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the agent");
        let (send, lines) = mpsc::channel();
        forward_lines(child.stdout.take().expect("piped"), send.clone(), "");
        forward_lines(child.stderr.take().expect("piped"), send, "stderr: ");
        let mut agent = Agent {
            child,
            lines,
            seen: Vec::new(),
        };
        agent.wait_for_line(&format!("agent {host} ready"));
        agent
    }

    fn agent(&self, host: &str, args: &[&str]) -> Agent {
        self.agent_in(Path::new("."), host, args)
    }

    /// Runs `rpc ARGS...` to the end, with `input` on stdin.
    fn rpc_with_input(&self, args: &[&str], input: &str) -> Ran {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rpc"))
            .args(self.broker_args())
            .args(["--redis-url", &self.redis])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rpc");
        let stdout = read_all_later(child.stdout.take().expect("piped"));
        let stderr = read_all_later(child.stderr.take().expect("piped"));
        let mut stdin = child.stdin.take().expect("piped");
        stdin
            .write_all(input.as_bytes())
            .expect("write rpc's input");
        drop(stdin); // end of input: the shell exits after the last line
        let status = wait_bounded(&mut child);
        Ran {
            ok: status.success(),
            code: status.code(),
            stdout: stdout.recv().unwrap_or_default(),
            stderr: stderr.recv().unwrap_or_default(),
        }
    }

    fn rpc(&self, args: &[&str]) -> Ran {
        self.rpc_with_input(args, "")
    }

    /// A library client on the same brokers and namespace.
    async fn client(&self) -> Client {
        let namespace = Namespace::new(&self.namespace).unwrap();
        Client::connect(&self.amqp, &self.redis, namespace)
            .await
            .expect("connect the client")
    }
}

fn forward_lines(pipe: impl Read + Send + 'static, to: mpsc::Sender<String>, prefix: &'static str) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if to.send(format!("{prefix}{line}")).is_err() {
                return;
            }
        }
    });
}

fn read_all_later(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        let _ = send.send(text);
    });
    receive
}

/// Waits for a child, polling its status, for at most [`LIMIT`].
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for rpc") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rpc did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The id in `task id: N`.
fn task_id(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("task id: "))
        .and_then(|id| id.trim().parse().ok())
        .unwrap_or_else(|| panic!("no task id in {stdout:?}"))
}

/// The line `check_task` printed for `host`.
fn host_line<'a>(report: &'a str, host: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.split_whitespace().next() == Some(host))
        .unwrap_or_else(|| panic!("no line for {host} in:\n{report}"))
}

/// Whether some live process has exactly this command line.
fn process_running(argv: &[&str]) -> bool {
    let wanted: Vec<u8> = argv.iter().flat_map(|arg| arg.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .any(|cmdline| cmdline == wanted)
}

/// Polls (bounded) until `process_running(argv) == running`.
fn wait_until_process(argv: &[&str], running: bool) {
    let deadline = Instant::now() + LIMIT;
    while process_running(argv) != running {
        assert!(
            Instant::now() < deadline,
            "{argv:?} still {}",
            if running { "not running" } else { "running" }
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A number of seconds no other test or process sleeps, to find that
/// `sleep` in /proc: `900.<pid>`, `901.<pid>`, ...
fn unique_sleep() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}.{}", 900 + n, std::process::id())
}

// ---------------------------------------------------------------------------
// Many hosts, many tasks
// ---------------------------------------------------------------------------

#[test]
fn one_task_on_three_agents_returns_three_results() {
    let setup = setup();
    let _agents = ["web-1", "web-2", "db-1"].map(|host| setup.agent(host, &[]));

    let sent = setup.rpc(&["run", "echo hello", "--hosts", "web-1", "web-2", "db-1"]);
    assert!(sent.ok, "{}", sent.stderr);
    let id = task_id(&sent.stdout);
    assert_eq!(sent.stdout, format!("task id: {id}\n"));

    let checked = setup.rpc(&["check_task", &id.to_string(), "--wait"]);
    assert!(checked.ok, "{}", checked.stderr);
    let report = checked.stdout;
    assert!(
        report.contains("sent just now to 3 hosts: 3 done"),
        "{report}"
    );
    for host in ["web-1", "web-2", "db-1"] {
        assert!(
            host_line(&report, host).contains("done       exit 0 in"),
            "{report}"
        );
    }
    assert_eq!(report.matches("  | hello\n").count(), 3, "{report}");
}

#[test]
fn fifty_tasks_in_flight_all_complete_correctly() {
    let setup = setup();
    let _agents = ["web-1", "web-2", "db-1"].map(|host| setup.agent(host, &[]));
    let hosts: Vec<HostName> = ["web-1", "web-2", "db-1"]
        .iter()
        .map(|h| HostName::new(h).unwrap())
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = setup.client().await;
        client.ensure_collector().await.unwrap();
        let timing = Timing {
            timeout: Duration::from_secs(10),
            queue_wait: Duration::from_secs(10),
        };
        // Send all fifty before looking at any answer.
        let mut ids = Vec::new();
        for n in 0..50 {
            let argv = vec!["echo".to_string(), format!("task number {n}")];
            let submitted = client.run(argv, &hosts, timing).await.unwrap();
            assert!(submitted.no_agent.is_empty());
            ids.push((n, submitted.id));
        }
        let distinct: std::collections::BTreeSet<u64> = ids.iter().map(|(_, id)| *id).collect();
        assert_eq!(distinct.len(), 50, "task ids must never repeat");

        for (n, id) in ids {
            let task = client.wait_for(id).await.unwrap().expect("the task exists");
            assert_eq!(task.answers.len(), 3);
            for (host, answer) in &task.answers {
                let Some(Answer::Replied { reply, .. }) = answer else {
                    panic!("task {id}: {host} did not answer: {answer:?}");
                };
                assert_eq!(&reply.agent, host, "the answer comes from the host asked");
                assert_eq!(reply.outcome, Outcome::Exited { code: 0 });
                assert_eq!(reply.stdout.text, format!("task number {n}\n"));
            }
        }
        client.close().await.unwrap();
    });
}

#[test]
fn check_task_from_a_second_rpc_process_sees_the_same_results() {
    let setup = setup();
    let _agent = setup.agent("web-1", &[]);
    // The first rpc: an interactive shell, fed through a pipe.
    let shell = setup.rpc_with_input(
        &[],
        "run \"echo shared\" --hosts web-1\ncheck_task 1 --wait\nexit\n",
    );
    assert!(shell.ok, "{}", shell.stderr);
    assert!(
        shell
            .stdout
            .contains(">>: run \"echo shared\" --hosts web-1\ntask id: 1\n"),
        "{}",
        shell.stdout
    );

    // The second: a one-shot process that never saw the task being sent.
    let other = setup.rpc(&["check_task", "1"]);
    assert!(other.ok, "{}", other.stderr);
    let results = |report: &str| -> Vec<String> {
        report
            .lines()
            .filter(|line| line.starts_with("web-1 ") || line.starts_with("  | "))
            .map(str::to_string)
            .collect()
    };
    let seen_by_shell = results(&shell.stdout);
    assert_eq!(seen_by_shell.len(), 2, "{}", shell.stdout);
    assert!(
        seen_by_shell[0].contains("done       exit 0"),
        "{}",
        shell.stdout
    );
    assert_eq!(seen_by_shell[1], "  | shared");
    assert_eq!(results(&other.stdout), seen_by_shell);
}

// ---------------------------------------------------------------------------
// Hosts without agents
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_host_is_reported_as_no_agent_at_once() {
    let setup = setup();
    let _agent = setup.agent("web-1", &[]);
    let started = Instant::now();
    let sent = setup.rpc(&["run", "uptime", "--hosts", "web-1", "nobody-here"]);
    assert!(sent.ok, "{}", sent.stderr);
    assert!(
        sent.stdout.contains("  nobody-here: no agent"),
        "{}",
        sent.stdout
    );
    let id = task_id(&sent.stdout).to_string();

    // Right away, without waiting: known, not pending. Without the returned
    // message this host would show as pending until the deadline (16 s).
    let checked = setup.rpc(&["check_task", &id]);
    let line = host_line(&checked.stdout, "nobody-here");
    assert!(line.contains("no agent"), "{}", checked.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(16),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_second_agent_with_the_same_name_is_refused() {
    let setup = setup();
    let _first = setup.agent("web-1", &[]);
    let second = Command::new(env!("CARGO_BIN_EXE_agent"))
        .args(setup.broker_args())
        .args(["--host", "web-1"])
        .stdin(Stdio::null())
        .output()
        .expect("run a second agent");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another agent already serves host `web-1`"),
        "{stderr}"
    );
}

#[test]
fn an_agent_that_dies_mid_command_shows_as_timed_out_after_the_deadline() {
    let setup = setup();
    let seconds = unique_sleep();
    let mut agent = setup.agent("web-1", &["--allow", "sleep *"]);
    let sent = setup.rpc(&[
        "run",
        &format!("sleep {seconds}"),
        "--hosts",
        "web-1",
        "--timeout",
        "1",
        "--queue-wait",
        "0.5",
    ]);
    let id = task_id(&sent.stdout).to_string();
    agent.wait_for_line(&format!("task {id}: running sleep"));
    wait_until_process(&["sleep", &seconds], true);

    agent.kill();
    // The command dies with its agent (PR_SET_PDEATHSIG).
    wait_until_process(&["sleep", &seconds], false);
    let now = setup.rpc(&["check_task", &id]);
    assert!(
        host_line(&now.stdout, "web-1").contains("pending"),
        "{}",
        now.stdout
    );
    let later = setup.rpc(&["check_task", &id, "--wait"]);
    assert!(
        host_line(&later.stdout, "web-1").contains("timed out  no answer by the deadline"),
        "{}",
        later.stdout
    );
}

// ---------------------------------------------------------------------------
// What agents run, and how
// ---------------------------------------------------------------------------

/// `run CMD` on a fresh agent started with `agent_args` in `dir`; returns
/// the `check_task --wait` report.
fn run_on_one_agent(dir: &Path, agent_args: &[&str], run_args: &[&str]) -> String {
    let setup = setup();
    let _agent = setup.agent_in(dir, "web-1", agent_args);
    let mut args = vec!["run"];
    args.extend(run_args);
    args.extend(["--hosts", "web-1"]);
    let sent = setup.rpc(&args);
    assert!(sent.ok, "{}", sent.stderr);
    let checked = setup.rpc(&["check_task", &task_id(&sent.stdout).to_string(), "--wait"]);
    assert!(checked.ok, "{}", checked.stderr);
    checked.stdout
}

#[test]
fn a_command_past_its_timeout_is_killed_with_everything_it_started() {
    let seconds = unique_sleep();
    // The bound below is about the command's timeout, not about starting the
    // brokers, which takes longer than that on a loaded machine.
    let _ = (shared_rabbitmq(), shared_redis());
    let started = Instant::now();
    // The shell starts a background sleep and waits on a foreground one:
    // only killing the whole process group ends both.
    let script = format!("sleep {seconds} & exec sleep {seconds}");
    let report = run_on_one_agent(
        Path::new("."),
        &["--allow-any"],
        &[&format!("sh -c '{script}'"), "--timeout", "1"],
    );
    assert!(
        host_line(&report, "web-1").contains("timed out  killed after its timeout of 1 s"),
        "{report}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    wait_until_process(&["sleep", &seconds], false);
}

#[test]
fn a_disallowed_command_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x"), "precious").unwrap();
    let report = run_on_one_agent(dir.path(), &[], &["rm -rf x"]);
    let line = host_line(&report, "web-1");
    assert!(
        line.contains("refused    `rm -rf x` is not allowed on this agent"),
        "{report}"
    );
    assert!(dir.path().join("x").exists());
}

#[test]
fn shell_syntax_is_plain_text_so_df_gets_literal_arguments() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x"), "precious").unwrap();
    // With a shell this would be two commands; here it is one `df` with the
    // arguments `-h;`, `rm`, `-rf` and `x`, which df rejects.
    let report = run_on_one_agent(dir.path(), &[], &["df -h; rm -rf x"]);
    let line = host_line(&report, "web-1");
    assert!(line.contains("done       exit 1 in"), "{report}");
    assert!(report.contains("  ! df: "), "df itself complains: {report}");
    assert!(
        report.starts_with("task 1: df '-h;' rm -rf x\n"),
        "{report}"
    );
    assert!(dir.path().join("x").exists(), "nothing else ran");
}

#[test]
fn output_larger_than_the_cap_is_truncated_and_flagged() {
    let report = run_on_one_agent(
        Path::new("."),
        &["--allow", "seq *", "--max-output", "1000"],
        &["seq 1 10000"],
    );
    // Read to the end (not killed by a full pipe), and only the cap kept.
    assert!(
        host_line(&report, "web-1").contains("done       exit 0 in"),
        "{report}"
    );
    assert!(report.contains("  | 1\n  | 2\n"), "{report}");
    assert!(!report.contains("  | 9999\n"), "{report}");
    assert!(
        report.contains("[stdout truncated: kept 1000 of 48894 bytes]"),
        "{report}"
    );
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_input_gets_a_clear_message_and_the_shell_goes_on() {
    let setup = setup();
    let input = [
        "run \"uptime\"",                 // no hosts
        "run \"df 'oops\" --hosts web-1", // unbalanced quotes inside the command
        "run \"df -h --hosts web-1",      // unbalanced quotes on the line
        "frobnicate",                     // unknown verb
        "check_task 4242",                // unknown task
        "check_task soon",                // not a task id
        "run uptime --hosts 'web 1'",     // not a host name
        "tasks",                          // and the shell is still there
    ]
    .join("\n");
    let ran = setup.rpc_with_input(&[], &input);
    assert!(
        ran.ok,
        "end of input ends the shell normally: {}",
        ran.stderr
    );
    let expected = [
        "the following required arguments were not provided:\n  --hosts <HOST>...",
        "unbalanced quotes in the command `df 'oops`",
        "error: unbalanced quotes: close every ' and \" (nothing was run)",
        "unrecognized subcommand 'frobnicate'",
        "no task 4242 in namespace",
        "invalid value 'soon' for '<ID>'",
        "`web 1` is not a valid host name",
    ];
    for message in expected {
        assert!(
            ran.stderr.contains(message),
            "missing {message:?} in:\n{}",
            ran.stderr
        );
    }
    assert!(
        ran.stdout
            .ends_with(">>: tasks\nno tasks yet: try run \"uptime\" --hosts NAME\n>>: \n"),
        "{}",
        ran.stdout
    );
}

#[test]
fn bad_input_to_a_one_shot_verb_fails_with_a_message() {
    let setup = setup();
    let no_hosts = setup.rpc(&["run", "uptime"]);
    assert_eq!(no_hosts.code, Some(2), "clap's usage error");
    assert!(
        no_hosts.stderr.contains("--hosts <HOST>..."),
        "{}",
        no_hosts.stderr
    );

    let unknown = setup.rpc(&["check_task", "4242"]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("error: no task 4242"),
        "{}",
        unknown.stderr
    );
}
