//! The classroom: scripted demos and exercise checkers.
//!
//! - [`stage`] runs several of a lesson's programs in one terminal, each
//!   line prefixed with the program's name in its own colour, and lets a
//!   script wait for a line, type into a program, or kill one.
//! - [`demos`] are those scripts, one per lesson with more than one process:
//!   `just demo lesson-05`.
//! - [`check`] runs black-box acceptance tests against a student's exercise
//!   crate and prints each requirement as passed or failed, with a hint:
//!   `just check greenlet`.
//! - [`transcripts`] compares the book's `$ just run` transcripts with what
//!   the programs print: `just transcripts`.

pub mod check;
pub mod demos;
pub mod exercises;
pub mod stage;
pub mod transcripts;

/// The error type of this crate: a message for the teacher or student.
pub type Result<T, E = String> = std::result::Result<T, E>;
