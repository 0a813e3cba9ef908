//! The three timelines differ as the chapter says: synchronous tasks never
//! overlap at all; threads overlap their waits; the event loop overlaps the
//! waits but never runs two tasks' code at the same time.

use std::process::Command;
use std::time::Duration;

use lesson_06_event_loop::models::{Plan, event_loop, start_slow_service, synchronous, threaded};
use support::timeline::{Activity, Span, Timeline};

const PLAN: Plan = Plan {
    tasks: 3,
    ios: 2,
    compute: Duration::from_millis(10),
    io: Duration::from_millis(80),
};

/// Whether any span of one kind in one lane overlaps a span of that kind in
/// another lane.
fn lanes_overlap(timeline: &Timeline, activity: Activity) -> bool {
    let spans: Vec<Span> = timeline
        .spans()
        .into_iter()
        .filter(|s| s.activity == activity)
        .collect();
    spans
        .iter()
        .any(|a| spans.iter().any(|b| a.lane != b.lane && a.overlaps(b)))
}

/// Whether any busy span (running or waiting) of two lanes overlap.
fn any_work_overlaps(timeline: &Timeline) -> bool {
    let spans: Vec<Span> = timeline
        .spans()
        .into_iter()
        .filter(|s| s.activity != Activity::Ready)
        .collect();
    spans
        .iter()
        .any(|a| spans.iter().any(|b| a.lane != b.lane && a.overlaps(b)))
}

#[test]
fn the_three_models_differ_as_the_notes_draw_them() {
    let service = start_slow_service().expect("start the slow service");
    let sync = synchronous(&PLAN, service).expect("synchronous");
    let threads = threaded(&PLAN, service).expect("threads");
    let looped = event_loop(&PLAN, service).expect("event loop");

    // Every task did all its work in every model: 3 runs and 2 waits.
    for timeline in [&sync, &threads, &looped] {
        for index in 0..PLAN.tasks {
            let spans = timeline.lane(&Plan::lane(index));
            let count = |a| spans.iter().filter(|s| s.activity == a).count();
            assert_eq!((count(Activity::Run), count(Activity::Wait)), (3, 2));
        }
    }

    // Synchronous: nothing of one task happens while another works or waits.
    assert!(!any_work_overlaps(&sync));
    let one_task = PLAN.compute * 3 + PLAN.io * 2;
    assert!(sync.end() >= one_task * 3);

    // Threads: the waits overlap.
    assert!(lanes_overlap(&threads, Activity::Wait));
    assert!(threads.end() < sync.end());

    // Event loop: the waits overlap, the running never does (one thread).
    assert!(lanes_overlap(&looped, Activity::Wait));
    assert!(!lanes_overlap(&looped, Activity::Run));
    assert!(looped.end() < sync.end());
}

#[test]
fn the_program_prints_three_timelines_and_the_totals() {
    let output = Command::new(env!("CARGO_BIN_EXE_three-models"))
        .args(["--compute-ms", "5", "--io-ms", "40", "--width", "40"])
        .output()
        .expect("run three-models");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for heading in ["== synchronous", "== threads", "== event loop"] {
        assert!(stdout.contains(heading), "{stdout}");
    }
    assert_eq!(stdout.matches("task A |").count(), 3, "{stdout}");
    for total in ["synchronous:", "threads:", "event loop:"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(total) && l.ends_with(" ms")),
            "{stdout}"
        );
    }
    // In the synchronous timeline, task C waits for its turn first.
    let sync_c = stdout
        .lines()
        .find(|l| l.starts_with("task C |"))
        .unwrap_or("");
    assert!(sync_c.starts_with("task C |...."), "{stdout}");
}
