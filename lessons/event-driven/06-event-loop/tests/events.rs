//! Events reach the handlers registered for their kind, in the order they
//! were sent, and handlers in the order they were registered.

use std::cell::RefCell;
use std::io::Write;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;

use lesson_06_event_loop::events::{Event, EventLoop, Kind};

/// A loop whose handlers write what they saw into a shared log.
fn recording_loop() -> (EventLoop, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut event_loop = EventLoop::new();
    for (kind, name) in [
        (Kind::Click, "click-1"),
        (Kind::Click, "click-2"),
        (Kind::Key, "key"),
    ] {
        let log = Rc::clone(&log);
        event_loop.on(kind, move |event, _| {
            log.borrow_mut().push(format!("{name}: {event}"))
        });
    }
    (event_loop, log)
}

#[test]
fn each_event_goes_to_its_kinds_handlers_in_order() {
    let (mut event_loop, log) = recording_loop();
    let (device, queue) = mpsc::channel();
    for event in [
        Event::Click { x: 1, y: 2 },
        Event::Key('x'),
        Event::Click { x: 3, y: 4 },
    ] {
        device.send(event).unwrap();
    }
    drop(device); // the device goes away: the loop ends when the queue is empty
    assert_eq!(event_loop.run(&queue), 3);
    assert_eq!(
        *log.borrow(),
        [
            "click-1: click at (1, 2)",
            "click-2: click at (1, 2)",
            "key: key 'x'",
            "click-1: click at (3, 4)",
            "click-2: click at (3, 4)",
        ]
    );
}

#[test]
fn posted_events_come_before_the_next_device_event_and_stop_ends_the_loop() {
    let (mut event_loop, log) = recording_loop();
    event_loop.on(Kind::Key, |event, control| {
        if *event == Event::Key('q') {
            control.post(Event::Click { x: 0, y: 0 });
            control.post(Event::Quit);
        }
    });
    let quit_log = Rc::clone(&log);
    event_loop.on(Kind::Quit, move |_, control| {
        quit_log.borrow_mut().push("quit".into());
        control.stop();
    });
    let (device, queue) = mpsc::channel();
    for event in [Event::Key('q'), Event::Key('z'), Event::Key('n')] {
        device.send(event).unwrap();
    }
    // `q`, then the posted click and quit; `z` and later are never handled.
    assert_eq!(event_loop.run(&queue), 3);
    assert_eq!(
        *log.borrow(),
        [
            "key: key 'q'",
            "click-1: click at (0, 0)",
            "click-2: click at (0, 0)",
            "quit"
        ]
    );
}

#[test]
fn an_event_nobody_handles_calls_nothing() {
    let (mut event_loop, log) = recording_loop();
    let mut control = Default::default();
    assert_eq!(event_loop.dispatch(&Event::Quit, &mut control), 0);
    assert!(log.borrow().is_empty());
}

#[test]
fn the_program_dispatches_typed_events_and_skips_bad_lines() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_events"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start events");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(b"click 10 20\nkey a\nscroll 3\n\nclick 5 6\nkey q\nkey never\n")
        .expect("type events");
    let output = child.wait_with_output().expect("wait for events");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "\
on_click: button pressed at (10, 20)
  click counter: 1 so far
on_key_down: 'a'
on_click: button pressed at (5, 6)
  click counter: 2 so far
on_key_down: 'q'
on_quit: stopping the loop
the loop dispatched 5 events
"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an event: \"scroll 3\""));
}
