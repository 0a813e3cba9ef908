//! Lesson 06: the event-driven model.
//!
//! Two programs, one idea: a loop that waits for something to happen and
//! then calls the code registered for it.
//!
//! - [`events`] (`just run lesson-06 events`): the notes' GUI example. Mouse
//!   clicks and key presses are put on a queue; a loop takes them off one at
//!   a time and calls the handlers registered for each kind.
//! - [`models`] (`just run lesson-06 three-models`): the notes' picture of
//!   three IO-bound tasks run synchronously, on threads and on an event
//!   loop, drawn from what really happened.

pub mod events;
pub mod models;
