//! DELE: delete a file.

use std::fs;

use crate::jail;
use crate::reply::Reply;
use crate::session::{Ctx, Session};

/// DELE path.
pub fn dele(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let reply = match ctx.config.jail.entry(&target) {
        Ok(entry) if entry.is_dir() => Reply::new(550, format!("{path}: is a directory (use RMD)")),
        Ok(entry) => match fs::remove_file(entry) {
            Ok(()) => Reply::new(250, format!("Deleted {target}")),
            Err(e) => jail::JailError::Io(e).reply(path),
        },
        Err(error) => error.reply(path),
    };
    session.reply(reply);
}
