//! Exercise 25: the heart of an FTP server on one event loop.
//!
//! Homework 25 asks for a whole FTP server. This crate hands you the parts
//! that are plumbing and leaves you the parts that make it an FTP server,
//! and a safe one:
//!
//! | file            | who    | what it does                                                        |
//! |-----------------|--------|---------------------------------------------------------------------|
//! | `server.rs`     | given  | the `mio` event loop: one thread, every socket of every client      |
//! | `session.rs`    | given  | one client: reading commands, sending replies, the data connection, moving bytes in chunks |
//! | `basics.rs`     | given  | QUIT, TYPE, SYST, FEAT, NOOP, and 502 for what is not implemented  |
//! | `listing.rs`    | given  | the `ls -l` lines LIST sends                                        |
//! | `jail.rs`       | **you** | every path a client names stays inside the root                    |
//! | `part_file.rs`  | **you** | an upload appears under its name only when it is complete          |
//! | `commands.rs`   | **you** | running a command: USER, PASS, PWD, CWD, PASV, EPSV, LIST, RETR, STOR |
//!
//! The parts to write are `todo!()`, each with a doc comment that says what
//! it must do. A good order: `jail.rs`, `part_file.rs`, then `commands.rs`
//! from top to bottom. Chapter 25 of the book explains every idea.
//!
//! Run your server, and try it with curl in a second terminal:
//!
//! ```text
//! cargo run -p exercise-25-ftp -- --root /tmp/share --user alice:secret
//! curl -u alice:secret -T notes.txt ftp://127.0.0.1:2121/
//! ```
//!
//! Check it with `just check ftp` (it starts your server on a temporary
//! root and talks FTP to it), or `just check ftp --addr HOST:PORT` for a
//! server you started yourself.

pub mod basics;
pub mod commands;
pub mod jail;
pub mod listing;
pub mod part_file;
pub mod server;
pub mod session;

pub use server::{Config, Server};

/// Where the server listens unless told otherwise: loopback only, on the
/// unprivileged port many FTP examples use instead of 21.
pub const DEFAULT_ADDR: &str = "127.0.0.1:2121";

/// The size of one chunk of a transfer: files move in pieces of this size,
/// whatever their size, so the server's memory stays flat.
pub const CHUNK: usize = 64 * 1024;
