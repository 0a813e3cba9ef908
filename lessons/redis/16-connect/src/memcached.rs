//! Memcached, spoken by hand: its text protocol over one TCP connection.
//!
//! The notes only link to Memcached. Its protocol is small and readable
//! enough to be the lesson itself, so this module speaks it directly (no
//! client crate): a command is one line, a value follows it as a counted
//! block of bytes, and every reply is a line (or, for `get`, `VALUE` lines
//! each followed by a block, then `END`). [`Memcache`] prints both
//! directions as it goes, so the program's output reads like an `nc`
//! session; [`tour`] runs every command the page lists, against a real
//! server (`just run lesson-16 memcached`).

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where `just up` starts Memcached.
pub const DEFAULT_URL: &str = "memcache://127.0.0.1:11211";

/// The prefix of every key the tour makes.
pub const PREFIX: &str = "lesson16:";

/// Largest value a default server accepts (its `-I`, item size, is 1 MiB).
pub const DEFAULT_ITEM_LIMIT: usize = 1024 * 1024;

/// What went wrong talking to the server.
#[derive(Debug)]
pub enum Error {
    /// Nothing answered, or the connection broke.
    Io(io::Error),
    /// The server said `ERROR`, `CLIENT_ERROR ...` or `SERVER_ERROR ...`.
    Server(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(error) => write!(f, "{error}"),
            Error::Server(line) => write!(f, "the server refused: {line}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(error)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The one-line answers to storage, delete and touch commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Stored,
    /// `add` of a key that exists, `replace`/`append` of one that does not.
    NotStored,
    /// `cas`: the value changed since your `gets`.
    Exists,
    NotFound,
    Deleted,
    Touched,
    Ok,
}

impl Reply {
    fn parse(line: &str) -> Result<Reply> {
        Ok(match line {
            "STORED" => Reply::Stored,
            "NOT_STORED" => Reply::NotStored,
            "EXISTS" => Reply::Exists,
            "NOT_FOUND" => Reply::NotFound,
            "DELETED" => Reply::Deleted,
            "TOUCHED" => Reply::Touched,
            "OK" => Reply::Ok,
            other => return Err(refusal(other)),
        })
    }
}

/// A server's error line as an [`Error`]; anything else unexpected too.
fn refusal(line: &str) -> Error {
    Error::Server(line.to_string())
}

/// One value as `get`/`gets` return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub data: Vec<u8>,
    /// The client's own 32 bits, stored with the value and returned as is.
    pub flags: u32,
    /// `gets` only: the item's version, for `cas`.
    pub cas: Option<u64>,
}

// ANCHOR: client
/// One connection to a Memcached server, printing what it sends (`>`) and
/// receives (`<`) when `echo` is on.
pub struct Memcache {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// A label for the printed lines (`A`, `B` when two clients race).
    name: &'static str,
    echo: bool,
}

impl Memcache {
    /// Connects to `url` (`memcache://HOST:PORT`, or just `HOST:PORT`).
    pub fn connect(url: &str, name: &'static str, echo: bool) -> io::Result<Memcache> {
        let addr = url
            .strip_prefix("memcache://")
            .unwrap_or(url)
            .trim_end_matches('/');
        let addrs: Vec<_> = addr.to_socket_addrs()?.collect();
        let stream = TcpStream::connect_timeout(
            addrs
                .first()
                .ok_or_else(|| io::Error::other("no address"))?,
            Duration::from_secs(5),
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Memcache {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            name,
            echo,
        })
    }

    /// Sends one command line, and the value's bytes if it has one.
    fn send(&mut self, line: &str, data: Option<&[u8]>) -> io::Result<()> {
        self.show('>', line);
        let mut out = Vec::with_capacity(line.len() + 2 + data.map_or(0, |d| d.len() + 2));
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(data) = data {
            self.show('>', &printable(data));
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out)
    }

    /// Reads one reply line, without its `\r\n`.
    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        self.show('<', &line);
        Ok(line)
    }

