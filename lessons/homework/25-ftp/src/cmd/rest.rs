//! REST: where the next RETR or STOR starts (RFC 3659, 5: "REST STREAM").
//!
//! A client whose download broke after n bytes sends `REST n` and `RETR`
//! again and gets the rest; `REST n` and `STOR` replaces the file with its
//! first n bytes followed by what the client sends.

use crate::reply::Reply;
use crate::session::Session;

/// REST offset.
pub fn rest(session: &mut Session, offset: u64) {
    session.restart = offset;
    let text = format!("Restarting at {offset}: send RETR or STOR to go on");
    session.reply(Reply::new(350, text));
}
