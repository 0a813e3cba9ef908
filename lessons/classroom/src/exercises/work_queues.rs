//! Exercise 11, work queues: durable, persistent, prefetch 1, ack after
//! the work.
//!
//! The checks run the student's `new-task` and `worker` against throwaway
//! RabbitMQ nodes (never the student's own broker), read what the workers
//! print, and ask the broker how many tasks wait in a queue. One node is
//! shared by the checks, each with a queue of its own; the durability check
//! starts a private node, because it restarts it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::testkit::{Program, RabbitMq, ask_queue, shared_rabbitmq, unique_name};

use crate::Result;
use crate::check::{Exercise, Requirement, Subject, describe_failure};

pub const EXERCISE: Exercise = Exercise {
    name: "work-queues",
    lesson: 11,
    starter: "work-queues",
    programs: &["new-task", "worker"],
    probe: None,
    requirements: &[
        Requirement {
            title: "new-task puts a task in the queue, and a worker does it",
            hint: "write the four todo!()s in src/lib.rs: new-task calls declare_task_queue and \
                   publish_task; worker calls declare_task_queue, consume_tasks and work_on",
            check: a_worker_does_a_task,
        },
        Requirement {
            title: "two workers take the tasks in turn (round robin)",
            hint: "work_on must ack each task when it is done: with prefetch 1, a worker that \
                   never acks is never given a second task. consume_tasks must use manual acks: \
                   acking a task the broker acked itself is an error (unknown delivery tag)",
            check: two_workers_take_turns,
        },
        Requirement {
            title: "a worker killed in the middle of a task loses nothing: another worker does it",
            hint: "consume_tasks must consume with manual acks (no_ack: false), and work_on must \
                   ack only after the work: a task acked early is forgotten by the broker",
            check: a_killed_workers_task_is_redone,
        },
        Requirement {
            title: "the queue is durable and tasks persistent: a waiting task survives a broker restart",
            hint: "declare_task_queue: QueueDeclareOptions { durable: true, .. } when durability \
                   is Durable; publish_task: BasicProperties::default().with_delivery_mode(2) then",
            check: a_task_survives_a_restart,
        },
        Requirement {
            title: "prefetch 1: a slow worker holds one task at a time, and a fast one does the rest",
            hint: "consume_tasks: call channel.basic_qos(prefetch, BasicQosOptions::default()) before \
                   consuming (without it the broker pushes every waiting task to the first \
                   worker); work_on: ack after the work, not before",
            check: a_slow_worker_holds_one_task,
        },
    ],
};

/// How long a check waits for a line or a program. Generous: debug builds
/// on a loaded two-core machine are slow. Only a failing check waits it out.
const PATIENCE: Duration = Duration::from_secs(10);

/// A unit of work for a worker that should never finish its task while the
/// check runs.
const FOREVER_PER_DOT: &str = "600000";

/// A unit of work for a worker that should be as fast as it can.
const FAST_PER_DOT: &str = "1";

// ---------------------------------------------------------------------------
// The requirements
// ---------------------------------------------------------------------------

fn a_worker_does_a_task(subject: &Subject) -> Result<()> {
    let url = shared_broker()?.url();
    let queue = unique_name("task_queue");
    let mut worker = Worker::start(subject, "the worker", &url, &queue, FAST_PER_DOT)?;
    new_task(subject, &url, &queue, "first task.")?;
    worker.does("first task.")
}

fn two_workers_take_turns(subject: &Subject) -> Result<()> {
    let url = shared_broker()?.url();
    let queue = unique_name("task_queue");
    let mut workers = [
        Worker::start(subject, "worker A", &url, &queue, FAST_PER_DOT)?,
        Worker::start(subject, "worker B", &url, &queue, FAST_PER_DOT)?,
    ];
    // One task at a time, each done before the next is sent: both workers
    // are idle each time, and the broker deals to them in turn.
    let mut order = Vec::new();
    for n in 1..=4 {
        let task = format!("task {n}.");
        new_task(subject, &url, &queue, &task)?;
        let who = which_worker_takes(&mut workers, &task)?;
        workers[who].finishes(&task)?;
        order.push(workers[who].name);
    }
    if order.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(format!(
            "four tasks went to {}: expected the two workers in turn",
            order.join(", ")
        ));
    }
    Ok(())
}

