//! MKD and RMD: make and remove directories.

use crate::jail::{self, JailError};
use crate::reply::{Reply, quote_path};
use crate::session::{Ctx, Session};

/// MKD path: `257 "/new" created` (the path quoted, as for PWD).
pub fn mkd(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let made = match ctx.config.jail.parent(&target) {
        Ok(Some((dir, name))) => dir.create_dir(name),
        Ok(None) => Err(std::io::ErrorKind::AlreadyExists.into()),
        Err(error) => return session.reply(error.reply(path)),
    };
    let reply = match made {
        Ok(()) => Reply::new(257, format!("{} created", quote_path(&target))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Reply::new(550, format!("{path}: already exists"))
        }
        Err(e) => JailError::from(e).reply(path),
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
    let removed = match ctx.config.jail.parent(&target) {
        Ok(Some((dir, name))) => dir.remove_dir(name),
        Ok(None) => return session.reply(Reply::new(550, "The root cannot be removed")),
        Err(error) => return session.reply(error.reply(path)),
    };
    let reply = match removed {
        Ok(()) => Reply::new(250, format!("Removed {target}")),
        Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
            Reply::new(550, format!("{path}: directory not empty"))
        }
        Err(e) => JailError::from(e).reply(path),
    };
    session.reply(reply);
}
