//! The command runner, end to end: real `agent` and `rpc` processes against
//! a throwaway RabbitMQ and Redis.
//!
//! Every test has a namespace of its own (so its own exchange, queues,
//! Redis keys and signing key on the shared brokers), starts its agents as
//! child processes that are killed when the test ends (and by the kernel if
//! the test process dies: testkit's [`Program`]), and waits by reading
//! their output or by `check_task --wait`, never by sleeping.
//!
//! The attacks of the chapter's "Threats" section are here too, each run
//! the way a hostile user on the same broker would run it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Confirmation};
use lesson_26_rpc_commands::auth::{Direction, Key};
use lesson_26_rpc_commands::client::{Client, Timing};
use lesson_26_rpc_commands::names::{HostName, Namespace};
use lesson_26_rpc_commands::protocol::{Outcome, Reply, Request, signed_properties};
use lesson_26_rpc_commands::store::{Answer, TaskMeta};
use support::testkit::{Program, shared_rabbitmq, shared_redis, unique_name};

/// The longest any single step may take before the test gives up.
const LIMIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The brokers, a namespace and a key of this test's own.
struct Setup {
    amqp: String,
    redis: String,
    namespace: String,
    /// The namespace's key, as text: given to every program as `RPC_KEY`.
    key: String,
}

/// A namespace on the shared vhost `/`, as user guest, like a classroom
/// that runs `just up`: only the key tells its messages from others'.
fn setup() -> Setup {
    Setup {
        amqp: shared_rabbitmq().url(),
        redis: shared_redis().url(),
        namespace: unique_name("rpc-test"),
        key: Key::generate().unwrap(),
    }
}

/// A namespace with a vhost and a broker user of its own (the test kit
/// creates them): nobody else on the broker can reach its queues.
fn isolated_setup() -> Setup {
    let namespace = unique_name("rpc-test");
    let password = Key::generate().unwrap();
    let amqp = shared_rabbitmq()
        .isolated_vhost(&namespace, &password)
        .expect("create the namespace's vhost and user");
    Setup {
        amqp,
        redis: shared_redis().url(),
        namespace,
        key: Key::generate().unwrap(),
    }
}

/// What a finished `rpc` printed.
struct Ran {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// An agent process: killed (with its process group) when dropped, and by
/// the kernel if the test process dies first.
struct Agent {
    program: Program,
}

impl Agent {
    /// Waits (bounded) for a line of the agent's output that contains
    /// `text`, whether it came already or comes later.
    fn wait_for_line(&mut self, text: &str) -> String {
        if let Some(line) = self
            .program
            .stdout_lines()
            .iter()
            .find(|line| line.contains(text))
        {
            return line.clone();
        }
        self.program.expect_line(text)
    }

    fn kill(&mut self) {
        self.program.kill();
    }
}

impl Setup {
    /// The environment every program of this namespace gets: its key.
    fn keyed(&self, command: &mut Command) {
        command.env("RPC_KEY", &self.key).env_remove("RPC_KEY_FILE");
    }

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
        let mut command = Command::new(env!("CARGO_BIN_EXE_agent"));
        command
            .args(self.broker_args())
            .args(["--host", host])
            .args(args)
            .current_dir(dir);
        self.keyed(&mut command);
        let mut agent = Agent {
            program: Program::start_command(command),
        };
        agent.wait_for_line(&format!("agent {host} ready"));
        agent
    }

    fn agent(&self, host: &str, args: &[&str]) -> Agent {
        self.agent_in(Path::new("."), host, args)
    }

    /// Runs `rpc ARGS...` to the end, with `input` on stdin.
    fn rpc_with_input(&self, args: &[&str], input: &str) -> Ran {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rpc"));
        self.keyed(&mut command);
        let mut child = command
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
        Client::connect(&self.amqp, &self.redis, namespace, self.key())
            .await
            .expect("connect the client")
    }

