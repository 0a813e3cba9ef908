//! Fuzzes what the server does first with a client's bytes: cutting them
//! into lines (`LineReader`) and parsing each line (`cmd::parse`).
//!
//! The first input byte sets how the rest is cut into reads, as TCP may cut
//! it anywhere. Whatever the bytes, nothing may panic, every line handed out
//! is within the limit and holds no line end, and every refusal is a 500 or
//! 501 whose reply is exactly one CRLF-terminated line.

#![no_main]

use lesson_25_ftp::cmd;
use lesson_25_ftp::line::{Line, LineReader, MAX_LINE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let mut reader = LineReader::default();
    for piece in bytes.chunks(usize::from(cut).max(1)) {
        reader.push(piece);
        while let Some(line) = reader.next_line() {
            let Line::Complete(line) = line else { continue };
            assert!(line.len() < MAX_LINE);
            assert!(!line.contains(&b'\n'));
            if let Err(error) = cmd::parse(&line) {
                let reply = error.reply();
                assert!(matches!(reply.code, 500 | 501), "{reply}");
                let mut wire = Vec::new();
                reply.write_to(&mut wire);
                assert!(wire.ends_with(b"\r\n"));
                assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1);
            }
        }
    }
});
