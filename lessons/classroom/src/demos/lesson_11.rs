//! `just demo lesson-11`: two workers share six tasks; one is killed with
//! SIGKILL in the middle of a task, and the other finishes that task,
//! which the broker redelivers because it was never acked.
//!
//! The tasks are sent by a shell loop, as a student would type it, while
//! the demo watches both workers' lines as they come. The moment worker-1
//! takes its second task, it is killed: the task has just started (the
//! shortest a second task can be is two dots, 400 ms), so it is surely
//! unfinished.

use std::collections::HashMap;
use std::process::Command;

use support::testkit::ask_queue;

use super::rabbit::{Cursor, PATIENCE, Scratch, argv, start, stop};
use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 11,
    about: "two workers, six tasks, one worker killed mid-task: the other finishes its task",
    needs: Needs {
        rabbitmq: true,
        redis: false,
    },
    proves: &[
        ("new-task", " [x] Sent \"Sixth task......\""),
        ("worker-1", " [x] Done"),
        (
            "worker-2",
            "(redelivered: an earlier worker did not ack it)",
        ),
        ("demo", "the task worker-1 was killed holding"),
        ("demo", "all six tasks done, each once"),
    ],
    run,
};

/// The tasks: each `.` is one unit of work, as in the chapter.
const TASKS: [&str; 6] = [
    "First task.",
    "Second task..",
    "Third task...",
    "Fourth task....",
    "Fifth task.....",
    "Sixth task......",
];

/// A unit of work: 200 ms instead of the chapter's second, so the demo
/// takes seconds, not half a minute.
const MS_PER_DOT: &str = "200";

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(11, &["new-task", "worker"])?;
    let url = brokers.amqp_url.as_str();
    let mut scratch = Scratch::new(url);
    let queue = scratch.queue("task_queue");
    let worker = (11, "worker");

    stage.narrate(&format!(
        "two workers consume the durable queue {queue} (the lesson's `task_queue`) with \
         prefetch 1 and manual acks; a dot is {MS_PER_DOT} ms of work here (--ms-per-dot)"
    ));
    let worker_args = argv(["--url", url, "--queue", &queue, "--ms-per-dot", MS_PER_DOT]);
    start(
        stage,
        "worker-1",
        worker,
        &worker_args,
        "Waiting for messages",
    )?;
    start(
        stage,
        "worker-2",
        worker,
        &worker_args,
        "Waiting for messages",
    )?;

    stage.narrate(
        "six tasks, sent one after another, as by \
         `for task in ...; do just run lesson-11 new-task \"$task\"; done`",
    );
    let mut cursor = Cursor::default();
    stage.spawn_command("new-task", send_loop(stage, url, &queue)?)?;

    let outcome = follow_the_workers(stage, &mut cursor)?;
    stage.wait_for("new-task", "Sixth task", PATIENCE)?;
    let sent = stage.wait_exit("new-task", PATIENCE)?;
    if !sent.success() {
        return Err(format!("the new-task loop failed ({sent})"));
    }

    for who in ["worker-1", "worker-2"] {
        let did: Vec<&str> = outcome
            .finished
            .iter()
            .filter(|(_, by)| by == who)
            .map(|(task, _)| task.as_str())
            .collect();
        stage.narrate(&format!("{who} did: {}", did.join(", ")));
    }
    let ready = ask_queue(url, &queue)
        .map_err(|code| format!("the broker would not say how long {queue} is ({code})"))?;
    if ready != 0 {
        return Err(format!("{ready} tasks are still waiting in {queue}"));
    }
    stage.narrate(&format!(
        "all six tasks done, each once, and {queue} is empty: nothing was lost with worker-1"
    ));
    stop(stage, "worker-2")?;
    Ok(())
}

/// A shell loop that runs `new-task` once per task.
fn send_loop(stage: &Stage, url: &str, queue: &str) -> Result<Command> {
    let new_task = stage.binary(11, "new-task")?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"bin=$1 url=$2 queue=$3; shift 3; for task in "$@"; do "$bin" --url "$url" --queue "$queue" "$task" || exit 1; done"#)
        .arg("send-loop")
        .arg(new_task)
        .args([url, queue])
        .args(TASKS);
    Ok(command)
}

/// What the workers did.
struct Outcome {
    /// Each finished task and who finished it, in order.
    finished: Vec<(String, String)>,
}

/// Reads both workers' lines as they come, kills worker-1 as it starts its
/// second task, and follows until all six tasks are done. Fails if the
/// killed worker's task is not finished by worker-2, marked redelivered.
fn follow_the_workers(stage: &mut Stage, cursor: &mut Cursor) -> Result<Outcome> {
    // What each worker is working on: with prefetch 1, one task at a time,
    // from its `Received` line to its `Done` line.
    let mut holding: HashMap<String, String> = HashMap::new();
    let mut taken_by_worker_1 = 0;
    let mut killed_holding: Option<String> = None;
    let mut finished: Vec<(String, String)> = Vec::new();

    while finished.len() < TASKS.len() {
        let line = cursor.next(stage, PATIENCE).map_err(|_| {
            format!(
                "the workers stopped short: {} of {} tasks done",
                finished.len(),
                TASKS.len()
            )
        })?;
        let who = line.actor.as_str();
        if who != "worker-1" && who != "worker-2" {
            continue;
        }
        if let Some(task) = received_task(&line.text) {
            if who == "worker-1" {
                taken_by_worker_1 += 1;
                if taken_by_worker_1 == 2 {
                    stage.kill("worker-1")?;
                    stage.narrate(&format!(
                        "kill -9 worker-1 in the middle of {task:?}: it dies without acking it"
                    ));
                    killed_holding = Some(task);
                    continue;
                }
            }
            if who == "worker-2" && killed_holding.as_ref() == Some(&task) {
                if !line.text.contains("redelivered") {
                    return Err(format!(
                        "worker-2 got {task:?} without the redelivered mark"
                    ));
                }
                stage.narrate(&format!(
                    "the broker gives {task:?} to worker-2, marked redelivered"
                ));
            }
            holding.insert(who.to_string(), task);
        } else if line.text.contains("Done") {
            let Some(task) = holding.remove(who) else {
                return Err(format!(
                    "{who} said Done without a task: did worker-1 finish before the kill landed?"
                ));
            };
            if killed_holding.as_ref() == Some(&task) {
                stage.narrate(&format!(
                    "worker-2 finished {task:?} (its Done above): \
                     the task worker-1 was killed holding"
                ));
            }
            finished.push((task, who.to_string()));
        }
    }

    let Some(killed) = killed_holding else {
        return Err("worker-1 took fewer than two tasks, so it was never killed".into());
    };
    if !finished.contains(&(killed.clone(), "worker-2".to_string())) {
        return Err(format!("worker-2 never finished {killed:?}"));
    }
    let mut done: Vec<&str> = finished.iter().map(|(task, _)| task.as_str()).collect();
    done.sort_unstable();
    let mut all = TASKS.to_vec();
    all.sort_unstable();
    if done != all {
        return Err(format!(
            "the tasks done were {done:?}, not each of {all:?} once"
        ));
    }
    Ok(Outcome { finished })
}

/// The task in a worker's ` [x] Received "..."` line.
fn received_task(line: &str) -> Option<String> {
    let rest = line.strip_prefix(" [x] Received \"")?;
    Some(rest[..rest.find('"')?].to_string())
}
