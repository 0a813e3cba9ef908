//! A select server running on a thread of the test, stopped when dropped.
//!
//! Tests run the library's server in-process, not the `server` binary, so
//! a test controls its lifetime and needs no process of its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use lesson_08_select_server::Server;

pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn start() -> Self {
        let listener = support::net::bind("127.0.0.1:0", support::net::BACKLOG).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Server::new(listener).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                // Short turns, so that the stop flag is seen soon.
                while !stop.load(Ordering::Relaxed) {
                    server.turn(Some(Duration::from_millis(20)))?;
                }
                Ok(())
            }
        });
        Running {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let result = thread.join().expect("the server thread panicked");
            if !std::thread::panicking() {
                result.expect("the server loop failed");
            }
        }
    }
}
