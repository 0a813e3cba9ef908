//! What the server says: a three-digit code and some text (RFC 959, 4.2).
//!
//! The first digit is what a client acts on: 1 "wait, more is coming",
//! 2 "done", 3 "send the next part" (PASS after USER, RNTO after RNFR),
//! 4 "failed, try again later", 5 "failed, do not retry as is".
//!
//! A reply of one line is `226 Transfer complete\r\n`. A reply of several
//! lines marks every line but the last with a `-` after the code:
//!
//! ```text
//! 211-Features:
//!  EPSV
//!  SIZE
//! 211 End
//! ```

use std::borrow::Cow;
use std::fmt;

// ANCHOR: reply
/// One reply to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The code clients act on, 100 to 599.
    pub code: u16,
    /// The text: one line for most replies; several for FEAT, HELP, MLST.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply: `Reply::new(200, "NOOP ok")`.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A reply of several lines; the first and the last carry the code.
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        Reply { code, lines }
    }

    /// Appends the reply, in wire format, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (index, line) in self.lines.iter().enumerate() {
            // A name on disk may hold CR or LF; on the control connection
            // that would end the line early and desynchronise the client.
            let line = line.replace(['\r', '\n'], " ");
            // Text a client sent (a user name, a verb's argument) may hold
            // terminal escape sequences: they go back escaped, inert.
            let line = escape_controls(&line);
            let text = match index {
                0 if last > 0 => format!("{}-{line}", self.code),
                i if i == last => format!("{} {line}", self.code),
                // Inner lines start with a space, so a line that happens to
                // begin with digits is never taken for the end.
                _ => format!(" {line}"),
            };
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}
// ANCHOR_END: reply

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wire = Vec::new();
        self.write_to(&mut wire);
        f.write_str(String::from_utf8_lossy(&wire).trim_end())
    }
}

// ANCHOR: escape
/// `text` with every control character (ESC, BEL, NUL, DEL, the C1 range)
/// written as a Rust escape (`\u{1b}`), so that it can be shown on a
/// terminal or sent in a reply without acting. Borrowed when there is none.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.contains(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}
// ANCHOR_END: escape

/// Quotes a path for a 257 reply: `"/a ""b"""` (RFC 959, appendix II:
/// quotes inside the name are doubled).
pub fn quote_path(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_line() {
        assert_eq!(wire(&Reply::new(200, "ok")), "200 ok\r\n");
    }

    #[test]
    fn several_lines_mark_all_but_the_last() {
        let reply = Reply::multi(211, vec!["Features:".into(), "EPSV".into(), "End".into()]);
        assert_eq!(wire(&reply), "211-Features:\r\n EPSV\r\n211 End\r\n");
    }

    #[test]
    fn line_breaks_in_text_cannot_split_a_reply() {
        assert_eq!(wire(&Reply::new(550, "a\r\nb")), "550 a  b\r\n");
    }

    #[test]
    fn escape_sequences_go_back_inert() {
        let reply = Reply::new(331, "Password required for \x1b[2J\x07x\u{9b}");
        assert_eq!(
            wire(&reply),
            "331 Password required for \\u{1b}[2J\\u{7}x\\u{9b}\r\n"
        );
        assert!(matches!(escape_controls("plain é"), Cow::Borrowed(_)));
    }

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(quote_path("/a \"b\""), "\"/a \"\"b\"\"\"");
    }
}
