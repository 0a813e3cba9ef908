//! Exercise 02: build greenlet-style switching yourself.
//!
//! Everything around the two greenlets is given: their functions (`test1`,
//! `test2`), the `Step` a greenlet hands to the trampoline, creating
//! greenlets. Two pieces are missing, marked `todo!()`:
//!
//! 1. [`Switcher::switch`]: how a greenlet stops itself and names the next.
//! 2. [`Greenlets::run`]: the trampoline that resumes greenlets, one after
//!    another, as they say, until one finishes.
//!
//! Check your work with `just check greenlet`; run it with
//! `cargo run -p exercise-02-greenlet -- --trace`. Lesson 02's chapter
//! explains every idea you need.

use std::fmt;

use generator::{Generator, Gn, Scope};

// ANCHOR: given
/// What a greenlet hands to the trampoline when it stops running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// "Run this greenlet now; resume me when someone switches back."
    SwitchTo(&'static str),
    /// The greenlet's function returned.
    Finished,
}

/// Where each greenlet stands when the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotStarted,
    Suspended,
    Finished,
}

/// A greenlet's handle on itself, passed to its function.
pub struct Switcher<'s, 'a> {
    scope: &'s mut Scope<'a, 'static, (), Step>,
}

struct Greenlet {
    name: &'static str,
    #[allow(dead_code)] // until you write `run`, which resumes it
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
// ANCHOR_END: given

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

// ANCHOR: todo
impl Switcher<'_, '_> {
    /// Stops this greenlet and runs `to`; returns when some greenlet
    /// switches back to this one.
    ///
    /// Hint: a generator stops itself with `self.scope.yield_(value)`, and
    /// the value comes out of the `resume()` that ran it.
    pub fn switch(&mut self, to: &'static str) {
        let _ = (&mut self.scope, to);
        todo!("hand Step::SwitchTo(to) to the trampoline")
    }
}

impl Greenlets {
    /// Switches from the main program to `first`, and keeps switching where
    /// the greenlets say until one of them finishes.
    ///
    /// - `self.find(from, to)` gives the index of a greenlet by name.
    /// - Resuming a greenlet (`coroutine.resume()`) runs it until it
    ///   switches away (`Some(Step::SwitchTo(next))`) or returns
    ///   (`Some(Step::Finished)`).
    /// - Keep each greenlet's `state` up to date.
    /// - With `self.trace`, print `    (gr1 switches to gr2)` on each switch
    ///   and `    (gr2 finished: back to main)` at the end.
    pub fn run(&mut self, first: &'static str) -> Result<(), UnknownGreenlet> {
        let _ = (self.find("main", first), &self.all, self.trace);
        todo!("the trampoline: resume greenlets until one finishes")
    }
}
// ANCHOR_END: todo

impl Greenlets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a greenlet named `name` that will run `body`.
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

/// The first greenlet's function.
pub fn test1(me: &mut Switcher) {
    println!("12");
    me.switch("gr2");
    println!("34");
    me.switch("gr2");
    println!("gr1 resumed again");
}

/// The second greenlet's function.
pub fn test2(me: &mut Switcher) {
    println!("56");
    me.switch("gr1");
    println!("78");
}
