//! Downloads with may coroutines: blocking-style code that switches on IO.
//!
//! [`fetch`] is an HTTP client written the plain way: connect, write the
//! request, read until the server closes. Run on a thread, every read would
//! block the thread. Run in a may coroutine on a `may::net::TcpStream`, a
//! read that finds no data parks the coroutine instead, and the worker
//! thread runs another download meanwhile. That is what gevent's
//! `monkey.patch_all()` achieves by swapping Python's socket module at run
//! time; here the program simply uses a socket type that behaves so.
//!
//! https works too: rustls is a blocking-style TLS library, and given a may
//! socket underneath, its reads park the coroutine just the same.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use may::net::TcpStream;
use reqwest::Url;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use rustls_platform_verifier::ConfigVerifierExt;

use crate::{Download, Outcome, Result, Run, finished_line, started_line};

/// How many redirects to follow before giving up, as a browser would.
const MAX_REDIRECTS: usize = 5;
/// The most a response head may take.
const MAX_HEAD: usize = 64 * 1024;

/// Each download coroutine's stack, in bytes. may's default (32 KiB) is
/// plenty for plain HTTP, but not for https: loading the system's root
/// certificates for TLS overflows it. Only the pages a coroutine touches
/// take memory, so a roomy stack costs little.
pub const STACK_BYTES: usize = 256 * 1024;

// ANCHOR: configure
/// Sets up may before anything is spawned: `workers` threads run the
/// coroutines (gevent has one), unpinned, with stacks big enough for TLS.
/// Then starts the scheduler with an empty coroutine, so its start-up is
/// not counted in the first run. Lesson 03 explains the other settings.
pub fn configure(workers: usize) {
    // may counts stack sizes in machine words, not bytes.
    let words = STACK_BYTES / size_of::<usize>();
    may::config()
        .set_workers(workers.max(1))
        .set_stack_size(words);
    may::config().set_worker_pin(false);
    // A coroutine that does nothing cannot panic, so the join cannot fail.
    let _ = may::go!(|| ()).join();
}
// ANCHOR_END: configure

// ANCHOR: runs
/// The notes' first half: one URL after another, in a single coroutine.
pub fn one_by_one(urls: &[String], timeout: Duration) -> Result<Run> {
    let began = Instant::now();
    let urls = urls.to_vec();
    let handle = may::go!(may::coroutine::Builder::new(), move || {
        urls.iter()
            .map(|url| fetch_and_print(url, timeout))
            .collect::<Vec<_>>()
    })?;
    let outcomes = handle
        .join()
        .map_err(|_| "the download coroutine panicked")?;
    Ok(Run {
        outcomes,
        elapsed: began.elapsed(),
    })
}

/// The notes' second half: `gevent.joinall([gevent.spawn(f, url), ...])`.
/// One coroutine per URL, all started before any is joined.
pub fn all_at_once(urls: &[String], timeout: Duration) -> Result<Run> {
    let began = Instant::now();
    let mut handles = Vec::with_capacity(urls.len());
    for url in urls {
        let url = url.clone();
        handles.push(may::go!(may::coroutine::Builder::new(), move || {
            fetch_and_print(&url, timeout)
        })?);
    }
    let mut outcomes = Vec::with_capacity(handles.len());
    for handle in handles {
        outcomes.push(handle.join().map_err(|_| "a download coroutine panicked")?);
    }
    Ok(Run {
        outcomes,
        elapsed: began.elapsed(),
    })
}

/// The notes' `f(url)`: print, download, print.
fn fetch_and_print(url: &str, timeout: Duration) -> Outcome {
    println!("{}", started_line(url));
    let outcome = Outcome {
        url: url.to_string(),
        result: fetch(url, timeout).map_err(|error| crate::describe(&*error)),
    };
    println!("{}", finished_line(&outcome));
    outcome
}
// ANCHOR_END: runs

// ANCHOR: fetch
/// Downloads `url` (http or https), following redirects, and counts the
/// body's bytes. Each network wait inside parks only the calling coroutine.
/// A status other than 2xx is an error.
pub fn fetch(url: &str, timeout: Duration) -> Result<Download> {
    let began = Instant::now();
    let mut url = Url::parse(url).map_err(|error| format!("not a URL ({error})"))?;
    for _ in 0..=MAX_REDIRECTS {
        let mut connection = open(&url, timeout)?;
        let response = get(&mut connection, &url)?;
        match (response.status, &response.location) {
            (300..=399, Some(location)) => {
                url = url
                    .join(location)
                    .map_err(|error| format!("bad redirect to {location:?}: {error}"))?;
            }
            (200..=299, _) => {
                return Ok(Download {
                    status: response.status,
                    bytes: response.body_bytes,
                    reads: response.reads,
                    elapsed: began.elapsed(),
                });
            }
            (status, _) => return Err(format!("HTTP {status}").into()),
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects").into())
}
// ANCHOR_END: fetch

/// A connection, plain or encrypted; both read and write like a socket.
enum Connection {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Connection::Plain(stream) => stream.read(buf),
            Connection::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Connection::Plain(stream) => stream.write(buf),
            Connection::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Connection::Plain(stream) => stream.flush(),
            Connection::Tls(stream) => stream.flush(),
        }
    }
}