    fn key(&self) -> Key {
        Key::new(&self.key, "the test").unwrap()
    }
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
    let state = if running { "start" } else { "be gone" };
    support::testkit::eventually_within(&format!("{argv:?} to {state}"), LIMIT, || {
        process_running(argv) == running
    });
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
        .env("RPC_KEY", &setup.key)
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
    // The agent's own answer, not silence until the deadline (which reads
    // "no answer by the deadline"); no wall-clock bound, which a loaded
    // machine would break. And the processes are gone:
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

// ---------------------------------------------------------------------------
// Threats: what a hostile user on the same broker tries
// ---------------------------------------------------------------------------

/// A plain AMQP connection and a channel in confirm mode, as anyone with
/// the broker's address and a user can open.
async fn raw_channel(url: &str) -> (lapin::Connection, lapin::Channel) {
    let connection = support::amqp::connect(url).await.expect("connect");
    let channel = connection.create_channel().await.expect("a channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    (connection, channel)
}

/// Publishes and waits for the broker's confirmation, so that the message
/// is in its queue when this returns. `Err` if the broker refused it.
async fn publish(
    channel: &lapin::Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<Confirmation, lapin::Error> {
    channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await?
        .await
}

/// A reply body that says `stdout` came from `host`, exit 0.
fn reply_body(host: &str, stdout: &str) -> Vec<u8> {
    serde_json::to_vec(&Reply {
        agent: host.into(),
        outcome: Outcome::Exited { code: 0 },
        stdout: lesson_26_rpc_commands::protocol::Output {
            text: stdout.into(),
            bytes: stdout.len() as u64,
            truncated: false,
        },
        stderr: Default::default(),
        started_ms: 0,
        duration_ms: 1,
    })
    .unwrap()
}

/// A task of `setup`'s namespace for web-1 whose command was never sent:
/// any answer to it is forged.
async fn task_never_sent(client: &Client) -> u64 {
    let now = lesson_26_rpc_commands::now_ms();
    client
        .store()
        .create(&TaskMeta {
            command: "uptime".into(),
            hosts: vec!["web-1".into()],
            created_ms: now,
            deadline_ms: now + 600_000,
            timeout_ms: 10_000,
        })
        .await
        .unwrap()
}

/// A key the attacker made up.
fn wrong_key() -> Key {
    Key::new(&Key::generate().unwrap(), "the attacker").unwrap()
}

#[test]
fn a_forged_reply_is_dropped_and_counted_never_shown() {
    // Attack (a): a reply with correlation id N/web-1, published straight
    // into the reply queue by someone without the key.
    let setup = setup();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = runtime.block_on(async {
        let client = setup.client().await;
        let id = task_never_sent(&client).await;
        let (_connection, channel) = raw_channel(&setup.amqp).await;
        let replies = Namespace::new(&setup.namespace).unwrap().replies_queue();
        let correlation_id = format!("{id}/web-1");
        let body = reply_body("web-1", "forged output");
        let unsigned = BasicProperties::default()
            .with_correlation_id(correlation_id.as_str().into())
            .with_user_id("guest".into());
        let signed_wrongly = signed_properties(
            &wrong_key(),
            Direction::Reply,
            "guest",
            &correlation_id,
            &body,
        );
        for properties in [unsigned, signed_wrongly] {
            let confirmed = publish(&channel, "", &replies, &body, properties).await;
            assert!(
                matches!(confirmed, Ok(Confirmation::Ack(None))),
                "{confirmed:?}"
            );
        }
        client.close().await.unwrap();
        id
    });
    let checked = setup.rpc(&["check_task", &id.to_string()]);
    assert!(checked.ok, "{}", checked.stderr);
    assert!(
        host_line(&checked.stdout, "web-1").contains("pending"),
        "{}",
        checked.stdout
    );
    assert!(
        !checked.stdout.contains("forged output"),
        "{}",
        checked.stdout
    );
    assert!(
        checked
            .stdout
            .contains("note: 2 replies in namespace `rpc-test-")
            && checked.stdout.contains("failed the authenticity check"),
        "{}",
        checked.stdout
    );
    assert!(
        checked
            .stderr
            .contains("dropped a reply that failed the check: not signed")
            && checked
                .stderr
                .contains("its signature is not made with our key"),
        "{}",
        checked.stderr
    );
}

#[test]
fn rabbitmq_refuses_a_message_whose_user_id_is_not_its_publisher() {
    // Why `user_id` can be trusted: the broker checks it against the
    // connection's login, and closes the channel of a liar.
    let setup = setup();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = setup.client().await;
        let (_connection, channel) = raw_channel(&setup.amqp).await;
        let replies = Namespace::new(&setup.namespace).unwrap().replies_queue();
        let lie = BasicProperties::default().with_user_id("class-admin".into());
        let refused = publish(&channel, "", &replies, b"{}", lie).await;
        assert!(
            !matches!(refused, Ok(Confirmation::Ack(_))),
            "the broker took a message with a false user_id: {refused:?}"
        );
        client.close().await.unwrap();
    });
}

#[test]
fn a_reply_queued_for_the_next_task_id_does_not_replace_the_real_answer() {
    // Attack (b): read the counter, queue a reply for the next id, and wait
    // for the real answer to be dropped as a duplicate.
    let setup = setup();
    let _agent = setup.agent("web-1", &[]);
    let mut redis = redis::Client::open(setup.redis.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let counter = Namespace::new(&setup.namespace).unwrap().next_id_key();
    let last: Option<u64> = redis::cmd("GET").arg(&counter).query(&mut redis).unwrap();
    let next = last.unwrap_or(0) + 1;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The reply queue exists once an rpc has connected.
        let client = setup.client().await;
        let (_connection, channel) = raw_channel(&setup.amqp).await;
        let replies = Namespace::new(&setup.namespace).unwrap().replies_queue();
        let correlation_id = format!("{next}/web-1");
        let body = reply_body("web-1", "forged in advance");
        let properties = signed_properties(
            &wrong_key(),
            Direction::Reply,
            "guest",
            &correlation_id,
            &body,
        );
        publish(&channel, "", &replies, &body, properties)
            .await
            .unwrap();
        client.close().await.unwrap();
    });

