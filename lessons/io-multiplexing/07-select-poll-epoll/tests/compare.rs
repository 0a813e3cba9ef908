//! The three waits give the same, exact answer; select(2) refuses what it
//! cannot hold with an explanation; epoll's cost does not grow with idle
//! sockets; and edge triggering reports arrivals, not data.

use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use lesson_07_select_poll_epoll::sys::FdSet;
use lesson_07_select_poll_epoll::{
    Backend, Fixture, MeasureError, PollWait, ReadinessWait, SelectWait, TriggerStep,
    level_vs_edge, measure, wait_retrying,
};

/// Descriptor numbers belong to the whole process, and tests run on
/// parallel threads: one test's 5,000 sockets would push another test's
/// sockets past 1024, where select(2) cannot go. So these tests take turns.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn each_backend_reports_exactly_the_readable_socket() {
    let _turn = one_at_a_time();
    let fixture = Fixture::new(50).unwrap();
    let fds = fixture.fds();
    let mut ready = Vec::new();
    for &backend in Backend::ALL {
        let mut waiter = backend.waiter(&fds).unwrap();
        wait_retrying(waiter.as_mut(), Some(Duration::from_secs(5)), &mut ready).unwrap();
        assert_eq!(ready, [fixture.ready_fd()], "{}", backend.name());
    }

    // Watching only the idle ones, nothing is ever ready: each wait times out.
    let idle = &fds[..fds.len() - 1];
    for &backend in Backend::ALL {
        let mut waiter = backend.waiter(idle).unwrap();
        wait_retrying(waiter.as_mut(), Some(Duration::ZERO), &mut ready).unwrap();
        assert!(ready.is_empty(), "{}: {ready:?}", backend.name());
    }
}

#[test]
fn select_past_fd_setsize_is_a_clear_error_not_a_crash() {
    let _turn = one_at_a_time();
    support::fdlimit::raise_to(1_500).unwrap();
    // Enough sockets that some get numbers of 1024 and more.
    let fixture = Fixture::new(1_100).unwrap();
    let fds = fixture.fds();

    let Err(error) = SelectWait::new(&fds) else {
        panic!("select accepted descriptors past FD_SETSIZE");
    };
    assert!(error.fd >= 1024, "{error:?}");
    let message = error.to_string();
    for words in [
        "select(2) cannot watch descriptor",
        "FD_SETSIZE = 1024",
        "poll(2) and epoll(7)",
    ] {
        assert!(message.contains(words), "{message}");
    }
    assert!(matches!(
        measure(Backend::Select, &fixture, Duration::ZERO),
        Err(MeasureError::TooHigh(_))
    ));

    // The set itself refuses too: the check is where the bit would be set.
    let high = fds.last().unwrap();
    assert!(high.as_raw_fd() >= 1024);
    assert!(FdSet::new().insert(high).is_err());

    // poll(2) has no such wall: the same sockets are fine.
    let mut ready = Vec::new();
    let mut poll = PollWait::new(&fds);
    poll.wait(Some(Duration::from_secs(5)), &mut ready).unwrap();
    assert_eq!(ready, [fixture.ready_fd()]);
}

/// The lesson's whole point is this timing, so it is asserted, with a
/// bound far looser than what is measured (hundreds of times).
#[cfg(target_os = "linux")]
#[test]
fn an_epoll_wait_stays_cheap_while_a_poll_wait_grows_with_idle_sockets() {
    let _turn = one_at_a_time();
    support::fdlimit::raise_to(5_100).unwrap();
    let fixture = Fixture::new(5_000).unwrap();
    let budget = Duration::from_millis(100);
    let poll = measure(Backend::Poll, &fixture, budget).unwrap();
    let epoll = measure(Backend::Epoll, &fixture, budget).unwrap();
    assert!(
        poll.per_wait > epoll.per_wait * 5,
        "poll {:?} vs epoll {:?}",
        poll.per_wait,
        epoll.per_wait
    );
    // The same on the test's own clock, around a fixed number of the
    // lesson's waits, so the verdict does not rest on `measure`'s sums.
    let fds = fixture.fds();
    let mut ready = Vec::new();
    let mut time_waits = |backend: Backend| {
        let mut waiter = backend.waiter(&fds).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..200 {
            wait_retrying(waiter.as_mut(), Some(Duration::ZERO), &mut ready).unwrap();
            assert_eq!(ready, [fixture.ready_fd()]);
        }
        started.elapsed()
    };
    let (poll, epoll) = (time_waits(Backend::Poll), time_waits(Backend::Epoll));
    assert!(
        poll > epoll * 5,
        "200 waits: poll {poll:?} vs epoll {epoll:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn level_triggering_repeats_itself_edge_triggering_reports_arrivals() {
    let step = |what, level, edge| TriggerStep { what, level, edge };
    assert_eq!(
        level_vs_edge().unwrap(),
        [
            step("10 bytes arrive", true, true),
            step("read 4 bytes, 6 left", true, false),
            step("read 4 bytes, 2 left", true, false),
            step("1 more byte arrives, 3 left", true, true),
            step("read the 3 bytes, 0 left", false, false),
        ]
    );
}

#[test]
fn compare_prints_the_table_and_explains_the_select_wall() {
    let output = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--sizes", "10,1100", "--budget-ms", "10"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("open-file limit"), "{stdout}");
    let row = |size: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with(size))
            .unwrap_or_else(|| panic!("no row for {size}:\n{stdout}"))
            .to_string()
    };
    // 10 idle sockets: all three measured, in µs.
    assert_eq!(row("10 ").matches("µs").count(), 3, "{stdout}");
    // 1,100: select refuses, the other two are measured.
    let big = row("1,100");
    assert!(big.contains("refused ¹"), "{big}");
    assert!(
        stdout.contains("¹ select(2) cannot watch descriptor"),
        "{stdout}"
    );
    assert!(stdout.contains("edge-triggered"), "{stdout}");
}

#[test]
fn compare_draws_its_table_as_a_chart_with_the_select_wall() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("waits.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--sizes", "10,100,1100", "--budget-ms", "10", "--plot"])
        .arg(&chart)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let svg = std::fs::read_to_string(&chart).expect("compare wrote its chart");
    let doc = roxmltree::Document::parse(&svg).expect("the chart is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for wanted in [
        "select(2)",
        "poll(2)",
        "epoll_wait(2)",
        "idle sockets watched",
    ] {
        assert!(texts.contains(&wanted), "{wanted} not in {texts:?}");
    }
    assert!(
        texts.iter().any(|t| t.starts_with("select's wall")),
        "{texts:?}"
    );
    // One dot per measured point: select at 10 and 100 (refused at 1,100),
    // poll and epoll at all three sizes.
    let dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(dots, 2 + 3 + 3, "{svg}");
}
