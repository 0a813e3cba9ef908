//! The notes' client: one OS thread per connection.
//!
//! The notes test their gevent server with a hundred threads, each with its
//! own blocking socket, each printing its thread id. It is the other side
//! of the lesson's picture: the server holds every connection on one
//! thread, while this client needs a thread (and a stack) for each one.
//! [`run`] starts them all, keeps every connection open at the same time,
//! measures what that costs this process, then lets them talk.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use crate::Result;

/// What one thread sent and got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// The kernel's id of the thread (`gettid`), as `ps -L` shows it.
    pub thread: i32,
    pub sent: String,
    pub got: String,
}

/// What the whole run cost this process, read from `/proc/self/status`
/// while every connection was open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Footprint {
    /// Threads alive in this process (the connection threads and main).
    pub threads: u64,
    /// Address space reserved (`VmSize`): every thread's stack counts.
    pub virtual_kib: u64,
    /// Memory really in use (`VmRSS`).
    pub resident_kib: u64,
}

// ANCHOR: run
/// Starts `count` threads; each connects to `server`, waits until all are
/// connected, sends one line and reads its echo. `on_echo` is called from
/// each thread as its echo comes back (the program prints it there, as the
/// notes' client does).
pub fn run(
    server: SocketAddr,
    count: usize,
    on_echo: impl Fn(&Echo) + Send + Sync + 'static,
) -> Result<(Vec<Echo>, Footprint)> {
    let on_echo = Arc::new(on_echo);
    // Everyone (main too) meets twice: once all are connected, so the
    // footprint is measured with every connection open; then main lets
    // them talk.
    let connected = Arc::new(Barrier::new(count + 1));
    let talk = Arc::new(Barrier::new(count + 1));
    let mut threads = Vec::with_capacity(count);
    for n in 0..count {
        let (connected, talk, on_echo) = (connected.clone(), talk.clone(), on_echo.clone());
        threads.push(thread::spawn(move || -> Result<Echo> {
            let stream = TcpStream::connect(server);
            connected.wait();
            talk.wait();
            let mut stream = stream?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            let thread = thread_id();
            let sent = format!("hello from thread {thread} (#{n})\n");
            stream.write_all(sent.as_bytes())?;
            let mut got = vec![0; sent.len()];
            stream.read_exact(&mut got)?;
            let echo = Echo {
                thread,
                sent: sent.trim_end().to_string(),
                got: String::from_utf8_lossy(&got).trim_end().to_string(),
            };
            on_echo(&echo);
            Ok(echo)
        }));
    }
    connected.wait();
    let footprint = footprint();
    talk.wait();
    let mut echoes = Vec::with_capacity(count);
    let mut failures = Vec::new();
    for (n, thread) in threads.into_iter().enumerate() {
        match thread.join() {
            Ok(Ok(echo)) => echoes.push(echo),
            Ok(Err(error)) => failures.push(format!("thread #{n}: {error}")),
            Err(_) => failures.push(format!("thread #{n} panicked")),
        }
    }
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} of {count} threads failed; the first: {first}\n  Is the server running? \
             Start it in another terminal with: just run lesson-05 server",
            failures.len()
        )
        .into());
    }
    Ok((echoes, footprint))
}
// ANCHOR_END: run

/// The calling thread's id in the kernel.
fn thread_id() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// This process's threads and memory, from `/proc/self/status`.
pub fn footprint() -> Footprint {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Footprint {
        threads: field("Threads:"),
        virtual_kib: field("VmSize:"),
        resident_kib: field("VmRSS:"),
    }
}
