//! MKD and RMD: make and remove directories.

use std::fs;

use crate::jail::{self, JailError};
use crate::reply::{Reply, quote_path};
use crate::session::{Ctx, Session};

/// MKD path: `257 "/new" created` (the path quoted, as for PWD).
pub fn mkd(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let reply = match ctx.config.jail.entry(&target).map(fs::create_dir) {
        Ok(Ok(())) => Reply::new(257, format!("{} created", quote_path(&target))),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Reply::new(550, format!("{path}: already exists"))
        }
        Ok(Err(e)) => JailError::Io(e).reply(path),
        Err(error) => error.reply(path),
    };
    session.reply(reply);
}

/// RMD path: only an empty directory, and never the root.
pub fn rmd(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    if target == "/" {
        return session.reply(Reply::new(550, "The root cannot be removed"));
    }
    let reply = match ctx.config.jail.entry(&target).map(fs::remove_dir) {
        Ok(Ok(())) => Reply::new(250, format!("Removed {target}")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
            Reply::new(550, format!("{path}: directory not empty"))
        }
        Ok(Err(e)) => JailError::Io(e).reply(path),
        Err(error) => error.reply(path),
    };
    session.reply(reply);
}
