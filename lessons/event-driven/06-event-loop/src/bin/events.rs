//! An event queue with click and key handlers: `just run lesson-06 events`.
//!
//! Type events, one per line: `click 10 20`, `key a`, `quit` (or `key q`).
//! `--demo` plays a short script instead, an event every 300 ms, so you can
//! watch the loop sleep between them. Input can be piped:
//! `printf 'click 1 2\nkey a\nquit\n' | just run lesson-06 events`.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use clap::Parser;
use lesson_06_event_loop::events::{Event, EventLoop, Kind, text_device};

/// Events from a device go on a queue; a loop hands each one to the
/// handlers registered for its kind.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Play a built-in script of events instead of reading stdin.
    #[arg(long)]
    demo: bool,
}

// ANCHOR: main
fn main() {
    // `... | head -2` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    let args = Args::parse();
    let mut event_loop = EventLoop::new();

    // Register the handlers: two for clicks, one for keys, one for quit.
    event_loop.on(Kind::Click, |event, _| {
        if let Event::Click { x, y } = event {
            println!("on_click: button pressed at ({x}, {y})");
        }
    });
    let mut clicks = 0;
    event_loop.on(Kind::Click, move |_, _| {
        clicks += 1;
        println!("  click counter: {clicks} so far");
    });
    event_loop.on(Kind::Key, |event, control| {
        if let Event::Key(key) = event {
            println!("on_key_down: {key:?}");
            if *key == 'q' {
                // A handler can put new events on the queue.
                control.post(Event::Quit);
            }
        }
    });
    event_loop.on(Kind::Quit, |_, control| {
        println!("on_quit: stopping the loop");
        control.stop();
    });

    // The device: a thread that turns input into events on the queue.
    let (queue, events) = mpsc::channel();
    if args.demo {
        thread::spawn(move || demo_device(queue));
    } else {
        if std::io::stdin().is_terminal() {
            eprintln!("type events: `click 10 20`, `key a`, `quit`");
        }
        thread::spawn(move || text_device(std::io::stdin().lock(), queue));
    }

    let dispatched = event_loop.run(&events);
    println!("the loop dispatched {dispatched} events");
}
// ANCHOR_END: main

/// A pretend mouse and keyboard: a few events, 300 ms apart.
fn demo_device(queue: mpsc::Sender<Event>) {
    let script = [
        Event::Click { x: 10, y: 20 },
        Event::Key('h'),
        Event::Click { x: 300, y: 40 },
        Event::Key('q'),
    ];
    for event in script {
        thread::sleep(Duration::from_millis(300));
        println!("[device] {event}");
        if queue.send(event).is_err() {
            return;
        }
    }
}
