//! USER, PASS and QUIT: logging in and out (RFC 959, 4.1.1).
//!
//! USER always asks for a password (331), whether the name exists or not, so
//! a stranger cannot probe for account names. Three wrong passwords close
//! the connection (421), and every wrong password makes the answers to the
//! next passwords from the same address wait longer, across reconnections
//! (see [`crate::guard`]).

use crate::guard::login_delay;
use crate::reply::{Reply, escape_controls};
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
    // Every answer to a password from an address that sent wrong ones
    // lately waits, the right answers too: a guesser with many connections
    // must not learn "wrong" from a late answer.
    let ip = session.peer.ip();
    let wait = ctx.guard.delay(ip);
    let reply = match ctx.config.users.check(&user, password) {
        Some(login) => {
            let access = if login.writable {
                "read-write"
            } else {
                "read-only"
            };
            println!("[#{}] {} logged in ({access})", session.id, login.user);
            let reply = Reply::new(230, format!("Logged in as {}, {access}", login.user));
            session.phase = Phase::LoggedIn(login);
            reply
        }
        None => {
            session.failed_logins += 1;
            let lately = ctx.guard.failed(ip, ctx.now);
            println!(
                "[#{}] wrong password for {} from {ip} ({lately} lately from this address): \
                 this answer waits {:.1} s, the next {:.1} s",
                session.id,
                escape_controls(&user),
                wait.as_secs_f64(),
                login_delay(lately).as_secs_f64()
            );
            if session.failed_logins >= MAX_LOGIN_FAILURES {
                session.phase = Phase::Closing;
                Reply::new(421, "Too many wrong passwords, closing")
            } else {
                session.phase = Phase::NeedUser;
                Reply::new(530, "Login incorrect")
            }
        }
    };
    if wait.is_zero() {
        session.reply(reply);
    } else {
        session.reply_at(ctx, ctx.now + wait, reply);
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