    let sent = setup.rpc(&["run", "echo the real answer", "--hosts", "web-1"]);
    assert_eq!(task_id(&sent.stdout), next, "{}", sent.stdout);
    let checked = setup.rpc(&["check_task", &next.to_string(), "--wait"]);
    assert!(
        host_line(&checked.stdout, "web-1").contains("done       exit 0"),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stdout.contains("  | the real answer\n"),
        "{}",
        checked.stdout
    );
    assert!(
        !checked.stdout.contains("forged in advance"),
        "{}",
        checked.stdout
    );
}

#[test]
fn an_agent_answers_only_signed_requests_and_only_into_its_own_reply_queue() {
    // Attack (c): a member of class B (who has B's key) asks B's agent to
    // answer into class A's reply queue, with A's correlation id. And
    // anyone asks A's agent for something without A's key.
    let class_a = setup();
    let class_b = setup();
    let mut agent_a = class_a.agent("web-1", &[]);
    let mut agent_b = class_b.agent("web-1", &[]);
    let ns_a = Namespace::new(&class_a.namespace).unwrap();
    let ns_b = Namespace::new(&class_b.namespace).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = runtime.block_on(async {
        let client_a = class_a.client().await;
        let id = task_never_sent(&client_a).await;
        let (_connection, channel) = raw_channel(&class_a.amqp).await;
        let correlation_id = format!("{id}/web-1");
        let body = serde_json::to_vec(&Request {
            argv: vec!["echo".into(), "forged".into()],
            timeout_ms: 1000,
        })
        .unwrap();
        // To B's agent, signed with B's key, answer to A's queue.
        let to_a = signed_properties(
            &class_b.key(),
            Direction::Request,
            "guest",
            &correlation_id,
            &body,
        )
        .with_reply_to(ns_a.replies_queue().into());
        publish(&channel, &ns_b.exchange(), "web-1", &body, to_a)
            .await
            .unwrap();
        // To A's agent: unsigned, then signed with a made-up key.
        let unsigned = BasicProperties::default()
            .with_correlation_id(correlation_id.as_str().into())
            .with_user_id("guest".into())
            .with_reply_to(ns_a.replies_queue().into());
        let made_up = signed_properties(
            &wrong_key(),
            Direction::Request,
            "guest",
            &correlation_id,
            &body,
        )
        .with_reply_to(ns_a.replies_queue().into());
        for properties in [unsigned, made_up] {
            publish(&channel, &ns_a.exchange(), "web-1", &body, properties)
                .await
                .unwrap();
        }
        client_a.close().await.unwrap();
        id
    });
    agent_b.wait_for_line("dropped a message: it asks for the answer to go to");
    agent_a.wait_for_line("dropped a message: not signed (1 dropped so far)");
    agent_a.wait_for_line("dropped a message: its signature is not made with our key");
    for agent in [&agent_a, &agent_b] {
        assert!(
            !agent
                .program
                .stdout_lines()
                .iter()
                .any(|line| line.contains("running")),
            "nothing ran: {:?}",
            agent.program.stdout_lines()
        );
    }
    // Nothing was answered: A's task is still pending, nothing was dropped
    // on A's side (no reply ever reached its queue).
    let checked = class_a.rpc(&["check_task", &id.to_string()]);
    assert!(
        host_line(&checked.stdout, "web-1").contains("pending"),
        "{}",
        checked.stdout
    );
    assert!(!checked.stdout.contains("note:"), "{}", checked.stdout);
    // And the agent still serves its own class.
    let sent = class_a.rpc(&["run", "echo still here", "--hosts", "web-1"]);
    let done = class_a.rpc(&["check_task", &task_id(&sent.stdout).to_string(), "--wait"]);
    assert!(done.stdout.contains("  | still here\n"), "{}", done.stdout);
}

