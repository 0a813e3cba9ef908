//! What the trampoline in `lib.rs` works on: the greenlets, their states,
//! and the two greenlets' functions. The greenlet exercise compiles this
//! file as it is and leaves `lib.rs` to the student.

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
/// can do with it is switch away ([`Switcher::switch`]).
pub struct Switcher<'s, 'a> {
    /// The coroutine's side of the generator: `yield_` stops it.
    pub(crate) scope: &'s mut Scope<'a, 'static, (), Step>,
}

/// A set of greenlets and the trampoline ([`Greenlets::run`]) that switches
/// between them.
#[derive(Default)]
pub struct Greenlets {
    /// In the order they were spawned.
    pub(crate) all: Vec<Greenlet>,
    /// Print each switch as it happens (`--trace`).
    pub trace: bool,
}

/// One greenlet: a name to switch to, a coroutine to resume.
pub(crate) struct Greenlet {
    pub(crate) name: &'static str,
    pub(crate) coroutine: Generator<'static, (), Step>,
    pub(crate) state: State,
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

// ANCHOR: spawn
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
    // ANCHOR_END: spawn

    /// Each greenlet's name and state, in the order they were spawned.
    pub fn states(&self) -> Vec<(&'static str, State)> {
        self.all.iter().map(|g| (g.name, g.state)).collect()
    }

    /// The index of the greenlet called `to`; `from` is who asked, for the
    /// error.
    pub(crate) fn find(
        &self,
        from: &'static str,
        to: &'static str,
    ) -> Result<usize, UnknownGreenlet> {
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
