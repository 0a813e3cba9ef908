//! [`Echo`]: a connection that shows every command it sends and every reply
//! it gets, the way `redis-cli` prints them.
//!
//! The Redis lessons are written with the `redis` crate's ordinary methods
//! (`con.set(..)`, `con.hgetall(..)`, `con.hscan(..)`). Wrapped in an
//! `Echo`, the same code prints what actually went over the wire:
//!
//! ```text
//! > SET lesson17:name alex NX
//!   OK
//! > MGET lesson17:k1 lesson17:k2 lesson17:missing
//!   1) "v1"
//!   2) "v2"
//!   3) (nil)
//! ```
//!
//! Because the printed command is decoded from the bytes the crate sends, it
//! cannot disagree with the code: a student sees that `hset_multiple` sends
//! `HMSET`, or that the `hscan` iterator is `HSCAN` called again and again
//! with the cursor the server handed back.
//!
//! Tests use [`Echo::capturing`]: nothing is printed, and every exchange is
//! kept in a [`Transcript`] to assert on.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use redis::{ConnectionLike, RedisResult, Value};

/// Longer arrays are cut after this many elements, with a `... (N more)`
/// line, so that a 300-field hash does not scroll the lesson off screen.
const DEFAULT_ARRAY_LIMIT: usize = 12;

/// A command with more arguments shows only its first ones (an HSET of 300
/// fields would fill the screen).
const ARGS_SHOWN: usize = 12;

/// Longer strings in replies are cut to their first [`STRING_SHOWN`]
/// bytes (a 126-byte bitmap is mostly `\x00`).
const STRING_LIMIT: usize = 64;
const STRING_SHOWN: usize = 16;

/// A connection wrapper that prints (or records) each command and its reply.
///
/// It implements [`redis::ConnectionLike`], so every `redis::Commands`
/// method, `redis::cmd(..)`, pipelines and the scan iterators work on it
/// unchanged.
pub struct Echo<C = redis::Connection> {
    /// The real connection every command goes through.
    inner: C,
    /// Printed before each line, e.g. `[producer] `, when several
    /// connections print to the same terminal.
    tag: String,
    /// Where the lines go: the terminal, or a transcript for tests.
    sink: Sink,
    /// How many elements of an array reply to show.
    array_limit: usize,
    /// Whether replies are printed (they are always recorded).
    replies_shown: bool,
}

/// Where an [`Echo`] writes.
#[derive(Clone)]
enum Sink {
    Stdout,
    /// Shared so a test can keep a handle while the `Echo` is moved into
    /// the code under test (or into another thread).
    Capture(Arc<Mutex<Transcript>>),
}

/// Everything an [`Echo`] in capturing mode saw, in order.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// The commands with their replies.
    pub exchanges: Vec<Exchange>,
    /// The whole text, exactly as it would have been printed.
    pub text: String,
}

/// One command and what came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The tag of the connection that sent it (see [`Echo::sibling`]);
    /// empty for the lesson's main connection.
    pub who: String,
    /// The command as `redis-cli` would show it: `SET lesson17:name alex`.
    pub command: String,
    /// The reply, formatted as `redis-cli` shows it (several lines for an
    /// array), without the indentation.
    pub shown: String,
    /// The reply itself, for typed assertions (`redis::from_redis_value`).
    /// A server error (`WRONGTYPE ...`) is a `Value::ServerError`.
    pub value: Value,
}

impl<C> Echo<C> {
    /// Prints to the terminal.
    pub fn new(inner: C) -> Self {
        Self::with_sink(inner, Sink::Stdout)
    }

    /// Prints nothing; records into the returned transcript instead.
    pub fn capturing(inner: C) -> (Self, Arc<Mutex<Transcript>>) {
        let transcript = Arc::new(Mutex::new(Transcript::default()));
        let echo = Self::with_sink(inner, Sink::Capture(Arc::clone(&transcript)));
        (echo, transcript)
    }

    fn with_sink(inner: C, sink: Sink) -> Self {
        Echo {
            inner,
            tag: String::new(),
            sink,
            array_limit: DEFAULT_ARRAY_LIMIT,
            replies_shown: true,
        }
    }

