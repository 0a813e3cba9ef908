//! Lesson 02: greenlet-style switching between stackful coroutines.
//!
//! Python's greenlet lets any function say "run that other greenlet now"
//! (`gr2.switch()`), from anywhere in its call stack, and later be switched
//! back to, continuing right after its own `switch`. Nothing switches by
//! itself: every change of who runs is written in the code.
//!
//! Rust's `generator` crate gives stackful coroutines too, but *asymmetric*
//! ones: a coroutine can only yield back to whoever resumed it. Symmetric
//! switching is built on top with a tiny trampoline, [`Greenlets::run`]: a
//! greenlet that wants to switch yields the name of the next one, and the
//! loop resumes that one. This is how greenlet-like libraries are built on
//! asymmetric coroutines.
//!
//! Run it with `just run lesson-02` (add `--trace` to see every switch).

use std::fmt;

use generator::{Generator, Gn, Scope};

// ANCHOR: types
/// What a greenlet hands to the trampoline when it stops running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// "Run this greenlet now; resume me when someone switches back."
    SwitchTo(&'static str),
    /// The greenlet's function returned.
    Finished,
}

/// A greenlet's handle on itself, passed to its function: the only thing it
/// can do with it is switch away.
pub struct Switcher<'s, 'a> {
    scope: &'s mut Scope<'a, 'static, (), Step>,
}

impl Switcher<'_, '_> {
    /// Stops this greenlet and runs `to`. Returns when some greenlet switches
    /// back to this one; everything on this greenlet's stack (locals, the
    /// functions that called this one) is still there.
    pub fn switch(&mut self, to: &'static str) {
        self.scope.yield_(Step::SwitchTo(to));
    }
}
// ANCHOR_END: types

/// Where each greenlet stands when the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created, never switched to.
    NotStarted,
    /// Stopped inside a `switch`, waiting for a switch back that never came.
    Suspended,
    /// Its function returned.
    Finished,
}

/// A switch to a greenlet that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGreenlet {
    pub from: &'static str,
    pub to: &'static str,
}

impl fmt::Display for UnknownGreenlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} switched to `{}`, but no greenlet has that name",
            self.from, self.to
        )
    }
}

impl std::error::Error for UnknownGreenlet {}

struct Greenlet {
    name: &'static str,
    coroutine: Generator<'static, (), Step>,
    state: State,
}

/// A set of greenlets and the trampoline that switches between them.
#[derive(Default)]
pub struct Greenlets {
    all: Vec<Greenlet>,
    /// Print each switch as it happens (`--trace`).
    pub trace: bool,
}

// ANCHOR: greenlets
impl Greenlets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a greenlet named `name` that will run `body`. Like
    /// `greenlet(test1)`, this runs nothing yet.
    pub fn spawn(&mut self, name: &'static str, body: fn(&mut Switcher)) {
        let coroutine = Gn::<()>::new_scoped(move |mut scope| {
            body(&mut Switcher { scope: &mut scope });
            Step::Finished
        });
        self.all.push(Greenlet {
            name,
            coroutine,
            state: State::NotStarted,
        });
    }

    /// Switches from the main program to `first`, and keeps switching where
    /// the greenlets say until one of them finishes. Then control returns
    /// here, to the main program, as greenlet returns to a finished
    /// greenlet's parent.
    pub fn run(&mut self, first: &'static str) -> Result<(), UnknownGreenlet> {
        let mut current = self.find("main", first)?;
        loop {
            let greenlet = &mut self.all[current];
            // Resume it: it runs until it switches away or returns.
            let step = greenlet.coroutine.resume().unwrap_or(Step::Finished);
            let from = greenlet.name;
            match step {
                Step::SwitchTo(to) => {
                    greenlet.state = State::Suspended;
                    current = self.find(from, to)?;
                    if self.trace {
                        println!("    ({from} switches to {to})");
                    }
                }
                Step::Finished => {
                    greenlet.state = State::Finished;
                    if self.trace {
                        println!("    ({from} finished: back to main)");
                    }
                    return Ok(());
                }
            }
        }
    }
}
// ANCHOR_END: greenlets

impl Greenlets {
    /// Each greenlet's name and state, in the order they were spawned.
    pub fn states(&self) -> Vec<(&'static str, State)> {
        self.all.iter().map(|g| (g.name, g.state)).collect()
    }

    fn find(&self, from: &'static str, to: &'static str) -> Result<usize, UnknownGreenlet> {
        self.all
            .iter()
            .position(|g| g.name == to)
            .ok_or(UnknownGreenlet { from, to })
    }
}

// ANCHOR: bodies
/// The first greenlet's function: print, switch, print, switch.
pub fn test1(me: &mut Switcher) {
    println!("12");
    me.switch("gr2");
    // We get here only when gr2 switches back to gr1.
    print_then_switch(me, 34, "gr2");
    // Nobody switches back to gr1 a second time: this line never runs.
    println!("gr1 resumed again");
}

/// The second greenlet's function.
pub fn test2(me: &mut Switcher) {
    println!("56");
    me.switch("gr1");
    println!("78");
    // Returning finishes gr2, and control goes back to the main program.
}

/// A switch from inside an ordinary nested function call. This is what
/// *stackful* means: the whole call stack of `test1` (this function and the
/// one that called it) is kept while gr1 is suspended. A Python generator, or
/// a Rust `async fn`, can only suspend at its own top level.
fn print_then_switch(me: &mut Switcher, number: u32, to: &'static str) {
    println!("{number}");
    me.switch(to);
}
// ANCHOR_END: bodies
