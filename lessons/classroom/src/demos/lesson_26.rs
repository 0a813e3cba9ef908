//! Lesson 26's demo: three agents, one task sent to four host names, and its
//! results read back by another process.
//!
//! `just demo lesson-26` plays what the chapter does in four terminals:
//!
//! ```text
//! agent --host web-1 / web-2 / db-1          (no agent for db-9)
//! rpc run "df -h" --hosts web-1 web-2 db-1 db-9   → task id: N, db-9: no agent
//! rpc check_task N --wait                          → 3 done, 1 no agent
//! ```
//!
//! Everything happens in a namespace of the demo's own (`demo26-PID-0`), so
//! agents a student left running in the default namespace `rpc` see none of
//! it. On your own brokers the task and its reply queue stay behind under
//! that prefix, and expire after a day like any other task's. Its programs
//! share a key made for this run (`RPC_KEY`): requests and replies are
//! signed with it.

use std::time::Duration;

use crate::Result;
use crate::demos::{Brokers, Demo, Needs};
use crate::stage::Stage;

/// The demo's entry in [`crate::demos::DEMOS`].
pub const DEMO: Demo = Demo {
    lesson: LESSON,
    about: "three agents; run \"df -h\" on them and on db-9, which has none; check_task",
    needs: Needs {
        rabbitmq: true,
        redis: true,
    },
    proves: &[
        // Every agent received the command...
        ("web-1", "running df -h"),
        ("web-2", "running df -h"),
        ("db-1", "running df -h"),
        // ...`run` answered with a task id at once, and knew db-9 has no agent...
        ("rpc", "task id: "),
        ("rpc", "db-9: no agent"),
        // ...and another process read three results and the missing agent from Redis.
        ("check", "3 done, 1 no agent"),
        ("check", "agent --host db-9"),
    ],
    run,
};

/// The lesson's number in the course map.
const LESSON: u8 = 26;

/// The hosts that get an agent. `db-9` is named in the task but has none.
const AGENTS: [&str; 3] = ["web-1", "web-2", "db-1"];

/// The longest any one step may take; steps normally take milliseconds.
const STEP: Duration = Duration::from_secs(20);

/// The script: agents, a run, a check_task, then Ctrl-C to the agents.
pub fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(LESSON, &["agent", "rpc"])?;
    let namespace = support::testkit::unique_name("demo26");
    let amqp = ["--amqp-url", brokers.amqp_url.as_str()];
    let redis = ["--redis-url", brokers.redis_url.as_str()];
    let ns = ["--namespace", namespace.as_str()];
    let key = crate::exercises::rpc_commands::random_key()?;
    // Every program of the demo signs with the demo's own key.
    let spawn = |stage: &mut Stage, actor: &str, program: &str, args: &[String]| {
        let mut command = std::process::Command::new(stage.binary(LESSON, program)?);
        command
            .args(args)
            .env("RPC_KEY", &key)
            .env_remove("RPC_KEY_FILE");
        stage.spawn_command(actor, command)
    };

    stage.narrate(&format!(
        "three agents start, each named by --host (namespace {namespace}: \
         your own agents see none of this)"
    ));
    for host in AGENTS {
        let args = words(&[&amqp, &ns, &["--host", host]]);
        spawn(stage, host, "agent", &args)?;
    }
    for host in AGENTS {
        stage.wait_for(host, "ready", STEP)?;
    }

    stage.narrate(
        "rpc run \"df -h\" --hosts web-1 web-2 db-1 db-9: the task id comes back at once, \
         and db-9, which has no agent, is known at once too",
    );
    let run = words(&[
        &amqp,
        &redis,
        &ns,
        &["run", "df -h", "--hosts", "web-1", "web-2", "db-1", "db-9"],
    ]);
    spawn(stage, "rpc", "rpc", &run)?;
    let line = stage.wait_for("rpc", "task id:", STEP)?;
    let id = line
        .rsplit(' ')
        .next()
        .filter(|id| id.parse::<u64>().is_ok())
        .ok_or_else(|| format!("rpc printed `{line}`, not `task id: N`"))?
        .to_string();
    stage.wait_for("rpc", "db-9: no agent", STEP)?;
    expect_success(stage, "rpc")?;
    for host in AGENTS {
        stage.wait_for(host, "running df -h", STEP)?;
    }

    stage.narrate(&format!(
        "another process, as from another terminal: rpc check_task {id} --wait \
         stores the answers waiting in RabbitMQ into Redis, and shows them once every host has one"
    ));
    let check = words(&[&amqp, &redis, &ns, &["check_task", &id, "--wait"]]);
    spawn(stage, "check", "rpc", &check)?;
    stage.wait_for("check", "3 done, 1 no agent", STEP)?;
    // db-9 comes last: once its line is here, the whole report is.
    stage.wait_for("check", "agent --host db-9", STEP)?;
    expect_success(stage, "check")?;

    stage.narrate("Ctrl-C to each agent: its queue goes with its connection");
    for host in AGENTS {
        stage.stop(host)?;
        stage.wait_for(host, "stopping", STEP)?;
    }
    Ok(())
}

/// Joins groups of words into one argument list.
pub(super) fn words(groups: &[&[&str]]) -> Vec<String> {
    groups
        .iter()
        .flat_map(|group| group.iter().map(|word| word.to_string()))
        .collect()
}

/// Waits for a one-shot `rpc` to end, and fails the demo if it failed.
pub(super) fn expect_success(stage: &mut Stage, actor: &str) -> Result<()> {
    let status = stage.wait_exit(actor, STEP)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{actor} failed ({status}): see its lines above"))
    }
}