    /// Another connection that writes where this one does (the terminal,
    /// or the same transcript), with `tag` in front of its lines: for a
    /// second client in the same lesson, like a producer thread.
    pub fn sibling<D>(&self, inner: D, tag: &str) -> Echo<D> {
        Echo {
            inner,
            tag: tag.to_string(),
            sink: self.sink.clone(),
            array_limit: self.array_limit,
            replies_shown: true,
        }
    }

    /// Prints only the commands, not the replies (which are still
    /// recorded when capturing). For a second client whose replies would
    /// land in the middle of the main client's output: a producer's
    /// `(integer) 1` printed just after the consumer's next command would
    /// look like that command's answer.
    pub fn without_replies(mut self) -> Self {
        self.replies_shown = false;
        self
    }

    /// Changes how many elements of an array reply are shown from now on;
    /// returns the previous limit (to put it back).
    pub fn set_array_limit(&mut self, limit: usize) -> usize {
        std::mem::replace(&mut self.array_limit, limit)
    }

    /// A heading for the next group of commands.
    pub fn section(&mut self, title: &str) {
        self.emit(&format!("\n== {title} =="));
    }

    /// A remark on what just happened, printed as `# text`.
    pub fn note(&mut self, text: &str) {
        self.emit(&format!("# {text}"));
    }

    /// The connection inside, e.g. to hand it to code that must not print.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Writes one or more lines, each with the tag in front.
    fn emit(&mut self, text: &str) {
        let mut out = String::new();
        for line in text.split('\n') {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{}{line}", self.tag);
            }
        }
        match &self.sink {
            // One write per call, so lines from two threads never mix
            // inside a block. A closed stdout (`| head`) is not a reason to
            // stop half way and leave keys behind: errors are ignored.
            Sink::Stdout => {
                let _ = std::io::stdout().lock().write_all(out.as_bytes());
            }
            Sink::Capture(transcript) => {
                if let Ok(mut transcript) = transcript.lock() {
                    transcript.text.push_str(&out);
                }
            }
        }
    }

    /// Shows `commands` before they are sent: a blocking command (BLPOP)
    /// is on screen while it waits.
    fn show_commands(&mut self, commands: &[String]) {
        let text: Vec<String> = commands.iter().map(|c| format!("> {c}")).collect();
        self.emit(&text.join("\n"));
    }

    /// Shows one reply under its command and records the pair.
    fn show_reply(&mut self, command: &str, value: &Value) {
        let shown = show_value(value, self.array_limit);
        if self.replies_shown {
            let indented: Vec<String> = shown.lines().map(|l| format!("  {l}")).collect();
            self.emit(&indented.join("\n"));
        }
        if let Sink::Capture(transcript) = &self.sink {
            if let Ok(mut transcript) = transcript.lock() {
                transcript.exchanges.push(Exchange {
                    who: self.tag.trim().to_string(),
                    command: command.to_string(),
                    shown,
                    value: value.clone(),
                });
            }
        }
    }

    /// Shows a failure that is not a server reply (the connection broke).
    fn show_failure(&mut self, error: &redis::RedisError) {
        self.emit(&format!("  (failed) {error}"));
    }
}

// ANCHOR: echo_impl
impl<C: ConnectionLike> ConnectionLike for Echo<C> {
    fn req_packed_command(&mut self, packed: &[u8]) -> RedisResult<Value> {
        let commands = decode_commands(packed);
        self.show_commands(&commands);
        match self.inner.req_packed_command(packed) {
            Ok(value) => {
                let command = commands.last().cloned().unwrap_or_default();
                self.show_reply(&command, &value);
                Ok(value)
            }
            Err(error) => {
                self.show_failure(&error);
                Err(error)
            }
        }
    }

    // ANCHOR_END: echo_impl

