//! Lesson 11's promises, each proven against a real broker: a task held by a
//! worker that dies is given to another worker; a persistent message in a
//! durable queue survives a broker restart and a transient one does not;
//! prefetch 1 lets a fast worker do most of the work; redeclaring a queue
//! with other settings is explained; `--confirm` means the broker has it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lapin::types::ShortString;
use lesson_11_work_queues::{Durability, declare_task_queue, publish_task};
use support::amqp::Session;
use support::testkit::{
    PATIENCE, Program, RabbitMq, queue_length, run, shared_rabbitmq, unique_name,
};

const NEW_TASK: &str = env!("CARGO_BIN_EXE_new-task");
const WORKER: &str = env!("CARGO_BIN_EXE_worker");

/// Starts a worker on `queue` and waits until it is consuming.
fn worker(url: &str, queue: &str, ms_per_dot: u64, prefetch: u16) -> Program {
    let mut worker = Program::start(
        WORKER,
        [
            "--url",
            url,
            "--queue",
            queue,
            "--ms-per-dot",
            &ms_per_dot.to_string(),
            "--prefetch",
            &prefetch.to_string(),
        ],
    );
    worker.expect_line("Waiting for messages");
    worker
}

/// Publishes tasks with the lesson's own functions, in one connection.
fn publish(url: &str, queue: &str, tasks: &[String], durability: Durability) {
    block_on(async {
        let session = Session::open(url).await.unwrap();
        let queue: ShortString = queue.into();
        declare_task_queue(&session.channel, &queue, durability)
            .await
            .unwrap();
        for task in tasks {
            publish_task(&session.channel, &queue, task.as_bytes(), durability)
                .await
                .unwrap();
        }
        session.close().await.unwrap();
    });
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The task inside a worker's ` [x] Received "..."` line.
fn received_task(line: &str) -> Option<String> {
    let rest = line.strip_prefix(" [x] Received \"")?;
    Some(rest[..rest.find('"')?].to_string())
}

// ANCHOR: kill_test
/// The notes' promise: "if a worker dies, its task goes to another worker".
/// Worker A takes the first task and dies in the middle of it (SIGKILL: no
/// chance to clean up). Worker B does every task, the dead worker's too.
#[test]
fn a_task_held_by_a_killed_worker_is_done_by_another() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let queue = unique_name("task_queue");
    let tasks: Vec<String> = (1..=5).map(|n| format!("task {n}.")).collect();

    // A minute per dot: A will still be working when it is killed.
    let mut doomed = worker(&url, &queue, 60_000, 1);
    publish(&url, &queue, &tasks, Durability::Durable);
    assert_eq!(doomed.expect_line("Received"), " [x] Received \"task 1.\"");

    let mut survivor = worker(&url, &queue, 1, 1);
    doomed.kill();

    let mut done = 0;
    let mut received = BTreeSet::new();
    let mut redelivered = Vec::new();
    while done < tasks.len() {
        let line = survivor.wait_for(|l| l.contains("Received") || l.contains("Done"), "a task");
        if let Some(task) = received_task(&line) {
            if line.contains("redelivered") {
                redelivered.push(task.clone());
            }
            received.insert(task);
        } else {
            done += 1;
        }
    }
    assert_eq!(received, tasks.iter().cloned().collect());
    assert_eq!(
        redelivered,
        ["task 1."],
        "only the killed worker's task comes back"
    );
    assert!(!doomed.stdout_lines().iter().any(|l| l.contains("Done")));
    assert_eq!(queue_length(&url, &queue), Some(0), "nothing left over");
}
// ANCHOR_END: kill_test

/// Ctrl-C in the middle of a task, as the chapter shows: the worker says
/// goodbye and exits with success, and the unfinished task is back in the
/// queue for the next worker.
#[test]
fn ctrl_c_mid_task_stops_cleanly_and_gives_the_task_back() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let queue = unique_name("task_queue");
    let mut worker = worker(&url, &queue, 60_000, 1);
    publish(
        &url,
        &queue,
        &["long task.".to_string()],
        Durability::Durable,
    );
    worker.expect_line("Received");
    worker.interrupt();
    let finished = worker.finish();
    assert!(finished.success(), "{finished:?}");
    assert!(
        finished.stdout.ends_with(" [*] Ctrl-C: bye\n"),
        "{}",
        finished.stdout
    );
    assert_eq!(
        queue_length(&url, &queue),
        Some(1),
        "the task is back, ready"
    );
}

/// The notes' durability promise, side by side: after a broker restart, the
/// durable queue is back with its persistent message; the transient queue
/// and its message are gone.
#[test]
fn durable_and_persistent_survive_a_restart_transient_does_not() {
    let mut rabbit = RabbitMq::start().expect("a private broker to restart");
    let url = rabbit.url();
    let sent = run(
        NEW_TASK,
        ["--url", &url, "--queue", "kept", "--confirm", "survivor."],
    );
    assert!(sent.success(), "{sent:?}");
    let sent = run(
        NEW_TASK,
        [
            "--url",
            &url,
            "--queue",
            "lost",
            "--durability",
            "transient",
            "--confirm",
            "goner.",
        ],
    );
    assert!(sent.success(), "{sent:?}");
    assert_eq!(queue_length(&url, "kept"), Some(1));
    assert_eq!(queue_length(&url, "lost"), Some(1));

    rabbit.restart().expect("restart the broker");

    assert_eq!(
        queue_length(&url, "kept"),
        Some(1),
        "the durable queue kept its message"
    );
    assert_eq!(
        queue_length(&url, "lost"),
        None,
        "the transient queue is gone"
    );
    let mut worker = worker(&url, "kept", 1, 1);
    assert_eq!(
        worker.expect_line("Received"),
        " [x] Received \"survivor.\""
    );
    worker.expect_line("Done");
}

