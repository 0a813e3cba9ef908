//! MDTM: when a file was last modified, in UTC, as `YYYYMMDDHHMMSS`
//! (RFC 3659, 3). Mirroring clients compare it to decide what to copy.

use crate::jail;
use crate::listing::timestamp;
use crate::reply::Reply;
use crate::session::{Ctx, Session};

/// MDTM path.
pub fn mdtm(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let reply = match ctx.config.jail.metadata(&target) {
        Ok(meta) => match meta.modified() {
            Ok(time) => Reply::new(213, timestamp(time)),
            Err(e) => Reply::new(550, format!("{path}: {e}")),
        },
        Err(error) => error.reply(path),
    };
    session.reply(reply);
}