    fn req_packed_commands(
        &mut self,
        packed: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        // A pipeline: all its commands leave in one write, then the replies
        // come back. With MULTI/EXEC, `offset` skips the QUEUED answers and
        // the one reply that counts is EXEC's array.
        let commands = decode_commands(packed);
        self.show_commands(&commands);
        match self.inner.req_packed_commands(packed, offset, count) {
            Ok(values) => {
                let shown_for = commands.get(offset..).unwrap_or(&[]);
                if values.len() == shown_for.len() {
                    for (command, value) in shown_for.iter().zip(&values) {
                        self.show_reply(command, value);
                    }
                } else {
                    // MULTI ... EXEC: one array for the whole transaction.
                    let value = Value::Array(values.clone());
                    let command = commands.last().cloned().unwrap_or_default();
                    self.show_reply(&command, &value);
                }
                Ok(values)
            }
            Err(error) => {
                self.show_failure(&error);
                Err(error)
            }
        }
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }

    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}

impl Transcript {
    /// The commands in the order their replies came.
    pub fn commands(&self) -> Vec<&str> {
        self.exchanges.iter().map(|e| e.command.as_str()).collect()
    }

    /// The same transcript without its first `n` exchanges: for a test
    /// that runs some groups only to set the stage for the one it checks.
    pub fn skip(&self, n: usize) -> Transcript {
        Transcript {
            exchanges: self.exchanges.iter().skip(n).cloned().collect(),
            text: self.text.clone(),
        }
    }

    /// Only the exchanges of the connection tagged `who` (`""` for the
    /// main one), in order.
    pub fn of(&self, who: &str) -> Transcript {
        Transcript {
            exchanges: self
                .exchanges
                .iter()
                .filter(|e| e.who == who)
                .cloned()
                .collect(),
            text: self.text.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Decoding what is sent, formatting what comes back
// ---------------------------------------------------------------------------

/// Decodes packed commands (RESP arrays of bulk strings, which is all a
/// client ever sends) into `redis-cli`-style lines. Anything unexpected is
/// shown as raw text rather than failing: this is only for display.
fn decode_commands(packed: &[u8]) -> Vec<String> {
    let mut commands = Vec::new();
    let mut rest = packed;
    while !rest.is_empty() {
        match decode_one(rest) {
            Some((args, tail)) => {
                let mut shown: Vec<String> = args
                    .iter()
                    .take(ARGS_SHOWN + 1)
                    .map(|a| show_arg(a))
                    .collect();
                if args.len() > ARGS_SHOWN + 1 {
                    shown.push(format!(
                        "... ({} more arguments)",
                        args.len() - ARGS_SHOWN - 1
                    ));
                }
                commands.push(shown.join(" "));
                rest = tail;
            }
            None => {
                commands.push(String::from_utf8_lossy(rest).trim_end().to_string());
                break;
            }
        }
    }
    commands
}

/// One `*N\r\n($len\r\nbytes\r\n){N}` from the front of `input`.
fn decode_one(input: &[u8]) -> Option<(Vec<&[u8]>, &[u8])> {
    let (count, mut rest) = header(input, b'*')?;
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = header(rest, b'$')?;
        let arg = tail.get(..len)?;
        rest = tail.get(len + 2..)?;
        args.push(arg);
    }
    Some((args, rest))
}

/// Reads `<marker><number>\r\n`; returns the number and what follows.
fn header(input: &[u8], marker: u8) -> Option<(usize, &[u8])> {
    let input = input.strip_prefix(&[marker])?;
    let end = input.windows(2).position(|w| w == b"\r\n")?;
    let number = std::str::from_utf8(&input[..end]).ok()?.parse().ok()?;
    Some((number, &input[end + 2..]))
}

/// An argument as `redis-cli` would need it typed: bare when it is one
/// printable word, quoted with escapes otherwise.
fn show_arg(arg: &[u8]) -> String {
    let plain = !arg.is_empty()
        && arg
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    match std::str::from_utf8(arg) {
        Ok(text) if plain => text.to_string(),
        // Valid UTF-8 without spaces or quotes (e.g. Chinese text): as is.
        Ok(text) if !text.is_empty() && !text.chars().any(needs_quoting) => text.to_string(),
        _ => quoted(arg),
    }
}

fn needs_quoting(c: char) -> bool {
    c.is_whitespace() || c.is_control() || c == '"' || c == '\'' || c == '\\'
}

/// `"..."` with `\n`, `\"`, `\\` and `\xNN` for bytes that are not part of
/// valid UTF-8 text (a `GETRANGE` that cuts a character in half shows them).
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// A reply as `redis-cli` shows it, arrays numbered and nested.
fn show_value(value: &Value, array_limit: usize) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, array_limit);
    out
}

