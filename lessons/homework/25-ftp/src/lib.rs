//! Homework 25: an FTP server on one thread and one `mio` event loop, and a
//! client that moves many files at once.
//!
//! The notes' homework asks for an FTP with upload and download, many
//! connections at once, built on select/selectors. This crate is a reference
//! solution that speaks enough of the real protocol (RFC 959, EPSV from RFC
//! 2428, SIZE/MDTM/MLSD from RFC 3659) that curl, Python's `ftplib` and `lftp`
//! work with it:
//!
//! ```text
//! just run lesson-25 ftp-server --root /tmp/share --user alice:secret
//! curl -u alice:secret -T notes.txt ftp://127.0.0.1:2121/
//! just run lesson-25 ftp-client --user alice --password secret ls
//! ```
//!
//! Where to read, in order:
//!
//! - [`server`]: the event loop. One `mio::Poll` watches every socket: the
//!   listener, each session's control connection, its passive listener and
//!   its data connection.
//! - [`session`]: one client's state machine (logged in or not, which data
//!   connection, which transfer), driven by the loop.
//! - [`cmd`]: the commands, parsed from a line ([`cmd::parse`]) and run, one
//!   file per command or family of commands.
//! - [`transfer`]: a file or listing streamed in fixed-size chunks, and
//!   uploads that appear only when complete.
//! - [`jail`]: every path a client names stays inside the root.
//! - [`guard`]: what is remembered per client address, against slot
//!   hogging and password guessing.
//! - [`client`]: a small blocking FTP client, and parallel transfers with
//!   progress bars (`ftp-client`).
//!
//! And the pieces they are built from:
//!
//! - [`line`]: the control connection's bytes cut into command lines, with
//!   a limit on their length.
//! - [`reply`]: what the server answers, a code and its text.
//! - [`listing`]: how `LIST`, `NLST` and `MLSD` write directory entries.
//! - [`users`]: who may log in, and who may write.
//! - `sys`: the socket options the standard library does not offer,
//!   behind one small `unsafe` wrapper.

pub mod client;
pub mod cmd;
pub mod guard;
pub mod jail;
pub mod line;
pub mod listing;
pub mod reply;
pub mod server;
pub mod session;
#[cfg(unix)]
pub(crate) mod sys;
pub mod transfer;
pub mod users;

pub use server::{Config, Server};

/// Where the server listens unless told otherwise: loopback only, on the
/// unprivileged port many FTP examples use instead of 21.
pub const DEFAULT_ADDR: &str = "127.0.0.1:2121";

/// The size of one chunk of a transfer. The server reads and writes files in
/// pieces of this size, whatever the size of the file, so its memory stays
/// flat; and since the loop runs one piece at a time, all transfers share
/// one buffer of this size.
pub const CHUNK: usize = 256 * 1024;
