//! RNFR and RNTO: rename, in two commands (RFC 959, 4.1.3).
//!
//! RNFR names the source and gets 350 ("send the next part"); RNTO must
//! come next and names the destination. RNTO without a fresh RNFR is a bad
//! sequence (503): `cmd::execute` forgets the RNFR when any other command
//! comes between.

use crate::jail::{self, JailError};
use crate::reply::Reply;
use crate::session::{Ctx, Session};

/// RNFR path.
pub fn rnfr(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    if target == "/" {
        return session.reply(Reply::new(550, "The root cannot be renamed"));
    }
    match ctx.config.jail.parent(&target) {
        Ok(Some((dir, name))) if matches!(dir.kind(name), Ok(Some(_))) => {
            session.rename_from = Some(target);
            session.reply(Reply::new(350, "Ready for RNTO"));
        }
        Ok(_) => session.reply(Reply::new(
            550,
            format!("{path}: No such file or directory"),
        )),
        Err(error) => session.reply(error.reply(path)),
    }
}

/// RNTO path.
pub fn rnto(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let Some(from) = session.rename_from.take() else {
        return session.reply(Reply::new(503, "Send RNFR first"));
    };
    let to = match jail::join(&session.cwd, path) {
        Ok(to) => to,
        Err(error) => return session.reply(error.reply(path)),
    };
    let jail = &ctx.config.jail;
    // Both directories opened beneath the root; `renameat` moves the name
    // between them (a link moves as a link, never followed).
    let reply = match (jail.parent(&from), jail.parent(&to)) {
        (Ok(Some((source, old))), Ok(Some((destination, new)))) => {
            match source.rename(old, &destination, new) {
                Ok(()) => Reply::new(250, format!("Renamed {from} to {to}")),
                Err(e) => JailError::from(e).reply(path),
            }
        }
        (Err(error), _) => error.reply(&from),
        (_, Err(error)) => error.reply(path),
        _ => Reply::new(550, "The root cannot be renamed"),
    };
    session.reply(reply);
}
