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

pub mod client;
pub mod cmd;
pub mod guard;
pub mod jail;
pub mod line;
pub mod listing;
pub mod reply;
pub mod server;
pub mod session;
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

/// Sets a socket option whose value is an `int` (`setsockopt(2)`): the
/// server keeps urgent data inline on control connections and paces its
/// data connections ([`transfer::pace_sending`]).
#[cfg(unix)]
pub(crate) fn set_int_option(
    stream: &mio::net::TcpStream,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket descriptor, and a c_int option of the right
    // size that outlives the call.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