#[test]
fn a_huge_request_neither_kills_the_agent_nor_makes_a_huge_reply() {
    // The reproduction of issue 21: argv of 26,214,400 quotes. Once, the
    // refusal quoted it, grew past RabbitMQ's frame limit, the broker
    // closed the channel and the agent exited. Signed here with the right
    // key: the worst case, someone of the class.
    let setup = setup();
    let mut agent = setup.agent("web-1", &[]);
    let namespace = Namespace::new(&setup.namespace).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (client, (connection, channel)) =
        runtime.block_on(async { (setup.client().await, raw_channel(&setup.amqp).await) });
    let send = |argv: Vec<String>, correlation_id: &str| {
        let body = serde_json::to_vec(&Request {
            argv,
            timeout_ms: 1000,
        })
        .unwrap();
        let properties = signed_properties(
            &setup.key(),
            Direction::Request,
            "guest",
            correlation_id,
            &body,
        )
        .with_reply_to(namespace.replies_queue().into());
        runtime
            .block_on(publish(
                &channel,
                &namespace.exchange(),
                "web-1",
                &body,
                properties,
            ))
            .unwrap();
    };
    send(vec!["'".repeat(26_214_400)], "900001/web-1");
    agent.wait_for_line("dropped a message: 26214431 bytes, over the limit of 65536");

    // Just under the request limit, 12,000 words of one quote each: the
    // refusal quotes the command, which would be 84,000 characters.
    send(vec!["'".to_string(); 12_000], "900002/web-1");
    agent.wait_for_line("task 900002: refused");
    let reply = runtime.block_on(async {
        let deadline = Instant::now() + LIMIT;
        loop {
            let got = channel
                .basic_get(
                    namespace.replies_queue().as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap();
            if let Some(message) = got {
                return message.delivery.data;
            }
            assert!(Instant::now() < deadline, "no refusal came back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(reply.len() < 4096, "a refusal of {} bytes", reply.len());
    let reply: Reply = serde_json::from_slice(&reply).unwrap();
    assert!(
        matches!(&reply.outcome, Outcome::Refused { reason } if reason.contains("bytes in all")),
        "{:?}",
        reply.outcome
    );
    runtime.block_on(async {
        client.close().await.unwrap();
        connection.close(200, "done".into()).await.unwrap();
    });

    // Still alive, still serving.
    let sent = setup.rpc(&["run", "echo after the attack", "--hosts", "web-1"]);
    let done = setup.rpc(&["check_task", &task_id(&sent.stdout).to_string(), "--wait"]);
    assert!(
        done.stdout.contains("  | after the attack\n"),
        "{}",
        done.stdout
    );
}

#[test]
fn a_request_cannot_hold_a_slot_longer_than_the_agents_max_timeout() {
    // Slot hogging: asking for ten minutes gets the agent's ceiling.
    let seconds = unique_sleep();
    let report = run_on_one_agent(
        Path::new("."),
        &["--allow", "sleep *", "--max-timeout", "1"],
        &[&format!("sleep {seconds}"), "--timeout", "600"],
    );
    assert!(
        host_line(&report, "web-1").contains("timed out  killed after its timeout of 1 s"),
        "{report}"
    );
    wait_until_process(&["sleep", &seconds], false);

    // The ceiling a classroom gets without the flag, and no never-ending
    // `free -s 1` on the default list.
    let help = Command::new(env!("CARGO_BIN_EXE_agent"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[default: 60]"), "{help}");
    let report = run_on_one_agent(Path::new("."), &[], &["free -s 1"]);
    assert!(
        host_line(&report, "web-1").contains("refused    `free -s 1` is not allowed"),
        "{report}"
    );
}

#[test]
fn escape_sequences_in_output_are_shown_as_text() {
    let report = run_on_one_agent(
        Path::new("."),
        &["--allow", "printf *"],
        &[r"printf '\033[2J\033]0;owned\007red\n'"],
    );
    assert!(report.contains("  | ^[[2J^[]0;owned^Gred\n"), "{report}");
    assert!(
        !report.contains('\x1b') && !report.contains('\x07'),
        "{report:?}"
    );
}

#[test]
fn a_namespace_with_its_own_vhost_and_user_is_closed_to_everyone_else() {
    let setup = isolated_setup();
    let _agent = setup.agent("web-1", &[]);
    let sent = setup.rpc(&["run", "echo in our own vhost", "--hosts", "web-1"]);
    assert!(sent.ok, "{}", sent.stderr);
    let done = setup.rpc(&["check_task", &task_id(&sent.stdout).to_string(), "--wait"]);
    assert!(
        done.stdout.contains("  | in our own vhost\n"),
        "{}",
        done.stdout
    );

    // guest, everybody's user in a classroom, cannot even open that vhost.
    let port = shared_rabbitmq().port();
    let guest = format!("amqp://guest:guest@127.0.0.1:{port}/{}", setup.namespace);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refused = runtime.block_on(support::amqp::connect(&guest));
    assert!(refused.is_err(), "guest got into the namespace's vhost");
}
