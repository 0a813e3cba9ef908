//! USER, PASS and QUIT: logging in and out (RFC 959, 4.1.1).
//!
//! USER always asks for a password (331), whether the name exists or not, so
//! a stranger cannot probe for account names. Three wrong passwords close
//! the connection (421).

use crate::reply::Reply;
use crate::session::{Ctx, MAX_LOGIN_FAILURES, Phase, Session};
use crate::users::is_anonymous;

// ANCHOR: user
/// USER name: starts (or restarts) a login.
pub fn user(session: &mut Session, ctx: &mut Ctx, name: String) {
    if is_anonymous(&name) && !ctx.config.users.anonymous_allowed() {
        session.phase = Phase::NeedUser;
        session.reply(Reply::new(530, "Anonymous logins are not allowed here"));
        return;
    }
    let text = if is_anonymous(&name) {
        "Anonymous login ok, send any password (your e-mail address, by custom)".to_string()
    } else {
        format!("Password required for {name}")
    };
    session.phase = Phase::NeedPassword { user: name };
    session.reply(Reply::new(331, text));
}
// ANCHOR_END: user

// ANCHOR: pass
/// PASS password: completes the login USER started.
pub fn pass(session: &mut Session, ctx: &mut Ctx, password: &str) {
    let user = match &session.phase {
        Phase::NeedPassword { user } => user.clone(),
        Phase::LoggedIn(_) => return session.reply(Reply::new(230, "Already logged in")),
        _ => return session.reply(Reply::new(503, "Send USER first")),
    };
    match ctx.config.users.check(&user, password) {
        Some(login) => {
            let access = if login.writable {
                "read-write"
            } else {
                "read-only"
            };
            println!("[#{}] {} logged in ({access})", session.id, login.user);
            session.reply(Reply::new(
                230,
                format!("Logged in as {}, {access}", login.user),
            ));
            session.phase = Phase::LoggedIn(login);
        }
        None => {
            session.failed_logins += 1;
            if session.failed_logins >= MAX_LOGIN_FAILURES {
                session.reply(Reply::new(421, "Too many wrong passwords, closing"));
                session.phase = Phase::Closing;
            } else {
                session.reply(Reply::new(530, "Login incorrect"));
                session.phase = Phase::NeedUser;
            }
        }
    }
}
// ANCHOR_END: pass

/// QUIT: says goodbye; the session closes once the reply is sent. (During
/// a transfer QUIT waits for its end, like every command but ABOR, so the
/// client hears the transfer's 226 first, as RFC 959 asks.)
pub fn quit(session: &mut Session) {
    session.reply(Reply::new(221, "Goodbye"));
    session.phase = Phase::Closing;
}
