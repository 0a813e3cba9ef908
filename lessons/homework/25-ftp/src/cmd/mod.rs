//! The commands: parsed from one line, then run against a session.
//!
//! [`parse`] turns a line like `RETR notes.txt` into a [`Command`], or into a
//! [`ParseError`] that knows its reply. It never panics and never allocates
//! more than the line, whatever bytes it is given: it is the part of the
//! server that reads untrusted input first, and it has a fuzz target
//! (`fuzz/fuzz_targets/parse.rs`).
//!
//! [`execute`] checks what holds for every command (logged in? allowed to
//! write?) and hands the command to its file: `login.rs` for USER, PASS and
//! QUIT, `retr.rs` for RETR, and so on, in the manner of mini-redis's
//! `cmd/` folder.

mod abor;
mod cwd;
mod dele;
mod info;
mod list;
mod login;
mod mdtm;
mod mkd;
mod params;
mod passive;
mod rename;
mod rest;
mod retr;
mod size;
mod stor;

use std::fmt;

use crate::listing::Format;
use crate::reply::Reply;
use crate::session::{Ctx, Session};

// ANCHOR: command
/// One command from a client, its argument parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    // Logging in and out (login.rs).
    User(String),
    Pass(String),
    Quit,
    // About the server (info.rs).
    Syst,
    Feat,
    Opts(String),
    Help(Option<String>),
    Noop,
    // The current directory (cwd.rs).
    Pwd,
    Cwd(String),
    Cdup,
    // Transfer parameters (params.rs): accepted for compatibility.
    Type(String),
    Mode(String),
    Stru(String),
    // Opening data connections (passive.rs).
    Pasv,
    Epsv(Option<String>),
    /// PORT and EPRT: active mode, always refused.
    Active(&'static str),
    // Listings (list.rs).
    List(Option<String>),
    Nlst(Option<String>),
    Mlsd(Option<String>),
    Mlst(Option<String>),
    // Transfers (retr.rs, stor.rs, rest.rs, abor.rs).
    Retr(String),
    Stor(String),
    Appe(String),
    Rest(u64),
    Abor,
    // Facts about files (size.rs, mdtm.rs).
    Size(String),
    Mdtm(String),
    // Changing the tree (dele.rs, mkd.rs, rename.rs).
    Dele(String),
    Mkd(String),
    Rmd(String),
    Rnfr(String),
    Rnto(String),
    /// ALLO: space reservation, which this server does not need (202).
    Allo,
    /// A verb from the RFCs that this server does not implement (502).
    NotImplemented(&'static str),
}
// ANCHOR_END: command

/// Every verb the server knows, with its syntax, for HELP.
pub const VERBS: &[(&str, &str)] = &[
    ("ABOR", "ABOR: abort the running transfer"),
    ("APPE", "APPE <path>: append to a file"),
    ("CDUP", "CDUP: go to the parent directory"),
    ("CWD", "CWD <path>: change directory"),
    ("DELE", "DELE <path>: delete a file"),
    (
        "EPSV",
        "EPSV [1|2|ALL]: open a passive data port (RFC 2428)",
    ),
    ("FEAT", "FEAT: list the extensions"),
    ("HELP", "HELP [<verb>]: this help"),
    ("LIST", "LIST [<path>]: ls -l style listing"),
    ("MDTM", "MDTM <path>: modification time, UTC"),
    ("MKD", "MKD <path>: make a directory"),
    ("MLSD", "MLSD [<path>]: machine-readable listing (RFC 3659)"),
    ("MLST", "MLST [<path>]: facts about one entry (RFC 3659)"),
    ("MODE", "MODE S: stream mode (the only one)"),
    ("NLST", "NLST [<path>]: names only"),
    ("NOOP", "NOOP: do nothing"),
    ("OPTS", "OPTS UTF8 ON | OPTS MLST <facts>"),
    ("PASS", "PASS <password>: log in"),
    ("PASV", "PASV: open a passive data port"),
    ("PWD", "PWD: print the current directory"),
    ("QUIT", "QUIT: log out and close"),
    (
        "REST",
        "REST <offset>: start the next RETR or STOR at offset",
    ),
    ("RETR", "RETR <path>: download a file"),
    ("RMD", "RMD <path>: remove an empty directory"),
    ("RNFR", "RNFR <path>: rename from (then RNTO)"),
    ("RNTO", "RNTO <path>: rename to"),
    ("SIZE", "SIZE <path>: size in bytes"),
    ("STOR", "STOR <path>: upload a file"),
    ("STRU", "STRU F: file structure (the only one)"),
    ("SYST", "SYST: system type"),
    ("TYPE", "TYPE A|I: transfer type"),
    ("USER", "USER <name>: start logging in"),
];

/// Verbs named in RFC 959, 2228 and 3659 that this server does not
/// implement: they get 502 ("not implemented") rather than 500 ("unknown").
const NOT_IMPLEMENTED: &[&str] = &[
    "ACCT", "ADAT", "AUTH", "CCC", "CONF", "ENC", "HOST", "LANG", "MFMT", "MIC", "PBSZ", "PROT",
    "REIN", "SITE", "SMNT", "STAT", "STOU",
];

/// Why a line is not a command the server can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// An empty line.
    Empty,
    /// A verb the server does not know (shown sanitised).
    Unknown(String),
    /// The argument is not UTF-8.
    NotUtf8,
    /// A verb that needs an argument came without one.
    MissingArgument(&'static str),
    /// An argument of the wrong form.
    BadArgument(&'static str, &'static str),
}

impl ParseError {
    /// The reply: 500 for what is not a command, 501 for bad arguments.
    pub fn reply(&self) -> Reply {
        match self {
            ParseError::Empty | ParseError::Unknown(_) => Reply::new(500, self.to_string()),
            _ => Reply::new(501, self.to_string()),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("Empty command line"),
            ParseError::Unknown(verb) => write!(f, "Unknown command `{verb}` (try HELP)"),
            ParseError::NotUtf8 => f.write_str("Arguments must be UTF-8"),
            ParseError::MissingArgument(verb) => write!(f, "{verb} needs an argument"),
            ParseError::BadArgument(verb, why) => write!(f, "{verb}: {why}"),
        }
    }
}

// ANCHOR: parse
/// Parses one command line (without its CRLF): a verb of letters,
/// case-insensitive, then optionally one space and the argument, which is
/// everything up to the end of the line (file names may hold spaces).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (verb, argument) = match line.iter().position(|&b| b == b' ') {
        Some(space) => (&line[..space], Some(&line[space + 1..])),
        None => (line, None),
    };
    if verb.is_empty() || verb.len() > 4 || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(ParseError::Unknown(printable(verb)));
    }
    let verb = verb.to_ascii_uppercase();
    // Every known verb is ASCII letters, so this cannot fail for them.
    let verb = std::str::from_utf8(&verb).unwrap_or_default();
    let argument = match argument {
        Some(bytes) => std::str::from_utf8(bytes).map_err(|_| ParseError::NotUtf8)?,
        None => "",
    };
    // `Some` when the client sent a non-empty argument.
    let optional = (!argument.is_empty()).then(|| argument.to_string());
    let required = |name: &'static str| optional.clone().ok_or(ParseError::MissingArgument(name));

    Ok(match verb {
        "USER" => Command::User(required("USER")?),
        // An empty password is a password (anonymous logins often send one).
        "PASS" => Command::Pass(argument.to_string()),
        "QUIT" => Command::Quit,
        "SYST" => Command::Syst,
        "FEAT" => Command::Feat,
        "OPTS" => Command::Opts(required("OPTS")?),
        "HELP" => Command::Help(optional),
        "NOOP" => Command::Noop,
        // The X forms are RFC 775's names, still sent by some old clients.
        "PWD" | "XPWD" => Command::Pwd,
        "CWD" | "XCWD" => Command::Cwd(required("CWD")?),
        "CDUP" | "XCUP" => Command::Cdup,
        "TYPE" => Command::Type(required("TYPE")?),
        "MODE" => Command::Mode(required("MODE")?),
        "STRU" => Command::Stru(required("STRU")?),
        "PASV" => Command::Pasv,
        "EPSV" => Command::Epsv(optional),
        "PORT" => Command::Active("PORT"),
        "EPRT" => Command::Active("EPRT"),
        "LIST" => Command::List(optional),
        "NLST" => Command::Nlst(optional),
        "MLSD" => Command::Mlsd(optional),
        "MLST" => Command::Mlst(optional),
        "RETR" => Command::Retr(required("RETR")?),
        "STOR" => Command::Stor(required("STOR")?),
        "APPE" => Command::Appe(required("APPE")?),
        "REST" => Command::Rest(required("REST")?.trim().parse().map_err(|_| {
            ParseError::BadArgument("REST", "the offset must be a number of bytes")
        })?),
        "ABOR" => Command::Abor,
        "SIZE" => Command::Size(required("SIZE")?),
        "MDTM" => Command::Mdtm(required("MDTM")?),
        "DELE" => Command::Dele(required("DELE")?),
        "MKD" | "XMKD" => Command::Mkd(required("MKD")?),
        "RMD" | "XRMD" => Command::Rmd(required("RMD")?),
        "RNFR" => Command::Rnfr(required("RNFR")?),
        "RNTO" => Command::Rnto(required("RNTO")?),
        "ALLO" => Command::Allo,
        other => match NOT_IMPLEMENTED.iter().find(|known| **known == other) {
            Some(known) => Command::NotImplemented(known),
            None => return Err(ParseError::Unknown(other.to_string())),
        },
    })
}
// ANCHOR_END: parse

