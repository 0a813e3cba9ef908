//! A local HTTP server that is slow on purpose.
//!
//! The notes download python.org, yahoo.com and github.com. A classroom may
//! have no internet, and real sites answer in unpredictable times, so this
//! server stands in for them: the path says how long to wait before
//! answering and how big the body is.
//!
//! ```text
//! GET /delay/800/bytes/200000   wait 800 ms, then send 200,000 bytes
//! GET /                         a short help text
//! anything else                 404
//! ```
//!
//! It is deliberately plain: one OS thread per connection, blocking IO.
//! It must be able to be slow for many clients at once, and it must not
//! depend on either of the two runtimes the clients compare.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// The longest delay a path may ask for, so a typo cannot hang a client.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// The largest body a path may ask for (100 MB).
pub const MAX_BYTES: u64 = 100_000_000;
/// Bytes per write while sending a body.
const CHUNK: usize = 16 * 1024;

// ANCHOR: route
/// What a request path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/delay/{ms}/bytes/{n}`.
    Delayed { delay: Duration, bytes: u64 },
    /// `/`: the help text.
    Help,
}

/// Reads a path like `/delay/800/bytes/200000`. `None` means 404.
pub fn route(path: &str) -> Option<Route> {
    let path = path.split('?').next().unwrap_or(path);
    if path == "/" {
        return Some(Route::Help);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["delay", ms, "bytes", n] => {
            let delay = Duration::from_millis(ms.parse().ok()?);
            let bytes: u64 = n.parse().ok()?;
            (delay <= MAX_DELAY && bytes <= MAX_BYTES).then_some(Route::Delayed { delay, bytes })
        }
        _ => None,
    }
}
// ANCHOR_END: route

/// The path for a delay and a size.
pub fn path(delay: Duration, bytes: u64) -> String {
    format!("/delay/{}/bytes/{bytes}", delay.as_millis())
}

// ANCHOR: serve
/// Serves forever on an already-bound listener: one thread per connection.
pub fn serve(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::Builder::new()
                    .name("delay-server connection".into())
                    .spawn(move || {
                        // A client that hangs up early is its own business.
                        let _ = answer(stream);
                    })?;
            }
            // A client that gave up while queued; keep accepting.
            Err(error) if error.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Starts the server on a free loopback port, in a background thread of
/// this process, and returns its address. The thread lives as long as the
/// program.
pub fn start_in_background() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("delay-server".into())
        .spawn(move || serve(listener))?;
    Ok(addr)
}
// ANCHOR_END: serve

// ANCHOR: answer
/// One request: read its head, wait as asked, send the body, close.
fn answer(stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers: read lines until the empty one.
    let mut header = String::new();
    loop {
        header.clear();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut stream = stream;
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            b"only GET is served\n",
        );
    }
    match route(target) {
        Some(Route::Help) => respond(&mut stream, "200 OK", HELP.as_bytes()),
        None => respond(
            &mut stream,
            "404 Not Found",
            format!("no such path: {target}\n\n{HELP}").as_bytes(),
        ),
        Some(Route::Delayed { delay, bytes }) => {
            thread::sleep(delay);
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {bytes}\r\nConnection: close\r\n\r\n"
            )?;
            let pattern = body_pattern();
            let mut left = bytes;
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                stream.write_all(&pattern[..n])?;
                left -= n as u64;
            }
            stream.flush()
        }
    }
}
// ANCHOR_END: answer

fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// One chunk of body: lines of the alphabet, easy to recognise in a dump.
fn body_pattern() -> Vec<u8> {
    b"abcdefghijklmnopqrstuvwxyz0123456789\n"
        .iter()
        .copied()
        .cycle()
        .take(CHUNK)
        .collect()
}

const HELP: &str = "\
lesson 04 delay server
  GET /delay/{ms}/bytes/{n}   waits ms milliseconds, then sends n bytes
  for example /delay/800/bytes/200000
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_choose_delay_and_size() {
        assert_eq!(
            route("/delay/800/bytes/200000"),
            Some(Route::Delayed {
                delay: Duration::from_millis(800),
                bytes: 200_000
            })
        );
        assert_eq!(
            route(&path(Duration::from_millis(5), 7)),
            route("/delay/5/bytes/7")
        );
        assert_eq!(route("/"), Some(Route::Help));
        assert_eq!(route("/delay/x/bytes/1"), None);
        assert_eq!(route("/delay/1/bytes/1/extra"), None);
        assert_eq!(route("/delay/600001/bytes/1"), None);
    }
}
