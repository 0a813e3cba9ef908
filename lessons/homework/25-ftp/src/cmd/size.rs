//! SIZE: a file's size in bytes (RFC 3659, 4). curl asks before a download
//! to show progress; lftp and our own client ask to decide where a resumed
//! transfer starts.

use crate::jail;
use crate::reply::Reply;
use crate::session::{Ctx, Session};

/// SIZE path.
pub fn size(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let reply = match ctx.config.jail.metadata(&target) {
        Ok(meta) if meta.is_file() => Reply::new(213, meta.len().to_string()),
        Ok(_) => Reply::new(550, format!("{path}: not a plain file")),
        Err(error) => error.reply(path),
    };
    session.reply(reply);
}
