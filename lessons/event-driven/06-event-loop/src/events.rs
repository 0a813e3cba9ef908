//! An event queue and the handlers registered for each kind of event.
//!
//! The notes ask how a program should notice mouse clicks. Way one: a
//! thread that checks the mouse over and over. It burns CPU when nothing
//! happens, and while it blocks on the mouse it cannot watch the keyboard.
//! Way two, the event-driven model that every GUI toolkit uses:
//!
//! 1. there is a queue of events;
//! 2. a device (the mouse, the keyboard) puts an event on the queue when
//!    something happens;
//! 3. a loop takes events off the queue, one at a time, and calls the
//!    functions registered for that kind of event (`onClick`, `onKeyDown`);
//! 4. so each kind of event has its own handlers.
//!
//! Here the queue is a channel: devices are threads holding a [`Sender`],
//! and [`EventLoop::run`] sleeps in `recv` until an event arrives, using no
//! CPU while nothing happens.

use std::collections::VecDeque;
use std::fmt;
use std::sync::mpsc::{Receiver, Sender};

// ANCHOR: event
/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A mouse button was pressed at (x, y).
    Click { x: i32, y: i32 },
    /// A key was pressed.
    Key(char),
    /// The user asked to quit; the loop stops after this one.
    Quit,
}

/// The kinds of event a handler can be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Click,
    Key,
    Quit,
}

impl Event {
    /// Which handlers this event goes to.
    pub fn kind(&self) -> Kind {
        match self {
            Event::Click { .. } => Kind::Click,
            Event::Key(_) => Kind::Key,
            Event::Quit => Kind::Quit,
        }
    }
}
// ANCHOR_END: event

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Click { x, y } => write!(f, "click at ({x}, {y})"),
            Event::Key(key) => write!(f, "key {key:?}"),
            Event::Quit => write!(f, "quit"),
        }
    }
}

/// A line a device sends that is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an event: {:?} (try `click 10 20`, `key a` or `quit`)",
            self.0
        )
    }
}

impl std::error::Error for BadInput {}

/// Reads an event from a line of text: `click 10 20`, `key a`, `quit`.
pub fn parse(line: &str) -> Result<Event, BadInput> {
    let bad = || BadInput(line.to_string());
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["click", x, y] => Ok(Event::Click {
            x: x.parse().map_err(|_| bad())?,
            y: y.parse().map_err(|_| bad())?,
        }),
        ["key", key] => {
            let mut chars = key.chars();
            match (chars.next(), chars.next()) {
                (Some(key), None) => Ok(Event::Key(key)),
                _ => Err(bad()),
            }
        }
        ["quit"] => Ok(Event::Quit),
        _ => Err(bad()),
    }
}

// ANCHOR: handlers
/// What a handler may do besides reacting: post more events or stop the
/// loop.
#[derive(Debug, Default)]
pub struct Control {
    posted: Vec<Event>,
    stop: bool,
}

impl Control {
    /// Posts an event of the program's own. The loop handles posted events
    /// (in the order posted) before it takes the next one from a device.
    pub fn post(&mut self, event: Event) {
        self.posted.push(event);
    }

    /// Stops the loop once this event's handlers have all run.
    pub fn stop(&mut self) {
        self.stop = true;
    }
}

/// A function called for every event of the kind it was registered for.
pub type Handler = Box<dyn FnMut(&Event, &mut Control)>;

/// The handlers, by kind, in the order they were registered.
#[derive(Default)]
pub struct EventLoop {
    handlers: Vec<(Kind, Handler)>,
    /// Events posted by handlers, served before the next one from devices.
    pending: VecDeque<Event>,
}

impl EventLoop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for events of `kind`: the `onClick = f` of a GUI.
    /// Several handlers may share a kind; they run in registration order.
    pub fn on(&mut self, kind: Kind, handler: impl FnMut(&Event, &mut Control) + 'static) {
        self.handlers.push((kind, Box::new(handler)));
    }

    /// Calls every handler registered for this event's kind, in order.
    /// Returns how many ran (zero: nobody listens for this kind).
    pub fn dispatch(&mut self, event: &Event, control: &mut Control) -> usize {
        let mut called = 0;
        for (kind, handler) in &mut self.handlers {
            if *kind == event.kind() {
                handler(event, control);
                called += 1;
            }
        }
        called
    }
}
// ANCHOR_END: handlers

// ANCHOR: run
impl EventLoop {
    /// The loop: take the next event, dispatch it, repeat. Events that
    /// handlers post come first; otherwise the loop sleeps in `recv` until a
    /// device sends one. It ends when a handler calls `stop`, or when every
    /// device has gone (all senders dropped). Returns how many events were
    /// dispatched.
    pub fn run(&mut self, queue: &Receiver<Event>) -> usize {
        let mut dispatched = 0;
        loop {
            let event = match self.pending.pop_front() {
                Some(event) => event,
                None => match queue.recv() {
                    Ok(event) => event,
                    Err(_) => return dispatched, // no device left
                },
            };
            let mut control = Control::default();
            if self.dispatch(&event, &mut control) == 0 {
                println!("(no handler for {event})");
            }
            dispatched += 1;
            self.pending.extend(control.posted);
            if control.stop {
                return dispatched;
            }
        }
    }
}
// ANCHOR_END: run

// ANCHOR: device
/// A device that reads events from lines of text (the keyboard of this
/// lesson: stdin) and sends them to the queue. Lines that are not events,
/// and lines that are not even text (not UTF-8), are reported and skipped:
/// the lines after them still count. Runs until the input ends or the loop
/// has gone.
pub fn text_device(mut input: impl std::io::BufRead, queue: Sender<Event>) {
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        // Read bytes, not a String: `lines()` would stop at the first line
        // that is not UTF-8, and every line after it would be lost.
        bytes.clear();
        match input.read_until(b'\n', &mut bytes) {
            Ok(0) => break, // the end of the input
            Ok(_) => number += 1,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                eprintln!("cannot read the input: {error}");
                break;
            }
        }
        let Ok(line) = std::str::from_utf8(&bytes) else {
            eprintln!(
                "line {number} is not UTF-8 text, skipped: {:?}",
                String::from_utf8_lossy(&bytes).trim_end()
            );
            continue;
        };
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            continue;
        }
        match parse(line) {
            Ok(event) => {
                if queue.send(event).is_err() {
                    break; // the loop has stopped
                }
            }
            Err(error) => eprintln!("{error}"),
        }
    }
}
// ANCHOR_END: device

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_events() {
        assert_eq!(parse("click 10 -20"), Ok(Event::Click { x: 10, y: -20 }));
        assert_eq!(parse("  key   q "), Ok(Event::Key('q')));
        assert_eq!(parse("quit"), Ok(Event::Quit));
        assert!(parse("key ab").is_err());
        assert!(parse("click 1").is_err());
        assert!(parse("scroll 3").is_err());
    }
}