/// Up to 16 bytes of `bytes`, non-printable ones shown as `?`: safe to put
/// in a reply.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(16)
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

impl Command {
    /// Commands a client may send before logging in: the login itself and
    /// the ones that only describe the server.
    fn allowed_before_login(&self) -> bool {
        matches!(
            self,
            Command::User(_)
                | Command::Pass(_)
                | Command::Quit
                | Command::Syst
                | Command::Feat
                | Command::Opts(_)
                | Command::Help(_)
                | Command::Noop
                | Command::Abor
                | Command::NotImplemented(_)
        )
    }

    /// Commands that change the tree: a read-only login may not send them.
    fn writes(&self) -> bool {
        matches!(
            self,
            Command::Stor(_)
                | Command::Appe(_)
                | Command::Dele(_)
                | Command::Mkd(_)
                | Command::Rmd(_)
                | Command::Rnfr(_)
                | Command::Rnto(_)
        )
    }
}

// ANCHOR: execute
/// Runs one command: the checks every command shares, then its own code.
pub fn execute(session: &mut Session, ctx: &mut Ctx, command: Command) {
    // RNTO must come right after RNFR: anything else forgets the RNFR.
    if !matches!(command, Command::Rnto(_)) {
        session.rename_from = None;
    }
    if !command.allowed_before_login() && session.login().is_none() {
        session.reply(Reply::new(530, "Please log in with USER and PASS first"));
        return;
    }
    if command.writes() && !session.login().is_some_and(|login| login.writable) {
        session.reply(Reply::new(
            550,
            "Permission denied: this login is read-only",
        ));
        return;
    }
    match command {
        Command::User(name) => login::user(session, ctx, name),
        Command::Pass(password) => login::pass(session, ctx, &password),
        Command::Quit => login::quit(session),
        Command::Syst => info::syst(session),
        Command::Feat => info::feat(session),
        Command::Opts(option) => info::opts(session, &option),
        Command::Help(verb) => info::help(session, verb.as_deref()),
        Command::Noop => session.reply(Reply::new(200, "NOOP ok")),
        Command::Pwd => cwd::pwd(session),
        Command::Cwd(path) => cwd::cwd(session, ctx, &path),
        Command::Cdup => cwd::cwd(session, ctx, ".."),
        Command::Type(kind) => params::type_(session, &kind),
        Command::Mode(mode) => params::mode(session, &mode),
        Command::Stru(structure) => params::stru(session, &structure),
        Command::Pasv => passive::pasv(session, ctx),
        Command::Epsv(argument) => passive::epsv(session, ctx, argument.as_deref()),
        Command::Active(verb) => passive::active(session, verb),
        Command::List(path) => list::list(session, ctx, path.as_deref(), Format::Long),
        Command::Nlst(path) => list::list(session, ctx, path.as_deref(), Format::Names),
        Command::Mlsd(path) => list::list(session, ctx, path.as_deref(), Format::Facts),
        Command::Mlst(path) => list::mlst(session, ctx, path.as_deref()),
        Command::Retr(path) => retr::retr(session, ctx, &path),
        Command::Stor(path) => stor::stor(session, ctx, &path, stor::Mode::Replace),
        Command::Appe(path) => stor::stor(session, ctx, &path, stor::Mode::Append),
        Command::Rest(offset) => rest::rest(session, offset),
        Command::Abor => abor::abor(session, ctx),
        Command::Size(path) => size::size(session, ctx, &path),
        Command::Mdtm(path) => mdtm::mdtm(session, ctx, &path),
        Command::Dele(path) => dele::dele(session, ctx, &path),
        Command::Mkd(path) => mkd::mkd(session, ctx, &path),
        Command::Rmd(path) => mkd::rmd(session, ctx, &path),
        Command::Rnfr(path) => rename::rnfr(session, ctx, &path),
        Command::Rnto(path) => rename::rnto(session, ctx, &path),
        Command::Allo => session.reply(Reply::new(202, "ALLO is not needed here")),
        Command::NotImplemented(verb) => {
            session.reply(Reply::new(502, format!("{verb} is not implemented")))
        }
    }
}
// ANCHOR_END: execute

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_case_insensitive_and_arguments_keep_their_spaces() {
        assert_eq!(
            parse(b"retr my file.txt"),
            Ok(Command::Retr("my file.txt".into()))
        );
        assert_eq!(parse(b"NoOp"), Ok(Command::Noop));
        assert_eq!(parse(b"XPWD"), Ok(Command::Pwd));
        assert_eq!(parse(b"PASS"), Ok(Command::Pass(String::new())));
        assert_eq!(parse(b"REST 1024"), Ok(Command::Rest(1024)));
        assert_eq!(parse(b"EPSV"), Ok(Command::Epsv(None)));
        assert_eq!(parse(b"PORT 127,0,0,1,4,1"), Ok(Command::Active("PORT")));
        assert_eq!(
            parse(b"SITE CHMOD 777 x"),
            Ok(Command::NotImplemented("SITE"))
        );
    }

    #[test]
    fn bad_lines_get_500_and_bad_arguments_501() {
        assert_eq!(parse(b"").unwrap_err().reply().code, 500);
        assert_eq!(parse(b"FROB x").unwrap_err().reply().code, 500);
        assert_eq!(parse(b"RETR1").unwrap_err().reply().code, 500);
        assert_eq!(parse(b"\x00\xff\x01").unwrap_err().reply().code, 500);
        assert_eq!(parse(b"RETR").unwrap_err().reply().code, 501);
        assert_eq!(parse(b"RETR ").unwrap_err().reply().code, 501);
        assert_eq!(parse(b"REST -1").unwrap_err().reply().code, 501);
        assert_eq!(parse(b"STOR \xff").unwrap_err().reply().code, 501);
    }

    #[test]
    fn unknown_verbs_are_shown_safely() {
        let reply = parse(b"\x1b[2J\r").unwrap_err().reply().to_string();
        assert!(reply.starts_with("500 Unknown command `?[2J?`"), "{reply}");
    }

    /// The same random input the fuzz target gets, in a fixed amount and
    /// with a fixed seed, so the normal test run covers it too.
    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| {
                    let byte = next() as u8;
                    // Bias towards letters and spaces so verbs are hit too.
                    match byte % 4 {
                        0 => b"RETRSTORLISTUSERPASS "[usize::from(byte) % 21],
                        _ => byte,
                    }
                })
                .collect();
            match parse(&line) {
                Ok(_) => {}
                Err(error) => assert!(matches!(error.reply().code, 500 | 501)),
            }
        }
    }
}