fn a_killed_workers_task_is_redone(subject: &Subject) -> Result<()> {
    let url = shared_broker()?.url();
    let queue = unique_name("task_queue");
    let task = "a long task.";
    let mut doomed = Worker::start(subject, "worker A", &url, &queue, FOREVER_PER_DOT)?;
    new_task(subject, &url, &queue, task)?;
    doomed.receives(task)?;
    doomed.kill();

    // The broker notices the dead connection and puts the unacked task
    // back; with automatic acks, or an ack before the work, it is gone.
    wait_for_length(&url, &queue, 1).map_err(|waiting| {
        format!(
            "worker A was killed (SIGKILL) in the middle of {task:?}, and the queue then held \
             {waiting} tasks, not 1: the broker had already forgotten the task"
        )
    })?;
    let mut survivor = Worker::start(subject, "worker B", &url, &queue, FAST_PER_DOT)?;
    survivor.does(task)
}

fn a_task_survives_a_restart(subject: &Subject) -> Result<()> {
    // First on the shared node, so that programs that do not work yet fail
    // here, before a private node is started for nothing.
    let shared = shared_broker()?.url();
    new_task(subject, &shared, &unique_name("task_queue"), "warm-up")?;

    let mut rabbit = RabbitMq::start()
        .map_err(|e| format!("could not start a private RabbitMQ to restart: {e}"))?;
    let url = rabbit.url();
    let queue = "task_queue";
    let task = "survivor.";
    new_task(subject, &url, queue, task)?;
    match length(&url, queue)? {
        Some(1) => {}
        other => {
            return Err(format!(
                "after new-task, the queue held {other:?} tasks, not 1"
            ));
        }
    }
    rabbit
        .restart()
        .map_err(|e| format!("could not restart the private RabbitMQ: {e}"))?;
    match length(&url, queue)? {
        Some(1) => {}
        None => {
            return Err(
                "after a broker restart the queue is gone: it was not declared durable".into(),
            );
        }
        Some(n) => {
            return Err(format!(
                "after a broker restart the queue came back with {n} tasks, not 1: \
                 the task was not published persistent"
            ));
        }
    }
    let mut worker = Worker::start(subject, "the worker", &url, queue, FAST_PER_DOT)?;
    worker.does(task)
}

fn a_slow_worker_holds_one_task(subject: &Subject) -> Result<()> {
    let url = shared_broker()?.url();
    let queue = unique_name("task_queue");
    const TASKS: u32 = 6;
    let tasks: Vec<String> = (1..=TASKS).map(|n| format!("task {n}.")).collect();
    for task in &tasks {
        new_task(subject, &url, &queue, task)?;
    }
    // The slow worker comes first and would take a minute per task.
    let mut slow = Worker::start(subject, "the slow worker", &url, &queue, FOREVER_PER_DOT)?;
    slow.receives(&tasks[0])?;
    // Prefetch 1: the broker has handed it one task; the rest still wait.
    let waiting = length(&url, &queue)?.unwrap_or(0);
    if waiting != TASKS - 1 {
        return Err(format!(
            "while the slow worker works on its first task, {} tasks are held by it and \
             {waiting} wait in the queue: with prefetch 1, and the ack after the work, it \
             would hold 1",
            TASKS - waiting
        ));
    }
    let mut fast = Worker::start(subject, "the fast worker", &url, &queue, FAST_PER_DOT)?;
    for task in &tasks[1..] {
        fast.does(task)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Running the student's programs
// ---------------------------------------------------------------------------

/// The node the checks share, started on first use.
fn shared_broker() -> Result<&'static RabbitMq> {
    // The kit panics when it cannot start one; a check says so instead.
    std::panic::catch_unwind(shared_rabbitmq).map_err(|_| {
        "could not start a throwaway RabbitMQ: is rabbitmq-server installed? \
         (`just doctor` says what to install)"
            .to_string()
    })
}

/// Runs `new-task` once, to its end.
fn new_task(subject: &Subject, url: &str, queue: &str, task: &str) -> Result<()> {
    let output = subject.run(
        "new-task",
        &["--url", url, "--queue", queue, task],
        PATIENCE,
    )?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("new-task {task:?}: {}", describe_failure(&output)))
    }
}

/// A `worker` running in the background, read line by line.
struct Worker {
    /// What the failure messages call it: "worker A".
    name: &'static str,
    program: Program,
}

