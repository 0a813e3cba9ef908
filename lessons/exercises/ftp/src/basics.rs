//! Given: the small commands every client sends along the way, SIZE (which
//! the course's `ftp-client` asks before a download), and the answer for
//! commands this exercise does not implement.
//!
//! `commands::execute` (yours) sends every command it does not handle
//! itself to [`answer`]. The two predicates say which commands need a
//! login and which change files, for the checks `execute` makes first.

use lesson_25_ftp::cmd::Command;
use lesson_25_ftp::reply::Reply;

use crate::jail;
use crate::session::{Ctx, Phase, Session};

/// Commands a client may send before logging in: the login itself and
/// those that only describe the server.
pub fn allowed_before_login(command: &Command) -> bool {
    matches!(
        command,
        Command::User(_)
            | Command::Pass(_)
            | Command::Quit
            | Command::Syst
            | Command::Feat
            | Command::Opts(_)
            | Command::Noop
    )
}

/// Commands that change the tree: a read-only login (anonymous, here) may
/// not send them.
pub fn changes_files(command: &Command) -> bool {
    matches!(
        command,
        Command::Stor(_)
            | Command::Appe(_)
            | Command::Dele(_)
            | Command::Mkd(_)
            | Command::Rmd(_)
            | Command::Rnfr(_)
            | Command::Rnto(_)
    )
}

/// Runs the small commands, and answers 502 ("not implemented") for every
/// other one.
pub fn answer(session: &mut Session, ctx: &mut Ctx, command: Command) {
    let reply = match command {
        Command::Size(path) => size(session, ctx, &path),
        Command::Quit => {
            // The session closes once this reply is sent.
            session.phase = Phase::Closing;
            Reply::new(221, "Goodbye")
        }
        Command::Noop => Reply::new(200, "NOOP ok"),
        // Clients read this to guess the LIST format: ls -l, like Unix.
        Command::Syst => Reply::new(215, "UNIX Type: L8"),
        // RFC 2389: the extensions beyond RFC 959, one per line.
        Command::Feat => Reply::multi(
            211,
            ["Features:", "EPSV", "PASV", "SIZE", "UTF8", "End"]
                .map(String::from)
                .to_vec(),
        ),
        Command::Opts(option) if option.eq_ignore_ascii_case("UTF8 ON") => {
            Reply::new(200, "UTF8 is always on")
        }
        // Files travel byte for byte whatever the type (as in the lesson).
        Command::Type(kind) => match kind.to_ascii_uppercase().as_str() {
            "A" | "A N" | "I" | "L 8" => Reply::new(200, format!("Type set to {kind}")),
            _ => Reply::new(504, format!("Type {kind} is not supported: use A or I")),
        },
        Command::Mode(mode) if mode.eq_ignore_ascii_case("S") => Reply::new(200, "Mode set to S"),
        Command::Stru(stru) if stru.eq_ignore_ascii_case("F") => {
            Reply::new(200, "Structure set to F")
        }
        Command::Allo => Reply::new(202, "ALLO is not needed here"),
        other => Reply::new(502, format!("{} is not implemented here", verb(&other))),
    };
    session.reply(reply);
}

/// SIZE path (RFC 3659): `213` and the size in bytes of a file. It goes
/// through your jail, like every command that names a path.
fn size(session: &Session, ctx: &Ctx, path: &str) -> Reply {
    let real = jail::join(&session.cwd, path).and_then(|target| ctx.config.jail.resolve(&target));
    match real.map(|real| real.metadata().map(|meta| (meta.is_file(), meta.len()))) {
        Ok(Ok((true, size))) => Reply::new(213, size.to_string()),
        Ok(Ok((false, _))) => Reply::new(550, format!("{path}: not a plain file")),
        Ok(Err(e)) => Reply::new(550, format!("{path}: {e}")),
        Err(error) => error.reply(path),
    }
}

/// The verb of a command, for the 502 reply.
fn verb(command: &Command) -> String {
    // `Retr("x")` → `RETR`: the variant's name is the verb.
    let debug = format!("{command:?}");
    let name = debug.split(['(', ' ']).next().unwrap_or("");
    match command {
        Command::Active(verb) | Command::NotImplemented(verb) => verb.to_string(),
        _ => name.to_ascii_uppercase(),
    }
}
