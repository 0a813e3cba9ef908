//! RETR: send a file to the client, from the REST offset if one was given.

use crate::jail;
use crate::reply::Reply;
use crate::session::{Ctx, Session};
use crate::transfer::{Download, Job};

// ANCHOR: retr
/// RETR path.
pub fn retr(session: &mut Session, ctx: &mut Ctx, path: &str) {
    // A REST offset applies to this transfer only, whatever happens to it.
    let offset = std::mem::take(&mut session.restart);
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    // Opened beneath the root in one step: no link followed, no FIFO
    // waited on, nothing but a plain file accepted.
    let (file, meta) = match ctx.config.jail.open_file(&target) {
        Ok(opened) => opened,
        Err(error) => return session.reply(error.reply(path)),
    };
    if !session.data_offered() {
        return session.reply(Reply::new(425, "Use PASV or EPSV first"));
    }
    let download = Download::new(file, &meta, offset);
    let size = download.size();
    if offset > size {
        let text = format!("REST {offset} is past the end of {path} ({size} bytes)");
        return session.reply(Reply::new(554, text));
    }
    let mode = if session.binary { "BINARY" } else { "ASCII" };
    let message = format!("Opening {mode} mode data connection for {path} ({size} bytes)");
    let what = match offset {
        0 => format!("RETR {target}"),
        _ => format!("RETR {target} from {offset}"),
    };
    session.start_transfer(ctx, Job::Download(download), what, &message);
}
// ANCHOR_END: retr