impl Worker {
    /// Starts a worker and waits until it says it is consuming.
    fn start(
        subject: &Subject,
        name: &'static str,
        url: &str,
        queue: &str,
        ms_per_dot: &str,
    ) -> Result<Worker> {
        let path: &PathBuf = subject.programs.get("worker").ok_or("no program worker")?;
        let program = Program::start(
            path,
            ["--url", url, "--queue", queue, "--ms-per-dot", ms_per_dot],
        );
        let mut worker = Worker { name, program };
        worker.expect("Waiting for messages")?;
        Ok(worker)
    }

    /// Waits for the worker's line about receiving `task`.
    fn receives(&mut self, task: &str) -> Result<()> {
        self.expect(&format!("{task:?}")).map(drop)
    }

    /// Waits for the `Done` line after the task the worker received.
    fn finishes(&mut self, task: &str) -> Result<()> {
        self.expect("Done")
            .map(drop)
            .map_err(|e| format!("{e}\n(it had received {task:?})"))
    }

    /// Waits for the worker to receive `task` and finish it.
    fn does(&mut self, task: &str) -> Result<()> {
        self.receives(task)?;
        self.finishes(task)
    }

    /// Waits for a line containing `needle`; fails with what the worker
    /// printed if it exits or stays silent.
    fn expect(&mut self, needle: &str) -> Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.program.next_line(left) {
                Some(line) if line.contains(needle) => return Ok(line),
                Some(_) => continue,
                None => break,
            }
        }
        let why = if Instant::now() < deadline {
            format!("{} exited without printing {needle:?}", self.name)
        } else {
            format!(
                "{} printed no line with {needle:?} within {} s",
                self.name,
                PATIENCE.as_secs()
            )
        };
        Err(format!("{why}\n{}", self.last_words()))
    }

    /// What the worker said, for a failure message: its panic if it
    /// panicked, else the end of what it printed.
    fn last_words(&self) -> String {
        // Standard error is read by a thread of its own: give it a moment
        // to catch up with a program that has just exited.
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut stderr = self.program.stderr();
        while stderr.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            stderr = self.program.stderr();
        }
        let mut lines = stderr.lines();
        if let Some(at) = lines.by_ref().find(|line| line.contains("panicked at")) {
            let message = lines.next().unwrap_or("").trim();
            return format!("it panicked: {message}\n  ({})", at.trim());
        }
        let printed = self.program.stdout_lines();
        let tail = &printed[printed.len().saturating_sub(3)..];
        // A lesson program's error is `error: what` and then a `because:`
        // line per cause; the advice after them is not needed here.
        let error: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("error:") || line.trim_start().starts_with("because:"))
            .take(3)
            .collect();
        let mut words = format!("its last lines: {}", tail.join(" / "));
        if !error.is_empty() {
            words.push_str(&format!("\n{}", error.join("\n")));
        }
        words
    }

    /// Kills it with SIGKILL: no chance to close its connection or ack.
    fn kill(&mut self) {
        self.program.kill();
    }
}

/// Waits until one of the workers receives `task`; returns which. Lines
/// are read from both in turn, a short wait each, so that neither is
/// missed.
fn which_worker_takes(workers: &mut [Worker], task: &str) -> Result<usize> {
    let needle = format!("{task:?}");
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        for (index, worker) in workers.iter_mut().enumerate() {
            if let Some(line) = worker.program.next_line(Duration::from_millis(20))
                && line.contains(&needle)
            {
                return Ok(index);
            }
        }
    }
    let mut failure = format!(
        "no worker received {task:?} within {} s",
        PATIENCE.as_secs()
    );
    for worker in workers {
        failure.push_str(&format!("\n{}: {}", worker.name, worker.last_words()));
    }
    Err(failure)
}

/// How many tasks wait in `queue` (ready, not handed out), or `None` if
/// the queue does not exist.
fn length(url: &str, queue: &str) -> Result<Option<u32>> {
    match ask_queue(url, queue) {
        Ok(length) => Ok(Some(length)),
        Err(404) => Ok(None),
        Err(code) => Err(format!(
            "the broker refused to say how many tasks wait in {queue} (reply code {code})"
        )),
    }
}

/// Waits until `queue` holds `wanted` tasks; on timeout, returns how many
/// it held.
fn wait_for_length(url: &str, queue: &str, wanted: u32) -> std::result::Result<(), u32> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = length(url, queue).ok().flatten().unwrap_or(0);
        if now == wanted {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(now);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
