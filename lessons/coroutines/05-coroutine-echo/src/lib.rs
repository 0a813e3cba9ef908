//! Lesson 05: many sockets on one thread, with coroutines.
//!
//! The notes' gevent server accepts connections in a loop and spawns one
//! greenlet per connection; each greenlet reads and writes its socket as if
//! it had the thread to itself. After `monkey.patch_all()`, every `recv` and
//! `send` that would block switches to another greenlet instead.
//!
//! `may::net` gives Rust the same shape with no patching: its `TcpStream`
//! has the ordinary blocking-style `Read`/`Write` API, but a read that
//! would block parks the *coroutine* and the worker thread runs another.
//! One worker thread serves every connection.
//!
//! - [`serve`] is the server: an accept loop and one coroutine per client.
//! - [`echo`] is what each coroutine runs.
//! - [`stress`] (a module of its own) opens many connections at once and
//!   checks every echo; [`threads`] is the notes' client, a thread per
//!   connection.
//!
//! Run it: `just run lesson-05 server` in one terminal, then
//! `just run lesson-05 client` or `just run lesson-05 stress` in another.

use std::error::Error;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::time::Duration;

use may::net::{TcpListener, TcpStream};

pub mod stress;
pub mod threads;

/// The lesson's error type: anything that can go wrong, with its message.
pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Where the server listens and the clients connect unless told otherwise:
/// the port the notes use.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8001";

// ANCHOR: configure
/// Sets up may's scheduler before anything is spawned: `workers` threads
/// run coroutines, and none is pinned to a core (so a server and a client
/// on one worker each do not both land on core 0). Then starts the
/// scheduler with an empty coroutine, so its start-up is not counted in
/// the first measurement. Lesson 03 explains each setting.
pub fn configure(workers: usize) {
    may::config()
        .set_workers(workers.max(1))
        .set_worker_pin(false);
    // A coroutine that does nothing cannot panic, so the join cannot fail.
    let _ = may::go!(|| ()).join();
}
// ANCHOR_END: configure

// ANCHOR: serve
/// The server: accepts connections forever, one coroutine per connection.
///
/// It takes an already-bound standard listener (tests bind port 0) and
/// hands it to may, which switches it to non-blocking mode and registers it
/// with its epoll loop. From then on `accept` parks this coroutine until a
/// client arrives.
///
/// What happens to each connection is told as `tracing` events: the
/// server binary shows them with `--verbose`, and they cost next to
/// nothing when nobody listens (as under load).
pub fn serve(listener: std::net::TcpListener) -> io::Result<()> {
    // SAFETY: `into_raw_fd` gives up ownership of a valid listening socket,
    // and `from_raw_fd` takes it over; nothing else holds the descriptor.
    let listener = unsafe { TcpListener::from_raw_fd(listener.into_raw_fd()) };
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if is_transient(&error) => {
                // Out of descriptors, or a client gave up while queued: the
                // server itself is fine. Pause a little (this coroutine
                // only) so we do not spin while descriptors are short.
                tracing::warn!("accept failed, retrying: {error}");
                may::coroutine::sleep(Duration::from_millis(50));
                continue;
            }
            Err(error) => return Err(error),
        };
        tracing::info!("{peer} connected");
        // One coroutine per connection, as `gevent.spawn(handle_request,
        // conn)`. Spawning fails only if no stack can be allocated; that
        // connection is dropped, the server goes on.
        let spawned = may::go!(may::coroutine::Builder::new(), move || {
            match echo(stream, peer) {
                Ok(bytes) => tracing::info!("{peer} closed after {bytes} bytes"),
                // A client that vanishes (reset, broken pipe) ends only its
                // own coroutine.
                Err(error) => tracing::info!("{peer} lost: {error}"),
            }
        });
        if let Err(error) = spawned {
            tracing::warn!("could not start a coroutine for {peer}: {error}");
        }
    }
}
// ANCHOR_END: serve

/// Accept errors that say nothing about the listener itself.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) || matches!(
        // "Too many open files", in this process or in the whole system.
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE)
    )
}

// ANCHOR: echo
/// One connection: read what arrives, write it back, until the client
/// closes. Returns how many bytes were echoed.
///
/// The loop is written as if for a blocking socket, and it is one, *for
/// this coroutine*: a read with nothing to read parks the coroutine (may
/// sees `WouldBlock` from the non-blocking socket, registers interest with
/// epoll, and switches away), and the worker thread serves other clients.
pub fn echo(mut stream: TcpStream, peer: SocketAddr) -> io::Result<u64> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut echoed = 0u64;
    loop {
        let n = match stream.read(&mut buffer) {
            // Zero bytes: the client closed its sending side. Nothing more
            // will come, so close ours too and finish.
            Ok(0) => {
                // The client may already be gone entirely; either way we
                // are done with the connection.
                let _ = stream.shutdown(Shutdown::Write);
                return Ok(echoed);
            }
            Ok(n) => n,
            // A signal interrupted the read: nothing was read, try again.
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            // Reset by the peer, or any other failure: this client is gone.
            Err(error) => return Err(error),
        };
        tracing::info!(
            "{peer} sent {n} bytes: {:?}",
            String::from_utf8_lossy(&buffer[..n])
        );
        // `write_all` loops over short writes, and parks this coroutine
        // while the client's receive window is full.
        stream.write_all(&buffer[..n])?;
        echoed += n as u64;
    }
}
// ANCHOR_END: echo
