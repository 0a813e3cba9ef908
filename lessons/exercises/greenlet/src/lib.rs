//! Exercise 02: build greenlet-style switching yourself.
//!
//! Everything around the switch is given, compiled from lesson 02's own
//! `greenlets.rs`: the `Step` a greenlet hands to the trampoline, creating
//! greenlets, the two greenlets' functions (`test1`, `test2`). Two bodies
//! are yours, marked `todo!()`:
//!
//! 1. [`Switcher::switch`]: how a greenlet stops itself and names the next.
//! 2. [`Greenlets::run`]: the trampoline that resumes greenlets, one after
//!    another, as they say, until one finishes.
//!
//! Check your work with `just check greenlet`; run it with
//! `cargo run -p exercise-02-greenlet -- --trace`. Lesson 02's chapter
//! explains every idea you need.
//!
//! Written by `just exercises` from the lesson's own code,
//! `lessons/coroutines/02-greenlet/src/lib.rs`,
//! with the bodies you write replaced by `todo!()`.
// Until you write the todo!() bodies, their parameters, what they
// would import and the given code they would call are unused.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../../../../lessons/coroutines/02-greenlet/src/greenlets.rs"]
mod greenlets;

pub use greenlets::{Greenlets, State, Step, Switcher, UnknownGreenlet, test1, test2};

// ANCHOR: switch
impl Switcher<'_, '_> {
    /// Stops this greenlet and runs `to`. Returns when some greenlet switches
    /// back to this one; everything on this greenlet's stack (locals, the
    /// functions that called this one) is still there.
    ///
    /// A generator stops itself with `self.scope.yield_(value)`, and the
    /// value comes out of the `resume()` that ran it.
    pub fn switch(&mut self, to: &'static str) {
        todo!("hand Step::SwitchTo(to) to the trampoline")
    }
}
// ANCHOR_END: switch

// ANCHOR: run
impl Greenlets {
    /// Switches from the main program to `first`, and keeps switching where
    /// the greenlets say until one of them finishes. Then control returns
    /// here, to the main program, as greenlet returns to a finished
    /// greenlet's parent.
    ///
    /// - `self.find(from, to)` gives the index of a greenlet by name (`from`
    ///   is `"main"` for the first); an unknown name is the error.
    /// - Resuming a greenlet (`coroutine.resume()`) runs it until it
    ///   switches away (`Some(Step::SwitchTo(next))`) or returns
    ///   (`Some(Step::Finished)`).
    /// - Each greenlet's `state` is kept up to date.
    /// - With `self.trace`, each switch prints `    (gr1 switches to gr2)`,
    ///   and the end `    (gr2 finished: back to main)`.
    pub fn run(&mut self, first: &'static str) -> Result<(), UnknownGreenlet> {
        todo!("the trampoline: resume greenlets until one finishes")
    }
}
// ANCHOR_END: run
