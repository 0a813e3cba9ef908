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
//! This file is that trampoline, the idea of the lesson; `greenlets.rs`
//! holds what it works on (the greenlets, their states, the two greenlets'
//! functions). Run it with `just run lesson-02` (add `--trace` to see every
//! switch).

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
        // EXERCISE: hand Step::SwitchTo(to) to the trampoline
        self.scope.yield_(Step::SwitchTo(to));
        // EXERCISE_END
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
        // EXERCISE: the trampoline: resume greenlets until one finishes
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
        // EXERCISE_END
    }
}
// ANCHOR_END: run
