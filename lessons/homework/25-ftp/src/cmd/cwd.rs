//! PWD, CWD and CDUP: the current directory, a path in the client's tree.

use crate::jail;
use crate::reply::{Reply, quote_path};
use crate::session::{Ctx, Session};

// ANCHOR: cwd
/// PWD: 257 and the path in quotes (RFC 959, appendix II).
pub fn pwd(session: &mut Session) {
    let text = format!("{} is the current directory", quote_path(&session.cwd));
    session.reply(Reply::new(257, text));
}

/// CWD path, and CDUP (which is CWD ..). RFC 959 gives CDUP the reply 200
/// in one place and "the same as CWD" (250) in another; 250 is what
/// clients see from most servers.
pub fn cwd(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    match ctx.config.jail.metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            session.reply(Reply::new(250, format!("Directory changed to {target}")));
            session.cwd = target;
        }
        Ok(_) => session.reply(Reply::new(550, format!("{path}: Not a directory"))),
        Err(error) => session.reply(error.reply(path)),
    }
}
// ANCHOR_END: cwd
