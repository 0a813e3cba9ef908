//! DELE: delete a file.

use crate::jail::{self, JailError, Kind};
use crate::reply::Reply;
use crate::session::{Ctx, Session};

/// DELE path.
pub fn dele(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    // The name is removed from its directory, held open; if it is a link,
    // the link goes, never what it points to.
    let reply = match ctx.config.jail.parent(&target) {
        Ok(Some((dir, name))) => match dir.kind(name) {
            Ok(Some(Kind::Dir)) => Reply::new(550, format!("{path}: is a directory (use RMD)")),
            _ => match dir.remove_file(name) {
                Ok(()) => Reply::new(250, format!("Deleted {target}")),
                Err(e) => JailError::from(e).reply(path),
            },
        },
        Ok(None) => Reply::new(550, format!("{path}: is a directory (use RMD)")),
        Err(error) => error.reply(path),
    };
    session.reply(reply);
}
