//! The three timelines differ as the chapter says: synchronous tasks never
//! overlap at all; threads overlap their waits; the event loop overlaps the
//! waits but never runs two tasks' code at the same time.

use std::time::{Duration, Instant};

use lesson_06_event_loop::models::{Plan, event_loop, start_slow_service, synchronous, threaded};
use support::testkit::run_timed;
use support::timeline::{Activity, Span, Timeline};

/// Waits much longer than the computing, so that overlapping them shows
/// on any clock, even where a loaded machine stretches the computing.
const PLAN: Plan = Plan {
    tasks: 3,
    ios: 2,
    compute: Duration::from_millis(5),
    io: Duration::from_millis(150),
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
    // Each model is also timed by the test's own clock, not only by the
    // timeline it records about itself.
    let timed = |model: &dyn Fn() -> Timeline| {
        let started = Instant::now();
        let timeline = model();
        (timeline, started.elapsed())
    };
    let (sync, sync_took) = timed(&|| synchronous(&PLAN, service).expect("synchronous"));
    let (threads, threads_took) = timed(&|| threaded(&PLAN, service).expect("threads"));
    let (looped, looped_took) = timed(&|| event_loop(&PLAN, service).expect("event loop"));
    // A timeline cannot claim more time than the run took.
    for (timeline, took) in [
        (&sync, sync_took),
        (&threads, threads_took),
        (&looped, looped_took),
    ] {
        assert!(timeline.end() <= took, "{:?} > {took:?}", timeline.end());
    }

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
    assert!(sync_took >= one_task * 3);

    // Threads: the waits overlap, and on the test's clock the run takes
    // well under the synchronous one (about a third of it on an idle
    // machine).
    assert!(lanes_overlap(&threads, Activity::Wait));
    assert!(threads.end() < sync.end());
    assert!(
        threads_took < sync_took * 3 / 4,
        "{threads_took:?} vs {sync_took:?}"
    );

    // Event loop: the waits overlap, the running never does (one thread).
    assert!(lanes_overlap(&looped, Activity::Wait));
    assert!(!lanes_overlap(&looped, Activity::Run));
    assert!(looped.end() < sync.end());
    assert!(
        looped_took < sync_took * 3 / 4,
        "{looped_took:?} vs {sync_took:?}"
    );
}

#[test]
fn the_program_prints_three_timelines_and_the_totals() {
    let (compute, io) = (Duration::from_millis(2), Duration::from_millis(150));
    let timed = run_timed(
        env!("CARGO_BIN_EXE_three-models"),
        [
            "--compute-ms",
            &compute.as_millis().to_string(),
            "--io-ms",
            &io.as_millis().to_string(),
            "--width",
            "40",
        ],
    );
    assert!(timed.finished.success(), "{timed}");
    // On the test's clock: each model's heading comes before it runs and
    // its `took` line after. Synchronous cannot be quicker than three tasks
    // one after another; threads and the event loop must be well quicker
    // than it, whatever timelines they print.
    let one_task = compute * 3 + io * 2;
    let took = |n: usize, heading: &str| timed.arrival("took ", n) - timed.arrival(heading, 0);
    assert!(timed.arrival("took ", 0) >= one_task * 3, "{timed}");
    let synchronous = took(0, "== synchronous");
    for (n, heading) in [(1, "== threads"), (2, "== event loop")] {
        let overlapped = took(n, heading);
        assert!(
            overlapped < synchronous * 3 / 4,
            "{heading}: {overlapped:?} vs {synchronous:?}\n{timed}"
        );
    }
    let stdout = timed.finished.stdout.as_str();
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
