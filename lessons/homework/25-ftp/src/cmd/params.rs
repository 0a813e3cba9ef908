//! TYPE, MODE and STRU: transfer parameters from 1985 that clients still
//! send.
//!
//! TYPE A (ASCII) asks the sender to turn line ends into CRLF on the wire.
//! This server, like vsftpd by default, accepts TYPE A and still sends and
//! stores files byte for byte: converting would make SIZE, REST and
//! `sendfile` lie, and every client today asks for TYPE I for files anyway.
//! Listings are always sent with CRLF line ends, as TYPE A wants.
//! MODE S (stream) and STRU F (file) are the only ones anybody uses.

use crate::reply::Reply;
use crate::session::Session;

/// TYPE A | A N | I | L 8.
pub fn type_(session: &mut Session, kind: &str) {
    let reply = match kind.to_ascii_uppercase().as_str() {
        "A" | "A N" => {
            session.binary = false;
            Reply::new(200, "Type set to A (files still travel byte for byte)")
        }
        "I" | "L 8" => {
            session.binary = true;
            Reply::new(200, "Type set to I")
        }
        _ => Reply::new(504, format!("Type {kind} is not supported: use A or I")),
    };
    session.reply(reply);
}

/// MODE S.
pub fn mode(session: &mut Session, mode: &str) {
    let reply = if mode.eq_ignore_ascii_case("S") {
        Reply::new(200, "Mode set to S")
    } else {
        Reply::new(
            504,
            format!("Mode {mode} is not supported: only S (stream)"),
        )
    };
    session.reply(reply);
}

/// STRU F.
pub fn stru(session: &mut Session, structure: &str) {
    let reply = if structure.eq_ignore_ascii_case("F") {
        Reply::new(200, "Structure set to F")
    } else {
        Reply::new(
            504,
            format!("Structure {structure} is not supported: only F (file)"),
        )
    };
    session.reply(reply);
}
