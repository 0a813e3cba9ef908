//! SYST, FEAT, OPTS and HELP: what the server is and what it can do.

use super::VERBS;
use crate::reply::Reply;
use crate::session::Session;

/// SYST: clients use the answer to guess the LIST format. "UNIX Type: L8"
/// (8-bit bytes) is what nearly every server says, and LIST here is indeed
/// `ls -l` style.
pub fn syst(session: &mut Session) {
    session.reply(Reply::new(215, "UNIX Type: L8"));
}

// ANCHOR: feat
/// FEAT (RFC 2389): the extensions beyond RFC 959, one per line. Clients
/// read this to decide, for example, to use MLSD rather than parse LIST.
pub fn feat(session: &mut Session) {
    let lines = [
        "Features:",
        "EPSV",
        "MDTM",
        "MLST type*;size*;modify*;perm*;",
        "PASV",
        "REST STREAM",
        "SIZE",
        "TVFS",
        "UTF8",
        "End",
    ];
    session.reply(Reply::multi(211, lines.map(String::from).to_vec()));
}
// ANCHOR_END: feat

/// OPTS UTF8 ON (RFC 2640): names are always UTF-8 here, so yes.
/// OPTS MLST ...: every fact is always sent; the reply says which.
pub fn opts(session: &mut Session, option: &str) {
    let upper = option.to_ascii_uppercase();
    let reply = if upper == "UTF8 ON" || upper == "UTF8" {
        Reply::new(200, "UTF8 is always on")
    } else if upper.starts_with("MLST") {
        Reply::new(200, "MLST OPTS type;size;modify;perm;")
    } else {
        Reply::new(501, format!("Option not understood: {option}"))
    };
    session.reply(reply);
}

/// HELP: every verb; HELP VERB: that verb's syntax.
pub fn help(session: &mut Session, verb: Option<&str>) {
    let reply = match verb {
        None => {
            let mut lines = vec!["The commands are:".to_string()];
            for row in VERBS.chunks(8) {
                let verbs: Vec<String> = row.iter().map(|(verb, _)| format!("{verb:<5}")).collect();
                lines.push(verbs.join(" ").trim_end().to_string());
            }
            lines.push("HELP <verb> shows its syntax".to_string());
            Reply::multi(214, lines)
        }
        Some(verb) => match VERBS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(verb))
        {
            Some((_, syntax)) => Reply::new(214, *syntax),
            None => Reply::new(502, format!("No help for {verb}: not a command here")),
        },
    };
    session.reply(reply);
}
