//! Lesson 03: gevent's `spawn` and `joinall`, with `may` coroutines.
//!
//! Greenlets (lesson 02) switch only where the code says `switch`. gevent
//! adds a *scheduler*: `gevent.spawn(f)` hands a function to it, and
//! whenever a greenlet would wait (`gevent.sleep`, a socket read), the
//! scheduler switches to another greenlet that is ready. `gevent.joinall`
//! waits until every spawned greenlet has finished.
//!
//! The Rust crate [`may`] is built the same way: stackful coroutines
//! (`may::go!` is `gevent.spawn`), a scheduler that runs them on a few
//! worker threads (here one, as gevent has one), and waits (`sleep`, socket
//! IO, channels) that park the coroutine instead of the thread.
//!
//! Two programs:
//!
//! - `just run lesson-03 spawn`: three coroutines that sleep and yield; the
//!   order of their lines shows every switch.
//! - `just run lesson-03 sync-vs-async`: ten tasks that each wait 0.5 s,
//!   first one after another, then all at once, timed.

use std::any::Any;
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use may::coroutine::JoinHandle;
use support::timeline::{Activity, Timeline, format_duration};

/// The lesson's error type: anything that can go wrong, with its message.
pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

// ANCHOR: configure
/// Sets up may's scheduler. Must run before the first coroutine is spawned:
/// the scheduler starts then, and later settings are ignored.
///
/// - `workers`: how many OS threads run coroutines. gevent has exactly one,
///   so the lessons default to 1.
/// - Worker pinning is switched off. may pins worker *n* to CPU core *n* by
///   default, which helps a server that owns the machine, but two programs
///   on one worker each (a server and its client, in lesson 05) would both
///   be pinned to core 0 and fight over it while core 1 sits idle.
///
/// It then starts the scheduler by running one empty coroutine, so that
/// the scheduler's own start-up (creating its threads, a few milliseconds)
/// is not counted in the first thing a lesson measures.
pub fn configure(workers: usize) {
    may::config()
        .set_workers(workers.max(1))
        .set_worker_pin(false);
    // A coroutine that does nothing cannot panic, so the join cannot fail.
    let _ = may::go!(|| ()).join();
}
// ANCHOR_END: configure

// ANCHOR: join_all
/// `gevent.joinall`: waits for every coroutine, in order, and returns their
/// results. A coroutine that panicked becomes an error naming it, instead
/// of taking the whole program down.
pub fn join_all<T>(handles: Vec<(String, JoinHandle<T>)>) -> Result<Vec<T>> {
    let mut results = Vec::with_capacity(handles.len());
    for (name, handle) in handles {
        match handle.join() {
            Ok(value) => results.push(value),
            Err(panic) => return Err(format!("{name} panicked: {}", panic_message(&*panic)).into()),
        }
    }
    Ok(results)
}
// ANCHOR_END: join_all

/// The text a panic carries, when it is a string.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_string()
    }
}

/// What a coroutine of the `spawn` demo needs: the timeline it draws on and
/// the length of one "unit" of sleep (1 s in class, a few ms in tests).
/// Cloned into each coroutine; the timeline itself is shared.
#[derive(Clone)]
pub struct Stage {
    pub timeline: Arc<Timeline>,
    pub unit: Duration,
}

impl Stage {
    /// Prints one line, stamped with the time since the start, and marks
    /// the moment on the coroutine's lane as running.
    fn say(&self, lane: &str, text: &str) {
        let now = Instant::now();
        let since = now.saturating_duration_since(self.timeline.start());
        println!("[{:>6}] {text}", format_duration(since));
        self.timeline.record(lane, Activity::Run, now, now);
    }

    /// `gevent.sleep(units)`: parks this coroutine, not the thread. The
    /// worker thread runs the other coroutines meanwhile.
    fn sleep(&self, lane: &str, units: u32) {
        self.timeline.time(lane, Activity::Wait, || {
            may::coroutine::sleep(self.unit * units);
        });
    }

    /// `gevent.sleep(0)`: "I could go on, but let the others run first."
    /// The coroutine goes to the back of its worker's queue of ready
    /// coroutines. (Freshly spawned ones wait in a separate queue that the
    /// worker only looks at when that one is empty; the chapter says more.)
    fn yield_now(&self, lane: &str) {
        self.timeline
            .time(lane, Activity::Ready, may::coroutine::yield_now);
    }
}

