//! LIST, NLST, MLSD (listings over the data connection) and MLST (facts
//! about one entry, on the control connection).

use crate::jail;
use crate::listing::{self, Format};
use crate::reply::Reply;
use crate::session::{Ctx, Session};
use crate::transfer::{Job, Listing};

// ANCHOR: list
/// LIST [path], NLST [path], MLSD [path]: a listing of a directory (or, for
/// LIST and NLST, of one file) sent over the data connection.
pub fn list(session: &mut Session, ctx: &mut Ctx, path: Option<&str>, format: Format) {
    let path = match format {
        Format::Facts => path.unwrap_or(""),
        // Many clients send `LIST -la`, as if this were ls.
        Format::Long | Format::Names => without_ls_options(path.unwrap_or("")),
    };
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let jail = &ctx.config.jail;
    let meta = match jail.metadata(&target) {
        Ok(meta) => meta,
        Err(error) => return session.reply(error.reply(path)),
    };
    if !session.data_offered() {
        return session.reply(Reply::new(425, "Use PASV or EPSV first"));
    }
    let writable = session.login().is_some_and(|login| login.writable);
    let listing = if meta.is_dir() {
        // The directory held open: the listing reads that very directory,
        // whatever is renamed meanwhile.
        Listing::directory(jail, &target, format, writable)
    } else if format == Format::Facts {
        // RFC 3659, 7.2.1: MLSD of something that is not a directory is 501.
        return session.reply(Reply::new(
            501,
            format!("{path}: not a directory (MLST shows a file)"),
        ));
    } else {
        Ok(Listing::file(&meta, path, format, writable))
    };
    match listing {
        Ok(listing) => {
            let verb = match format {
                Format::Long => "LIST",
                Format::Names => "NLST",
                Format::Facts => "MLSD",
            };
            let what = format!("{verb} {target}");
            session.start_transfer(ctx, Job::Listing(listing), what, "Here comes the listing");
        }
        Err(e) => session.reply(Reply::new(550, format!("{path}: cannot list: {e}"))),
    }
}
// ANCHOR_END: list

/// `-la dir` is `dir`; `-la` is the current directory.
fn without_ls_options(argument: &str) -> &str {
    let mut rest = argument;
    while rest.starts_with('-') {
        rest = rest
            .split_once(' ')
            .map_or("", |(_, after)| after.trim_start());
    }
    rest
}

/// MLST [path]: the facts of one entry, in the reply itself.
pub fn mlst(session: &mut Session, ctx: &mut Ctx, path: Option<&str>) {
    let path = path.unwrap_or("");
    let target = match jail::join(&session.cwd, path) {
        Ok(target) => target,
        Err(error) => return session.reply(error.reply(path)),
    };
    let meta = match ctx.config.jail.metadata(&target) {
        Ok(meta) => meta,
        Err(error) => return session.reply(error.reply(path)),
    };
    let writable = session.login().is_some_and(|login| login.writable);
    let facts = listing::facts(&meta, writable);
    let lines = vec![
        format!("Listing {target}"),
        format!("{facts} {target}"),
        "End".to_string(),
    ];
    session.reply(Reply::multi(250, lines));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_options_are_skipped() {
        assert_eq!(without_ls_options("-la"), "");
        assert_eq!(without_ls_options("-l -a docs"), "docs");
        assert_eq!(without_ls_options("my docs"), "my docs");
    }
}
