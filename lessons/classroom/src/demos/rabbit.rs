//! What the RabbitMQ demos (lessons 10 to 15) share: names of their own,
//! removed afterwards; one-shot programs run to their end; and a cursor
//! that follows the stage's lines across programs, in the order they came.
//!
//! A demo may run against the student's own broker (the one `just up`
//! starts), where the student's programs may be running too. So a demo
//! never uses the lesson's usual names (`hello`, `task_queue`, `logs`, ...)
//! as they are: it takes names of its own, such as `task_queue.demo-4242-0`,
//! which no student program listens on, and deletes those queues and
//! exchanges when it ends, so that nothing of it is left on the broker.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use support::amqp::Session;
use support::testkit::unique_name;

use crate::Result;
use crate::stage::{Line, Stage};

/// How long a demo waits for a program's line. Far longer than anything
/// takes on an idle machine: on a loaded two-core CI machine debug builds
/// are slow, and a demo that fails there teaches nothing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How often the cursor looks for new lines.
const POLL: Duration = Duration::from_millis(10);

/// The queues and exchanges a demo made, deleted when it is dropped.
pub struct Scratch {
    /// Where they live.
    url: String,
    /// Queues to delete (exclusive ones go by themselves and are not here).
    queues: Vec<String>,
    /// Exchanges to delete.
    exchanges: Vec<String>,
}

impl Scratch {
    pub fn new(url: &str) -> Self {
        Scratch {
            url: url.to_string(),
            queues: Vec::new(),
            exchanges: Vec::new(),
        }
    }

    /// A queue name of the demo's own, after the lesson's `usual` one.
    pub fn queue(&mut self, usual: &str) -> String {
        let name = unique_name(&format!("{usual}.demo"));
        self.queues.push(name.clone());
        name
    }

    /// An exchange name of the demo's own, after the lesson's `usual` one.
    pub fn exchange(&mut self, usual: &str) -> String {
        let name = unique_name(&format!("{usual}.demo"));
        self.exchanges.push(name.clone());
        name
    }

    /// Deletes every queue and exchange named so far. Best effort: a name
    /// no program got to declare is simply not found.
    fn remove(&mut self) {
        let (queues, exchanges) = (
            std::mem::take(&mut self.queues),
            std::mem::take(&mut self.exchanges),
        );
        if queues.is_empty() && exchanges.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let Ok(session) = Session::open(&self.url).await else {
                return;
            };
            // Deleting what does not exist is no error to RabbitMQ.
            for queue in queues {
                let _ = session
                    .channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
            for exchange in exchanges {
                let _ = session
                    .channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await;
            }
            let _ = session.close().await;
        });
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Command-line arguments from string slices.
pub fn argv<const N: usize>(args: [&str; N]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// Runs a program that ends by itself (a `send`, an `emit-log`) under the
/// name `actor`, waits for its line containing `expect` and for its exit,
/// and returns that line. Fails if it exits with an error.
pub fn run_once(
    stage: &mut Stage,
    actor: &str,
    (lesson, program): (u8, &str),
    args: &[String],
    expect: &str,
) -> Result<String> {
    let (line, status) = run_to_end(stage, actor, (lesson, program), args, expect)?;
    if status.success() {
        Ok(line)
    } else {
        Err(format!("{actor} failed ({status})"))
    }
}

/// Like [`run_once`], but returns the exit status instead of judging it,
/// for programs that are expected to fail.
pub fn run_to_end(
    stage: &mut Stage,
    actor: &str,
    (lesson, program): (u8, &str),
    args: &[String],
    expect: &str,
) -> Result<(String, ExitStatus)> {
    stage.spawn(actor, lesson, program, args)?;
    let line = stage.wait_for(actor, expect, PATIENCE)?;
    let status = stage.wait_exit(actor, PATIENCE)?;
    Ok((line, status))
}

/// Starts a long-running program and waits until it prints its "ready"
/// line (`expect`), so that whatever comes next finds it listening.
pub fn start(
    stage: &mut Stage,
    actor: &str,
    (lesson, program): (u8, &str),
    args: &[String],
    expect: &str,
) -> Result<String> {
    stage.spawn(actor, lesson, program, args)?;
    stage.wait_for(actor, expect, PATIENCE)
}

/// Stops a long-running program with Ctrl-C (SIGINT) and waits for its
/// goodbye, so that its last line is printed before the demo goes on.
pub fn stop(stage: &mut Stage, actor: &str) -> Result<()> {
    stage.stop(actor)?;
    stage.wait_for(actor, "Ctrl-C: bye", PATIENCE).map(drop)
}

/// Follows the stage's lines, from every program, in the order they came.
///
/// [`Stage::wait_for`] waits for one program's line; a demo that must
/// react to whichever of two workers speaks first reads the common
/// transcript instead, from where it last stopped.
#[derive(Default)]
pub struct Cursor {
    /// The index of the next line to read in the transcript.
    next: usize,
}

impl Cursor {
    /// The next line printed by any program, waiting up to `timeout`.
    pub fn next(&mut self, stage: &Stage, timeout: Duration) -> Result<Line> {
        self.wait(stage, "line", timeout, |_| true)
    }

    /// The next line for which `wanted` is true (`what` names it in the
    /// error), waiting up to `timeout`. Lines before it are passed over.
    pub fn wait(
        &mut self,
        stage: &Stage,
        what: &str,
        timeout: Duration,
        mut wanted: impl FnMut(&Line) -> bool,
    ) -> Result<Line> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = stage.transcript();
            while let Some(line) = lines.get(self.next) {
                self.next += 1;
                if wanted(line) {
                    return Ok(line.clone());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("no {what} within {} s", timeout.as_secs()));
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The lines a subscriber printed for the messages it received (` [x] ...`),
/// without the marker.
pub fn received(stage: &Stage, actor: &str) -> Vec<String> {
    stage
        .lines_of(actor)
        .iter()
        .filter_map(|line| line.strip_prefix(" [x] ").map(str::to_string))
        .collect()
}
