//! `compare | head -2` ends quietly, as `ls | head -2` does, instead of
//! panicking on the broken pipe.

use std::process::Command;

use support::testkit::ends_quietly_when_the_reader_leaves;

#[test]
fn compare_piped_into_head_ends_quietly() {
    ends_quietly_when_the_reader_leaves(Command::new(env!("CARGO_BIN_EXE_compare")), 2, b"", b"");
}
