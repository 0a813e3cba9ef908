//! Cutting the control connection's byte stream into command lines.
//!
//! TCP delivers bytes, not lines: one `read` may return half a command, or
//! three commands and the start of a fourth. [`LineReader`] keeps what has
//! arrived and hands out whole lines. It also protects the server from a
//! client that never sends a line end: past [`MAX_LINE`] bytes it drops the
//! line, reports it once ([`Line::TooLong`]), and skips to the next line end,
//! so memory per client stays bounded and the session goes on.
//!
//! The control connection is a Telnet connection (RFC 959, 4.1): a client
//! aborting a transfer may send Telnet "interrupt" sequences (byte 255 and a
//! command byte) before `ABOR`. They are removed here.

// ANCHOR: line
/// The longest command line accepted, line end included: a path of 4 KiB
/// (Linux's PATH_MAX) and a verb fit with room to spare.
pub const MAX_LINE: usize = 8 * 1024;

/// What the reader hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// One command line, without its CRLF (a bare LF is accepted too) and
    /// without Telnet sequences.
    Complete(Vec<u8>),
    /// A line longer than [`MAX_LINE`] was dropped.
    TooLong,
}

/// Bytes received but not yet handed out as lines.
#[derive(Debug, Default)]
pub struct LineReader {
    /// The start of a line whose end has not arrived yet (and any whole
    /// lines not yet taken).
    buffer: Vec<u8>,
    /// True after a too-long line, until its end arrives: the bytes in
    /// between belong to the dropped line and are skipped.
    skipping: bool,
}

impl LineReader {
    /// Adds bytes just read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether a whole line (or a too-long report) is ready, so reading
    /// more from the socket can wait.
    pub fn has_line(&self) -> bool {
        self.buffer.contains(&b'\n') || self.buffer.len() >= MAX_LINE
    }

    /// The next line, if a whole one has arrived.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let end = self.buffer.iter().position(|&b| b == b'\n');
            if self.skipping {
                match end {
                    // The end of the dropped line: skip through it, go on.
                    Some(end) => {
                        self.buffer.drain(..=end);
                        self.skipping = false;
                        continue;
                    }
                    None => {
                        self.buffer.clear();
                        return None;
                    }
                }
            }
            return match end {
                Some(end) if end < MAX_LINE => {
                    let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                    line.pop(); // the LF
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    Some(Line::Complete(strip_telnet(&line)))
                }
                // Too long, whether or not its end is here: drop it and
                // skip to (and through) its end.
                Some(_) => {
                    self.skipping = true;
                    Some(Line::TooLong)
                }
                None if self.buffer.len() >= MAX_LINE => {
                    self.buffer.clear();
                    self.skipping = true;
                    Some(Line::TooLong)
                }
                None => None,
            };
        }
    }
}
// ANCHOR_END: line

/// Removes Telnet commands: IAC (255) followed by a command byte, plus an
/// option byte for WILL/WONT/DO/DONT. IAC IAC stands for a literal 255.
fn strip_telnet(line: &[u8]) -> Vec<u8> {
    const IAC: u8 = 255;
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != IAC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            // WILL, WONT, DO, DONT carry an option byte.
            Some(251..=254) => i += 3,
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(reader: &mut LineReader) -> Vec<Line> {
        std::iter::from_fn(|| reader.next_line()).collect()
    }

    #[test]
    fn lines_arrive_in_pieces_and_in_bunches() {
        let mut reader = LineReader::default();
        reader.push(b"US");
        assert_eq!(reader.next_line(), None);
        reader.push(b"ER bob\r\nPASS x\r\nNO");
        assert_eq!(
            lines(&mut reader),
            [
                Line::Complete(b"USER bob".to_vec()),
                Line::Complete(b"PASS x".to_vec())
            ]
        );
        reader.push(b"OP\n");
        assert_eq!(lines(&mut reader), [Line::Complete(b"NOOP".to_vec())]);
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_skipped() {
        let mut reader = LineReader::default();
        reader.push(&vec![b'a'; MAX_LINE + 10]);
        assert_eq!(lines(&mut reader), [Line::TooLong]);
        reader.push(&vec![b'b'; MAX_LINE * 3]);
        assert_eq!(lines(&mut reader), []);
        reader.push(b"tail\r\nNOOP\r\n");
        assert_eq!(lines(&mut reader), [Line::Complete(b"NOOP".to_vec())]);
    }

    #[test]
    fn an_overlong_line_that_arrives_whole_is_dropped_too() {
        let mut reader = LineReader::default();
        let mut bytes = vec![b'a'; MAX_LINE + 1];
        bytes.extend_from_slice(b"\r\nPWD\r\n");
        reader.push(&bytes);
        assert_eq!(
            lines(&mut reader),
            [Line::TooLong, Line::Complete(b"PWD".to_vec())]
        );
    }

    #[test]
    fn telnet_interrupts_before_abor_are_removed() {
        let mut reader = LineReader::default();
        reader.push(b"\xff\xf4\xff\xf2ABOR\r\n\xff\xfb\x01A\xff\xffB\n");
        assert_eq!(
            lines(&mut reader),
            [
                Line::Complete(b"ABOR".to_vec()),
                Line::Complete(b"A\xffB".to_vec())
            ]
        );
    }
}
