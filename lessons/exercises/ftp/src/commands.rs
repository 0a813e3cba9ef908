//! YOURS TO WRITE: running one command.
//!
//! The session (given) reads a line from the client, parses it into a
//! [`Command`] with the lesson's parser, and calls [`execute`]. Everything
//! here answers with `session.reply(Reply::new(code, text))`; the session
//! sends the reply when the socket takes it. Nothing here may wait for the
//! network: the whole server is one thread, so a handler that waited would
//! stall every client.
//!
//! What you can use:
//!
//! - `session.cwd`: the current directory, a clean path in the client's
//!   tree (`/` at first). `session.phase`: where the login stands.
//!   `session.login()`: the login, once logged in.
//! - `ctx.config.jail`: your [`Jail`](crate::jail::Jail);
//!   `ctx.config.users.check(user, password)`: `Some(Login)` if right.
//! - `session.open_passive(ctx)`: opens a passive data port, returns its
//!   address.
//! - `session.send_file(ctx, file, target)`, `session.send_listing(ctx,
//!   text, target)`, `session.receive_file(ctx, part_file, target)`: start a
//!   transfer on the data connection PASV/EPSV opened. They send the 150
//!   reply, move the bytes a chunk at a time, and send 226 at the end (or
//!   425 at once if there is no data connection): you only start them.
//!
//! Replies (RFC 959): 2xx done, 3xx send the next part, 4xx failed (try
//! again later), 5xx failed. The codes each handler sends are in its doc.

use lesson_25_ftp::cmd::Command;

use crate::session::{Ctx, Session};

// What the handlers need: unused until you write them (then this `allow`
// can go).
#[allow(unused_imports)]
use {
    crate::{basics, jail, listing, part_file::PartFile, session::Phase},
    lesson_25_ftp::reply::{Reply, quote_path},
    std::fs::File,
};

// ANCHOR: todo
/// Runs one command. First the checks that hold for every command, then
/// the command's own function:
///
/// 1. Before logging in, only the commands `basics::allowed_before_login`
///    accepts may run; any other gets `530 Please log in with USER and PASS
///    first`.
/// 2. Commands that change files (`basics::changes_files`) need a login
///    whose `writable` is true; otherwise `550 Permission denied`.
/// 3. `User`, `Pass`, `Pwd`, `Cwd`, `Cdup` (which is `cwd(..., "..")`),
///    `Pasv`, `Epsv`, `List`, `Retr` and `Stor` go to the functions below;
///    every other command to `basics::answer(session, ctx, command)`.
pub fn execute(session: &mut Session, ctx: &mut Ctx, command: Command) {
    let _ = (session, ctx, command);
    todo!("commands::execute: check the login, then dispatch to the handlers below")
}

/// USER name: remember the name (`Phase::NeedPassword`) and ask for the
/// password with `331`. Always 331, for every name: telling a stranger
/// which accounts exist would help them guess passwords.
pub fn user(session: &mut Session, ctx: &mut Ctx, name: String) {
    let _ = (session, ctx, name);
    todo!("commands::user: Phase::NeedPassword, then 331")
}

/// PASS password: completes the login that USER started.
///
/// - After USER: `ctx.config.users.check(&user, password)`; `Some(login)`
///   is `230` and `Phase::LoggedIn(login)`; `None` is `530 Login
///   incorrect` and back to `Phase::NeedUser`.
/// - Already logged in: `230 Already logged in`. Otherwise: `503 Send USER
///   first`.
pub fn pass(session: &mut Session, ctx: &mut Ctx, password: &str) {
    let _ = (session, ctx, password);
    todo!("commands::pass: check the password, then 230 (logged in) or 530")
}

/// PWD: `257 "/docs" is the current directory`. The path is in double
/// quotes, inner quotes doubled (`quote_path` does that).
pub fn pwd(session: &mut Session) {
    let _ = session;
    todo!("commands::pwd: 257 and the quoted current directory")
}

/// CWD path (and CDUP): `jail::join` the argument to the current
/// directory, `resolve` it, and if it is a directory make it the current
/// one: `250`. Not a directory: `550`. Refused by the jail: the
/// refusal's own reply, `error.reply(path)`.
pub fn cwd(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let _ = (session, ctx, path);
    todo!("commands::cwd: join, resolve, check it is a directory, then 250")
}

/// PASV: open a passive port (`session.open_passive(ctx)`) and tell the
/// client where, in RFC 959's odd format: the four numbers of the IPv4
/// address and the port as two bytes, high then low:
/// `227 Entering Passive Mode (127,0,0,1,195,80)` is port 195 * 256 + 80.
/// An IPv6 address cannot be written so: `522`. A failed open: `425`.
pub fn pasv(session: &mut Session, ctx: &mut Ctx) {
    let _ = (session, ctx);
    todo!("commands::pasv: open a passive port, then 227 (h1,h2,h3,h4,p1,p2)")
}

/// EPSV (RFC 2428): the same, but only the port is told, so it works over
/// IPv6 too: `229 Entering Extended Passive Mode (|||50000|)`.
pub fn epsv(session: &mut Session, ctx: &mut Ctx) {
    let _ = (session, ctx);
    todo!("commands::epsv: open a passive port, then 229 (|||port|)")
}

/// LIST [path]: the listing of a directory (the current one without an
/// argument) or of one file, sent over the data connection:
/// join, resolve, `listing::render(&real, &ctx.config.jail)`, then
/// `session.send_listing(ctx, text, &target)`. A refusal is
/// `error.reply(path)`; a listing that cannot be read, `550`.
pub fn list(session: &mut Session, ctx: &mut Ctx, path: Option<&str>) {
    let _ = (session, ctx, path);
    todo!("commands::list: join, resolve, render, then send_listing")
}

/// RETR path: join, resolve; it must be a plain file (`550` if not); open
/// it (`550` if that fails) and `session.send_file(ctx, file, &target)`.
pub fn retr(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let _ = (session, ctx, path);
    todo!("commands::retr: join, resolve, open, then send_file")
}

/// STOR path: join, then `entry` (the file may not exist yet); a directory
/// cannot be overwritten (`550`). Create a `PartFile` for the entry
/// (`550` if that fails) and `session.receive_file(ctx, part, &target)`:
/// the session writes the client's bytes into it and commits it at the
/// end.
pub fn stor(session: &mut Session, ctx: &mut Ctx, path: &str) {
    let _ = (session, ctx, path);
    todo!("commands::stor: join, entry, PartFile::create, then receive_file")
}
// ANCHOR_END: todo