    fn show(&self, direction: char, text: &str) {
        if self.echo {
            println!("  {}{direction} {text}", self.name);
        }
    }

    // ANCHOR: store
    /// `set`, `add`, `replace`, `append` or `prepend`: the command, key,
    /// flags, lifetime in seconds (0: none) and byte count on one line,
    /// then exactly that many bytes.
    pub fn store(
        &mut self,
        verb: &str,
        key: &str,
        flags: u32,
        ttl: u32,
        data: &[u8],
    ) -> Result<Reply> {
        self.send(
            &format!("{verb} {key} {flags} {ttl} {}", data.len()),
            Some(data),
        )?;
        Reply::parse(&self.line()?)
    }
    // ANCHOR_END: store

    /// `cas`: stores only if the item's version is still `version`.
    pub fn cas(&mut self, key: &str, data: &[u8], version: u64) -> Result<Reply> {
        self.send(
            &format!("cas {key} 0 0 {} {version}", data.len()),
            Some(data),
        )?;
        Reply::parse(&self.line()?)
    }

    // ANCHOR: get
    /// `get` (or `gets`, with versions): `VALUE key flags bytes [cas]`,
    /// the bytes, and `END`. A missing key is simply not listed.
    pub fn get(&mut self, key: &str) -> Result<Option<Value>> {
        self.retrieve("get", key)
    }

    pub fn gets(&mut self, key: &str) -> Result<Option<Value>> {
        self.retrieve("gets", key)
    }

    fn retrieve(&mut self, verb: &str, key: &str) -> Result<Option<Value>> {
        self.send(&format!("{verb} {key}"), None)?;
        let mut found = None;
        loop {
            let line = self.line()?;
            if line == "END" {
                return Ok(found);
            }
            let fields: Vec<&str> = line.split(' ').collect();
            let ["VALUE", _key, flags, bytes, ref rest @ ..] = fields[..] else {
                return Err(refusal(&line));
            };
            let parse = |s: &str| s.parse::<u64>().map_err(|_| refusal(&line));
            let bytes = parse(bytes)? as usize;
            // The value is a counted block, not a line: it may hold "\r\n".
            let mut data = vec![0; bytes + 2];
            self.reader.read_exact(&mut data)?;
            data.truncate(bytes);
            self.show('<', &printable(&data));
            found = Some(Value {
                data,
                flags: parse(flags)? as u32,
                cas: rest.first().map(|s| parse(s)).transpose()?,
            });
        }
    }
    // ANCHOR_END: get

    /// `incr` / `decr`: the new value, or `None` if the key is missing.
    pub fn incr(&mut self, verb: &str, key: &str, by: u64) -> Result<Option<u64>> {
        self.send(&format!("{verb} {key} {by}"), None)?;
        let line = self.line()?;
        if line == "NOT_FOUND" {
            return Ok(None);
        }
        line.parse().map(Some).map_err(|_| refusal(&line))
    }

    /// `delete`, `touch` and `flush_all`: one command, one reply line.
    pub fn simple(&mut self, command: &str) -> Result<Reply> {
        self.send(command, None)?;
        Reply::parse(&self.line()?)
    }

    /// `stats`: every `STAT name value` line until `END`.
    pub fn stats(&mut self) -> Result<Vec<(String, String)>> {
        let echo = std::mem::replace(&mut self.echo, false);
        self.send("stats", None)?;
        let mut stats = Vec::new();
        let result = loop {
            let line = match self.line() {
                Ok(line) => line,
                Err(error) => break Err(error.into()),
            };
            if line == "END" {
                break Ok(stats);
            }
            match line.strip_prefix("STAT ").and_then(|s| s.split_once(' ')) {
                Some((name, value)) => stats.push((name.to_string(), value.to_string())),
                None => break Err(refusal(&line)),
            }
        };
        self.echo = echo;
        result
    }