/// Connects to the URL's host, with TLS for https.
fn open(url: &Url, timeout: Duration) -> Result<Connection> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url
        .port_or_known_default()
        .ok_or("the URL has no port and no known scheme")?;
    let mut last_error = None;
    let mut stream = None;
    for addr in resolve(host, port)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = Some(format!("connect to {addr}: {error}")),
        }
    }
    let stream =
        stream.ok_or_else(|| last_error.unwrap_or_else(|| format!("{host} has no address")))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    match url.scheme() {
        "http" => Ok(Connection::Plain(stream)),
        "https" => {
            // The host name as TLS checks it: without IPv6 brackets.
            let name = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let name = rustls::pki_types::ServerName::try_from(name)?;
            let tls = ClientConnection::new(tls_config()?, name)?;
            Ok(Connection::Tls(Box::new(StreamOwned::new(tls, stream))))
        }
        other => Err(format!("cannot fetch {other}: URLs (only http and https)").into()),
    }
}

/// The TLS settings, built once: the system's trusted roots.
fn tls_config() -> Result<Arc<ClientConfig>> {
    static CONFIG: OnceLock<std::result::Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            crate::install_tls_provider();
            ClientConfig::with_platform_verifier()
                .map(Arc::new)
                .map_err(|error| format!("TLS setup: {error}"))
        })
        .clone()
        .map_err(Into::into)
}

// ANCHOR: resolve
/// Finds the addresses of `host`.
///
/// A literal address needs no lookup. A name does, and the system's
/// resolver (`getaddrinfo`) blocks its thread: may cannot make it switch.
/// So the lookup runs on a helper thread, and this coroutine waits on a may
/// channel, which parks only the coroutine. (gevent does the same: its
/// default resolver runs `getaddrinfo` in a thread pool.)
fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (sender, receiver) = may::sync::mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::Builder::new()
        .name("resolver".into())
        .spawn(move || {
            let found = target
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>());
            let _ = sender.send(found);
        })?;
    let found = receiver
        .recv()
        .map_err(|_| "the resolver thread stopped")?
        .map_err(|error| format!("cannot resolve {host}: {error}"))?;
    Ok(found)
}
// ANCHOR_END: resolve

/// What [`get`] learnt from a response.
struct Response {
    status: u16,
    /// Where a redirect points.
    location: Option<String>,
    body_bytes: u64,
    reads: u64,
}

// ANCHOR: get
/// Sends a GET and reads the whole response, counting the body's bytes.
///
/// HTTP/1.0 keeps this short: the server must not use chunked encoding and
/// closes the connection after the body, so the body is "everything until
/// the end" (or `Content-Length` bytes, when the server says).
fn get(connection: &mut Connection, url: &Url) -> Result<Response> {
    let host = url.host_str().unwrap_or_default();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    let request = format!(
        "GET {target} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: lesson-04-fetch\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    // For https, the first write also runs the TLS handshake.
    connection
        .write_all(request.as_bytes())
        .and_then(|()| connection.flush())
        .map_err(|error| format!("sending the request: {error}"))?;

    // The head: read until the empty line that ends it.
    let mut buffer = vec![0u8; 16 * 1024];
    let mut head = Vec::new();
    let mut reads = 0;
    let head_end = loop {
        if let Some(end) = find(&head, b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > MAX_HEAD {
            return Err("the response head is too long".into());
        }
        let n = read_some(connection, &mut buffer)?;
        if n == 0 {
            return Err("the server closed the connection before answering".into());
        }
        reads += 1;
        head.extend_from_slice(&buffer[..n]);
    };
    let text = String::from_utf8_lossy(&head[..head_end]).into_owned();
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("the response has no status line")?;
    let header = |name: &str| {
        text.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let location = header("location");
    let length: Option<u64> = header("content-length").and_then(|v| v.parse().ok());

    // The body: what came with the head, then everything until the end.
    let mut body_bytes = (head.len() - head_end) as u64;
    while length.is_none_or(|length| body_bytes < length) {
        let n = read_some(connection, &mut buffer)?;
        if n == 0 {
            break;
        }
        reads += 1;
        body_bytes += n as u64;
    }
    match length {
        Some(length) if body_bytes < length => {
            Err(format!("the body ended after {body_bytes} of {length} bytes").into())
        }
        _ => Ok(Response {
            status,
            location,
            body_bytes,
            reads,
        }),
    }
}
// ANCHOR_END: get

// ANCHOR: read_some
/// One read, with the cases every IO loop must decide about made explicit.
fn read_some(connection: &mut Connection, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match connection.read(buffer) {
            // A signal arrived before any data: nothing happened, read again.
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            // Many https servers close without TLS's goodbye message
            // (close_notify). With the body delimited by the close, that
            // is the end of the body, as browsers and curl take it.
            Err(error) if error.kind() == ErrorKind::UnexpectedEof => return Ok(0),
            // may's socket never shows WouldBlock: it parks the coroutine
            // until data arrives instead. With a timeout set, a read that
            // waits too long returns TimedOut (or WouldBlock), an error.
            other => return other,
        }
    }
}
// ANCHOR_END: read_some

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
