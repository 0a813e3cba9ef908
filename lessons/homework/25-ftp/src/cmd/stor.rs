//! STOR and APPE: receive a file from the client.
//!
//! The bytes go to a hidden part file next to the target; the target is
//! replaced only when the client has sent everything (see
//! [`Upload`](crate::transfer::Upload)). That holds for appends and resumed
//! uploads too: the part file starts as a copy of the bytes kept from the
//! existing file, so even then nobody ever sees a half-written file.

use std::io;

use crate::jail::{self, JailError, Kind};
use crate::reply::Reply;
use crate::session::{Ctx, Session};
use crate::transfer::{Job, Upload};

/// How the client's bytes relate to an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// STOR: the client's bytes are the file (after the first REST bytes of
    /// the old one, if REST was sent).
    Replace,
    /// APPE: the old file, then the client's bytes.
    Append,
}

// ANCHOR: stor
/// STOR path, APPE path.
pub fn stor(session: &mut Session, ctx: &mut Ctx, path: &str, mode: Mode) {
    let offset = std::mem::take(&mut session.restart);
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    // The directory the file goes in, opened beneath the root, and the
    // file's name in it. What already has that name must be a plain file:
    // a link, a FIFO or a directory is refused.
    let (dir, name) = match ctx.config.jail.parent(&target) {
        Ok(Some((dir, name))) => (dir, name.to_string()),
        Ok(None) => return session.reply(Reply::new(550, format!("{path}: is a directory"))),
        Err(error) => return session.reply(error.reply(path)),
    };
    match dir.kind(&name) {
        Ok(None | Some(Kind::File)) => {}
        Ok(Some(Kind::Dir)) => {
            return session.reply(Reply::new(550, format!("{path}: is a directory")));
        }
        Ok(Some(Kind::Link)) => return session.reply(JailError::Link.reply(path)),
        Ok(Some(Kind::Other)) => return session.reply(JailError::Special.reply(path)),
        Err(e) => return session.reply(JailError::from(e).reply(path)),
    }
    if !session.data_offered() {
        return session.reply(Reply::new(425, "Use PASV or EPSV first"));
    }
    // What to keep of the existing file: all of it (APPE), its first
    // `offset` bytes (REST then STOR), or nothing (STOR).
    let existing = match (mode, offset) {
        (Mode::Replace, 0) => None,
        _ => Some(dir.open_file(&name)),
    };
    let keep = match existing {
        None => None,
        Some(Err(JailError::Io(e)))
            if mode == Mode::Append && e.kind() == io::ErrorKind::NotFound =>
        {
            None
        }
        Some(Err(e)) => {
            return session.reply(Reply::new(554, format!("{path}: cannot resume: {e}")));
        }
        Some(Ok(existing)) => {
            let size = existing.metadata().map(|meta| meta.len()).unwrap_or(0);
            let keep = if mode == Mode::Append { size } else { offset };
            if keep > size {
                let text = format!("REST {offset} is past the end of {path} ({size} bytes)");
                return session.reply(Reply::new(554, text));
            }
            Some((existing, keep))
        }
    };
    let upload = match Upload::create(dir, name, keep) {
        Ok(upload) => upload,
        Err(e) => return session.reply(Reply::new(550, format!("{path}: cannot create: {e}"))),
    };
    let verb = if mode == Mode::Append { "APPE" } else { "STOR" };
    let what = match offset {
        0 => format!("{verb} {target}"),
        _ => format!("{verb} {target} from {offset}"),
    };
    session.start_transfer(ctx, Job::Upload(upload), what, "Ok to send data");
}
// ANCHOR_END: stor