    /// One counter from `stats`.
    pub fn stat(&mut self, name: &str) -> Result<u64> {
        self.stats()?
            .into_iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| Error::Server(format!("no stat {name}")))
    }
}
// ANCHOR_END: client

/// Bytes as a readable line: text as is, and a short note for the rest.
fn printable(data: &[u8]) -> String {
    if data.len() > 80 {
        return format!("({} bytes)", data.len());
    }
    String::from_utf8_lossy(data).escape_debug().to_string()
}

fn section(title: &str) {
    println!();
    println!("== {title}");
}

fn note(text: &str) {
    println!("  -- {text}");
}

// ANCHOR: tour
/// Every command of the page, in order, against the server at `url`.
pub fn tour(url: &str) -> Result<()> {
    let mut mc = Memcache::connect(url, "", true)?;
    let key = |name: &str| format!("{PREFIX}{name}");

    section("set and get: flags, a lifetime, bytes");
    mc.store("set", &key("greeting"), 42, 60, b"hello")?;
    let value = mc.get(&key("greeting"))?;
    note(&format!(
        "flags came back as stored: {:?}",
        value.map(|v| v.flags)
    ));

    section("add (only if missing) and replace (only if present)");
    mc.store("add", &key("greeting"), 0, 60, b"hi")?;
    mc.store("replace", &key("nobody"), 0, 60, b"hi")?;
    mc.store("replace", &key("greeting"), 0, 60, b"hi")?;

    section("append and prepend: bytes glued to an existing value");
    mc.store("append", &key("greeting"), 0, 0, b" there")?;
    mc.store("prepend", &key("greeting"), 0, 0, b"oh, ")?;
    mc.get(&key("greeting"))?;

    counters(&mut mc, &key)?;
    lost_race(url, &key)?;

    section("delete");
    mc.simple(&format!("delete {}", key("greeting")))?;
    mc.simple(&format!("delete {}", key("greeting")))?;

    expiry(&mut mc, &key)?;
    too_large(&mut mc, &key)?;

    section("flush_all: every item on the server is gone (not only this lesson's)");
    mc.store("set", &key("doomed"), 0, 0, b"x")?;
    mc.simple("flush_all")?;
    mc.get(&key("doomed"))?;
    Ok(())
}
// ANCHOR_END: tour

// ANCHOR: counters
/// `incr` and `decr` work on values that are decimal numbers; unlike
/// Redis, a missing key is not zero, and nothing goes below zero.
fn counters(mc: &mut Memcache, key: &impl Fn(&str) -> String) -> Result<()> {
    section("incr and decr");
    mc.incr("incr", &key("visits"), 1)?;
    note("a missing key is NOT_FOUND (Redis would create it and answer 1)");
    mc.store("set", &key("visits"), 0, 0, b"10")?;
    mc.incr("incr", &key("visits"), 5)?;
    mc.incr("decr", &key("visits"), 100)?;
    note("decr stops at 0 (Redis would answer -85)");
    mc.store("set", &key("word"), 0, 0, b"ten")?;
    match mc.incr("incr", &key("word"), 1) {
        Err(Error::Server(line)) => note(&format!("not a number: refused ({line})")),
        other => note(&format!("unexpected: {other:?}")),
    }
    Ok(())
}
// ANCHOR_END: counters