/// Fair dispatch. Without a prefetch limit the broker deals tasks out in
/// turn, so a slow worker gets as many as a fast one. With prefetch 1 a
/// worker gets a new task only when it has acked the last, so the fast one
/// does most of the work.
#[test]
fn prefetch_one_gives_most_work_to_the_fast_worker() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    const TASKS: usize = 12;
    let tasks: Vec<String> = (1..=TASKS).map(|n| format!("task {n}.")).collect();

    let (slow, fast) = share_tasks(&url, &tasks, 0);
    assert_eq!(
        (slow, fast),
        (TASKS / 2, TASKS / 2),
        "no limit: strict turns"
    );

    let (slow, fast) = share_tasks(&url, &tasks, 1);
    assert_eq!(slow + fast, TASKS);
    assert!(
        fast > 2 * slow,
        "prefetch 1: slow did {slow}, fast did {fast}"
    );
}

/// Runs a slow and a fast worker with `prefetch` on a fresh queue until they
/// have done all `tasks`; returns how many each did.
fn share_tasks(url: &str, tasks: &[String], prefetch: u16) -> (usize, usize) {
    let queue = unique_name("task_queue");
    let mut slow = worker(url, &queue, 200, prefetch);
    let mut fast = worker(url, &queue, 1, prefetch);
    publish(url, &queue, tasks, Durability::Durable);

    let mut done = [0, 0];
    let deadline = Instant::now() + PATIENCE;
    while done[0] + done[1] < tasks.len() {
        assert!(Instant::now() < deadline, "the workers did only {done:?}");
        for (count, worker) in done.iter_mut().zip([&mut slow, &mut fast]) {
            if let Some(line) = worker.next_line(Duration::from_millis(20)) {
                *count += usize::from(line.contains("Done"));
            }
        }
    }
    (done[0], done[1])
}

/// The notes' warning: a queue cannot be declared again with other settings.
/// The broker says PRECONDITION_FAILED; the program explains it and exits.
#[test]
fn redeclaring_a_queue_with_other_settings_is_explained() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("task_queue");
    let durable = run(
        NEW_TASK,
        ["--url", &rabbit.url(), "--queue", &queue, "first"],
    );
    assert!(durable.success(), "{durable:?}");

    for program in [NEW_TASK, WORKER] {
        let refused = run(
            program,
            [
                "--url",
                &rabbit.url(),
                "--queue",
                &queue,
                "--durability",
                "transient",
            ],
        );
        assert!(!refused.success());
        let stderr = &refused.stderr;
        assert!(stderr.starts_with("error: declaring the queue"), "{stderr}");
        assert!(stderr.contains("PRECONDITION_FAILED"), "{stderr}");
        assert!(stderr.contains("inequivalent arg 'durable'"), "{stderr}");
        assert!(stderr.contains("delete_queue"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(queue_length(&rabbit.url(), &queue), Some(1), "nothing lost");
}

#[test]
fn confirm_means_the_broker_has_the_task() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("task_queue");
    let sent = run(
        NEW_TASK,
        [
            "--url",
            &rabbit.url(),
            "--queue",
            &queue,
            "--confirm",
            "a",
            "b.",
        ],
    );
    assert!(sent.success(), "{sent:?}");
    assert_eq!(
        sent.stdout,
        " [x] Sent \"a b.\" (confirmed: the broker has it)\n"
    );
    assert_eq!(queue_length(&rabbit.url(), &queue), Some(1));
}

/// Confirms tell a stored task from a refused one. A policy makes the queue
/// refuse every message (at most 0 messages, and `reject-publish` when
/// full): with `--confirm` the broker's nack is reported and the program
/// fails; without it, the program cannot know and says "Sent". Neither
/// task is in the queue.
#[test]
fn confirm_reports_a_task_the_broker_refused() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("full_queue");
    // A policy, not queue arguments: new-task declares the queue without
    // arguments, and a redeclare with other arguments would be refused.
    rabbit
        .ctl(&[
            "set_policy",
            &queue,
            &format!("^{queue}$"),
            r#"{"max-length":0,"overflow":"reject-publish"}"#,
            "--apply-to",
            "queues",
        ])
        .unwrap();
    let url = rabbit.url();
    let confirmed = run(
        NEW_TASK,
        ["--url", &url, "--queue", &queue, "--confirm", "refused."],
    );
    assert!(!confirmed.success(), "{confirmed:?}");
    assert!(
        confirmed
            .stderr
            .contains("the broker refused the message (nack)"),
        "{confirmed:?}"
    );
    assert!(!confirmed.stdout.contains("Sent"), "{confirmed:?}");

    let unconfirmed = run(NEW_TASK, ["--url", &url, "--queue", &queue, "lost."]);
    assert!(unconfirmed.success(), "{unconfirmed:?}");
    assert_eq!(unconfirmed.stdout, " [x] Sent \"lost.\"\n");

    assert_eq!(
        queue_length(&url, &queue),
        Some(0),
        "the broker kept nothing"
    );
    rabbit.ctl(&["clear_policy", &queue]).unwrap();
}