// ANCHOR: bodies
/// Sleeps the longest: two units.
pub fn foo(stage: Stage) {
    stage.say("foo", "foo: started, going to sleep for 2 units");
    stage.sleep("foo", 2);
    stage.say("foo", "foo: awake again, last of all: it slept the longest");
}

/// Sleeps one unit.
pub fn bar(stage: Stage) {
    stage.say("bar", "bar: started, going to sleep for 1 unit");
    stage.sleep("bar", 1);
    stage.say("bar", "bar: awake again, while foo still sleeps");
}

/// Does not sleep at all; it only yields, to let the others run once.
pub fn func3(stage: Stage) {
    stage.say("func3", "func3: started, yielding to the others");
    stage.yield_now("func3");
    stage.say("func3", "func3: resumed at once: nobody else was ready");
}
// ANCHOR_END: bodies

// ANCHOR: spawn_three
/// `gevent.joinall([gevent.spawn(foo), gevent.spawn(bar), gevent.spawn(func3)])`.
pub fn spawn_three(stage: &Stage) -> Result<()> {
    type Body = fn(Stage);
    let bodies: [(&str, Body); 3] = [("foo", foo), ("bar", bar), ("func3", func3)];
    let mut handles = Vec::new();
    for (name, body) in bodies {
        let stage = stage.clone();
        // `go!` is `gevent.spawn`: the coroutine is queued, and runs when
        // the worker thread gets to it. The name shows up in may's panic
        // messages. Spawning fails only if no stack can be allocated.
        let builder = may::coroutine::Builder::new().name(name.to_string());
        let handle = may::go!(builder, move || body(stage))?;
        handles.push((name.to_string(), handle));
    }
    join_all(handles)?;
    Ok(())
}
// ANCHOR_END: spawn_three

// ANCHOR: task
/// The notes' `task(pid)`: wait half a second (or `delay`), then report.
/// The wait is a may sleep: it parks the coroutine, so while one task
/// waits, another can start its own wait.
pub fn task(pid: usize, delay: Duration, timeline: &Timeline) -> Duration {
    let lane = format!("task {pid}");
    timeline.time(&lane, Activity::Wait, || may::coroutine::sleep(delay));
    let done = timeline.start().elapsed();
    println!("  task {pid} done at {}", format_duration(done));
    done
}
// ANCHOR_END: task

// ANCHOR: synchronous
/// One coroutine runs every task, one after another: each waits for the
/// ones before it (drawn as `.` on the timeline).
pub fn synchronous(tasks: usize, delay: Duration) -> Result<(Duration, Arc<Timeline>)> {
    let timeline =
        Arc::new(Timeline::new().with_lanes((0..tasks).map(|pid| format!("task {pid}"))));
    let recorder = Arc::clone(&timeline);
    let handle = may::go!(may::coroutine::Builder::new(), move || {
        for pid in 0..tasks {
            if pid > 0 {
                // This task could have started at time zero; it waited
                // for the ones before it instead.
                let lane = format!("task {pid}");
                recorder.record(&lane, Activity::Ready, recorder.start(), Instant::now());
            }
            task(pid, delay, &recorder);
        }
    })?;
    join_all(vec![("synchronous".to_string(), handle)])?;
    Ok((timeline.start().elapsed(), timeline))
}
// ANCHOR_END: synchronous

// ANCHOR: asynchronous
/// One coroutine per task, all spawned at once, then joined: all the waits
/// overlap, so the whole takes about one delay.
pub fn asynchronous(tasks: usize, delay: Duration) -> Result<(Duration, Arc<Timeline>)> {
    let timeline =
        Arc::new(Timeline::new().with_lanes((0..tasks).map(|pid| format!("task {pid}"))));
    let mut handles = Vec::with_capacity(tasks);
    for pid in 0..tasks {
        let recorder = Arc::clone(&timeline);
        let handle = may::go!(may::coroutine::Builder::new(), move || {
            task(pid, delay, &recorder);
        })?;
        handles.push((format!("task {pid}"), handle));
    }
    join_all(handles)?;
    Ok((timeline.start().elapsed(), timeline))
}
// ANCHOR_END: asynchronous