fn write_value(out: &mut String, value: &Value, indent: usize, limit: usize) {
    match value {
        Value::Nil => out.push_str("(nil)"),
        Value::Int(n) => {
            let _ = write!(out, "(integer) {n}");
        }
        Value::BulkString(bytes) if bytes.len() > STRING_LIMIT => {
            out.push_str(&quoted(&bytes[..STRING_SHOWN]));
            let _ = write!(out, "... ({} bytes in all)", bytes.len());
        }
        Value::BulkString(bytes) => out.push_str(&quoted(bytes)),
        Value::SimpleString(text) => out.push_str(text),
        Value::Okay => out.push_str("OK"),
        Value::Double(x) => {
            let _ = write!(out, "(double) {x}");
        }
        Value::Boolean(b) => {
            let _ = write!(out, "({b})");
        }
        Value::BigNumber(n) => {
            let _ = write!(out, "(big number) {n:?}");
        }
        Value::VerbatimString { text, .. } => out.push_str(&quoted(text.as_bytes())),
        Value::ServerError(error) => {
            let _ = write!(out, "(error) {}", error.code());
            if let Some(details) = error.details() {
                let _ = write!(out, " {details}");
            }
        }
        Value::Array(items) | Value::Set(items) => write_items(out, items, indent, limit),
        Value::Push { data, .. } => write_items(out, data, indent, limit),
        Value::Map(pairs) => {
            let flat: Vec<Value> = pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            write_items(out, &flat, indent, limit);
        }
        Value::Attribute { data, .. } => write_value(out, data, indent, limit),
        // `Value` is non-exhaustive: show anything new in debug form.
        #[allow(unreachable_patterns)]
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
}

fn write_items(out: &mut String, items: &[Value], indent: usize, limit: usize) {
    if items.is_empty() {
        out.push_str("(empty array)");
        return;
    }
    let width = items.len().min(limit).to_string().len();
    for (i, item) in items.iter().enumerate().take(limit) {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        let label = format!("{:>width$}) ", i + 1);
        out.push_str(&label);
        write_value(out, item, indent + label.len(), limit);
    }
    if items.len() > limit {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        let _ = write!(out, "... ({} more)", items.len() - limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_decoded_from_the_wire_format() {
        let packed = redis::cmd("SET")
            .arg("k")
            .arg("two words")
            .get_packed_command();
        assert_eq!(decode_commands(&packed), ["SET k \"two words\""]);
        let mut pipe = redis::pipe();
        pipe.cmd("INCR").arg("a").cmd("GET").arg("武");
        assert_eq!(
            decode_commands(&pipe.get_packed_pipeline()),
            ["INCR a", "GET 武"]
        );
    }

    #[test]
    fn replies_look_like_redis_cli() {
        let nested = Value::Array(vec![
            Value::BulkString(b"0".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"a".to_vec()),
                Value::Nil,
                Value::Int(3),
            ]),
        ]);
        assert_eq!(
            show_value(&nested, 12),
            "1) \"0\"\n2) 1) \"a\"\n   2) (nil)\n   3) (integer) 3"
        );
        assert_eq!(show_value(&Value::Array(vec![]), 12), "(empty array)");
        assert_eq!(show_value(&Value::Okay, 12), "OK");
    }

    #[test]
    fn broken_utf8_is_escaped_and_long_arrays_are_cut() {
        assert_eq!(quoted("事".as_bytes()), "\"事\"");
        assert_eq!(quoted(&"事".as_bytes()[..2]), "\"\\xe4\\xba\"");
        assert_eq!(quoted(b"\x00a"), "\"\\x00a\"");
        let many = Value::Array((0..5).map(Value::Int).collect());
        assert_eq!(
            show_value(&many, 2),
            "1) (integer) 0\n2) (integer) 1\n... (3 more)"
        );
    }
}
