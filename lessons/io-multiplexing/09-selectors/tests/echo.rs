//! The mio echo server echoes exactly, for many clients at once, through
//! partial writes, and cleans up every registration after disconnects,
//! however abrupt.
//!
//! Tests run the library's server on a thread, not the `server` binary, so
//! they can look inside it: the registrations left after disconnects.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lesson_09_selectors::{Selector, echo_server};

/// The echo server, turning on a thread until stopped.
struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Selector>>,
}

impl Running {
    fn start() -> Self {
        let listener = support::net::bind("127.0.0.1:0", support::net::BACKLOG).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut selector = echo_server(listener).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                while !stop.load(Ordering::Relaxed) {
                    selector.turn(Some(Duration::from_millis(20))).unwrap();
                }
                selector
            }
        });
        Running {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop and hands back the selector, to look inside.
    fn stop(mut self) -> Selector {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().unwrap();
        thread.join().expect("the server thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Turns the loop until only the listener is registered, or 10 s pass
/// (bounded polling: every client has closed, the server just has to
/// notice).
fn turn_until_only_the_listener_is_left(selector: &mut Selector) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while selector.registrations() > 1 && Instant::now() < deadline {
        selector.turn(Some(Duration::from_millis(20))).unwrap();
    }
}

#[test]
fn a_thousand_concurrent_clients_are_echoed_exactly() {
    support::fdlimit::raise_to(3_000).unwrap();
    let server = Running::start();
    let mut clients: Vec<TcpStream> = (0..1_000).map(|_| connect(server.addr)).collect();
    // Every client sends its own bytes, of its own length (up to 5,000
    // bytes: several reads' worth for some), before any reply is read.
    let messages: Vec<Vec<u8>> = (0..clients.len())
        .map(|i| {
            format!("client {i}: ")
                .bytes()
                .chain((0..i * 5).map(|j| b'a' + (j % 26) as u8))
                .collect()
        })
        .collect();
    for (client, message) in clients.iter_mut().zip(&messages) {
        client.write_all(message).unwrap();
    }
    for (client, message) in clients.iter_mut().zip(&messages) {
        let mut echo = vec![0; message.len()];
        client.read_exact(&mut echo).unwrap();
        assert_eq!(&echo, message);
    }
    drop(clients);
    let mut selector = server.stop();
    turn_until_only_the_listener_is_left(&mut selector);
    assert_eq!(selector.registrations(), 1);
}

#[test]
fn a_megabyte_sent_without_reading_comes_back_intact() {
    // The server's writes fill the socket buffers long before the client
    // reads: partial writes and backpressure, then everything drains.
    let server = Running::start();
    let mut client = connect(server.addr);
    let data: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut writer = client.try_clone().unwrap();
    let to_send = data.clone();
    let sending = std::thread::spawn(move || writer.write_all(&to_send));
    let mut echo = vec![0; data.len()];
    client.read_exact(&mut echo).unwrap();
    sending.join().unwrap().unwrap();
    assert!(echo == data, "the echo differs from what was sent");
}

#[test]
fn abrupt_disconnects_leave_no_registration_behind() {
    let server = Running::start();
    let mut clients = Vec::new();
    for i in 0..90 {
        let mut client = connect(server.addr);
        client.write_all(b"hello before I vanish\n").unwrap();
        match i % 3 {
            // Reset: close with SO_LINGER 0, the kernel sends RST at once.
            0 => reset_on_close(&client),
            // Leave while the echo is still coming: when it arrives at a
            // closed socket, the kernel answers it with RST.
            1 => {}
            // Half-close: "I am done sending", and still read the echo.
            _ => {
                client.shutdown(std::net::Shutdown::Write).unwrap();
                let mut echo = String::new();
                client.read_to_string(&mut echo).unwrap();
                assert_eq!(echo, "hello before I vanish\n");
            }
        }
        clients.push(client);
    }
    drop(clients);
    let mut selector = server.stop();
    turn_until_only_the_listener_is_left(&mut selector);
    assert_eq!(selector.registrations(), 1, "registrations leaked");
}

/// Makes closing `stream` send RST instead of FIN (SO_LINGER with a zero
/// timeout), as a crashed client or a pulled cable would look.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `size_of::<linger>()` bytes from a live
    // value, on a descriptor the stream keeps open.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "{}", std::io::Error::last_os_error());
}