// ANCHOR: lost_race
/// Two clients read the same item with `gets` and both try to write it
/// back with `cas`: the first wins, the second learns it lost (`EXISTS`)
/// and must read again. Optimistic locking, like Redis's WATCH.
fn lost_race(url: &str, key: &impl Fn(&str) -> String) -> Result<()> {
    section("gets and cas: two clients, one item, a lost race");
    let mut a = Memcache::connect(url, "A", true)?;
    let mut b = Memcache::connect(url, "B", true)?;
    let k = key("stock");
    a.store("set", &k, 0, 0, b"10")?;
    let seen_by_a = a.gets(&k)?.and_then(|v| v.cas).unwrap_or(0);
    let seen_by_b = b.gets(&k)?.and_then(|v| v.cas).unwrap_or(0);
    a.cas(&k, b"9", seen_by_a)?;
    let lost = b.cas(&k, b"9", seen_by_b)?;
    note(&format!(
        "B's cas: {lost:?}: A wrote first, B's version is stale"
    ));
    let fresh = b.gets(&k)?;
    let (left, version) = fresh.map_or((0, 0), |v| {
        (
            String::from_utf8_lossy(&v.data).parse::<u64>().unwrap_or(0),
            v.cas.unwrap_or(0),
        )
    });
    b.cas(&k, (left - 1).to_string().as_bytes(), version)?;
    b.get(&k)?;
    note("two buyers, two items taken: 10 became 8, and no update was lost");
    Ok(())
}
// ANCHOR_END: lost_race

/// A lifetime in seconds: the item is there, then it is not. The wait is
/// bounded polling: Memcached's clock ticks once a second.
fn expiry(mc: &mut Memcache, key: &impl Fn(&str) -> String) -> Result<()> {
    section("expiry: set with a 1-second lifetime");
    let k = key("flash");
    mc.store("set", &k, 0, 1, b"now you see me")?;
    mc.get(&k)?;
    let start = Instant::now();
    let echo = std::mem::replace(&mut mc.echo, false);
    let mut gone = false;
    while start.elapsed() < Duration::from_secs(5) {
        if mc.get(&k)?.is_none() {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    mc.echo = echo;
    if gone {
        note(&format!(
            "gone after {:.1} s (asked every 50 ms)",
            start.elapsed().as_secs_f64()
        ));
    } else {
        note("still there after 5 s");
    }
    mc.get(&k)?;
    Ok(())
}

/// A value over the item size limit is refused by the server, with a
/// reason, and the connection goes on working.
fn too_large(mc: &mut Memcache, key: &impl Fn(&str) -> String) -> Result<()> {
    section("a value over 1 MiB (the server's item size limit)");
    let big = vec![b'x'; 2 * DEFAULT_ITEM_LIMIT];
    match mc.store("set", &key("big"), 0, 0, &big) {
        Err(Error::Server(line)) => note(&format!("refused: {line}")),
        other => note(&format!(
            "stored anyway: {other:?} (is -I larger on this server?)"
        )),
    }
    mc.get(&key("big"))?;
    note("nothing was stored, and the connection still works");
    Ok(())
}

// ANCHOR: evict
/// Memcached is a cache: when its memory is full it throws out the least
/// recently used items to make room. Writes 512 KiB values until the
/// server reports an eviction, then looks for the first key.
pub fn evict(url: &str) -> Result<()> {
    let mut mc = Memcache::connect(url, "", false)?;
    let limit = mc.stat("limit_maxbytes")?;
    let before = mc.stat("evictions")?;
    println!("server memory limit: {} MiB", limit / (1024 * 1024));
    let value = vec![b'v'; 512 * 1024];
    let mut written = 0u64;
    // Twice the limit is always enough to force evictions.
    while written < 2 * limit + (64 << 20) {
        let n = written / value.len() as u64;
        mc.store("set", &format!("{PREFIX}fill:{n}"), 0, 0, &value)?;
        written += value.len() as u64;
        if mc.stat("evictions")? > before {
            break;
        }
    }
    let evicted = mc.stat("evictions")? - before;
    println!(
        "wrote {} MiB in 512 KiB values: {evicted} eviction(s)",
        written >> 20
    );
    let first = mc.get(&format!("{PREFIX}fill:0"))?;
    println!(
        "the first value written: {}",
        if first.is_some() {
            "still there"
        } else {
            "evicted (least recently used)"
        }
    );
    for n in 0..=written / value.len() as u64 {
        mc.simple(&format!("delete {PREFIX}fill:{n}")).ok();
    }
    Ok(())
}
// ANCHOR_END: evict
