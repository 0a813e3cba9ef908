//! Who may log in, and who may write.
//!
//! Accounts come from `--user NAME:PASSWORD` flags or from a file with one
//! `NAME:PASSWORD` per line (`NAME:PASSWORD:ro` for a read-only account).
//! Anonymous logins (user `anonymous` or `ftp`, any password, as RFC 1635
//! describes) are allowed unless turned off, and are read-only unless the
//! server was started with `--anonymous-write`.
//!
//! FTP sends passwords in clear text; these are classroom accounts on
//! loopback, not a place for a password you use anywhere else.

use std::collections::BTreeMap;
use std::fmt;

/// What a successful login may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The name the client logged in as (`anonymous` for both anonymous
    /// spellings), shown in the server's log.
    pub user: String,
    /// Whether STOR, APPE, DELE, MKD, RMD, RNFR/RNTO are allowed.
    pub writable: bool,
}

/// One named account.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    password: String,
    writable: bool,
}

/// Whether anonymous logins are accepted, and what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymous {
    Refused,
    ReadOnly,
    ReadWrite,
}

/// The accounts a server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Users {
    accounts: BTreeMap<String, Account>,
    anonymous: Anonymous,
}

/// A malformed `--user` value or users-file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAccount(String);

impl fmt::Display for BadAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadAccount {}

impl Users {
    /// No named accounts; anonymous as given.
    pub fn new(anonymous: Anonymous) -> Users {
        Users {
            accounts: BTreeMap::new(),
            anonymous,
        }
    }

    /// Adds an account from `NAME:PASSWORD` or `NAME:PASSWORD:ro|rw`.
    pub fn add(&mut self, spec: &str) -> Result<(), BadAccount> {
        let bad = |why: &str| BadAccount(format!("bad account `{spec}`: {why}"));
        let (name, rest) = spec
            .split_once(':')
            .ok_or_else(|| bad("write NAME:PASSWORD"))?;
        let (password, writable) = match rest.rsplit_once(':') {
            Some((password, "ro")) => (password, false),
            Some((password, "rw")) => (password, true),
            _ => (rest, true),
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad("the name must be non-empty, without spaces"));
        }
        if is_anonymous(name) {
            return Err(bad("anonymous and ftp are the anonymous login"));
        }
        self.accounts.insert(
            name.to_string(),
            Account {
                password: password.to_string(),
                writable,
            },
        );
        Ok(())
    }

    /// Adds every account in a users file: one per line, `#` starts a
    /// comment, blank lines are skipped.
    pub fn add_file(&mut self, text: &str) -> Result<(), BadAccount> {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add(line)
                .map_err(|e| BadAccount(format!("line {}: {e}", number + 1)))?;
        }
        Ok(())
    }

    /// Whether a USER name may log in at all (to answer USER honestly).
    pub fn anonymous_allowed(&self) -> bool {
        self.anonymous != Anonymous::Refused
    }

    /// The named accounts, for the server's start-up message.
    pub fn names(&self) -> impl Iterator<Item = (&str, bool)> {
        self.accounts
            .iter()
            .map(|(name, account)| (name.as_str(), account.writable))
    }

    /// What anonymous logins may do.
    pub fn anonymous(&self) -> Anonymous {
        self.anonymous
    }

    /// Checks a USER/PASS pair.
    pub fn check(&self, user: &str, password: &str) -> Option<Login> {
        if is_anonymous(user) {
            return match self.anonymous {
                Anonymous::Refused => None,
                mode => Some(Login {
                    user: "anonymous".to_string(),
                    writable: mode == Anonymous::ReadWrite,
                }),
            };
        }
        let account = self.accounts.get(user)?;
        same_secret(account.password.as_bytes(), password.as_bytes()).then(|| Login {
            user: user.to_string(),
            writable: account.writable,
        })
    }
}

/// The two names RFC 1635 gives anonymous FTP.
pub fn is_anonymous(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell an attacker how many leading bytes were right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (x, y) in a.iter().zip(b) {
        difference |= usize::from(x ^ y);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_from_flags_and_files() {
        let mut users = Users::new(Anonymous::ReadOnly);
        users.add("alice:secret").unwrap();
        users
            .add_file("# staff\n\nbob:pa:ss:ro\ncarol:x:rw\n")
            .unwrap();
        assert_eq!(
            users.check("alice", "secret"),
            Some(Login {
                user: "alice".into(),
                writable: true
            })
        );
        assert_eq!(users.check("alice", "wrong"), None);
        assert_eq!(users.check("alice", "secre"), None);
        assert!(!users.check("bob", "pa:ss").unwrap().writable);
        assert!(users.check("carol", "x").unwrap().writable);
        assert_eq!(users.check("nobody", ""), None);
        assert!(!users.check("anonymous", "me@x").unwrap().writable);
        assert!(users.check("FTP", "").is_some());
    }

    #[test]
    fn anonymous_can_be_refused_or_given_write() {
        assert_eq!(Users::new(Anonymous::Refused).check("ftp", ""), None);
        assert!(
            Users::new(Anonymous::ReadWrite)
                .check("anonymous", "")
                .unwrap()
                .writable
        );
    }

    #[test]
    fn malformed_accounts_are_clear_errors() {
        let mut users = Users::new(Anonymous::ReadOnly);
        assert!(
            users
                .add("nopassword")
                .unwrap_err()
                .0
                .contains("NAME:PASSWORD")
        );
        assert!(users.add("anonymous:x").is_err());
        let error = users.add_file("ok:1\nbad\n").unwrap_err().0;
        assert!(error.starts_with("line 2:"), "{error}");
    }
}
