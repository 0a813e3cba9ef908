//! The open-file limit (`RLIMIT_NOFILE`): how many descriptors this process
//! may hold, and raising it when a lesson needs thousands of sockets.
//!
//! Every socket is a file descriptor, and a process may only hold so many:
//! the *soft* limit, which the process may raise by itself up to the *hard*
//! limit, which only root can raise. Many systems start processes with a soft
//! limit of 1,024, so a server that wants 10,000 connections must raise it
//! first (Redis does this at start-up), and say so. `ulimit -Sn` and
//! `ulimit -Hn` show the two limits of your shell.
//!
//! Lessons 07–09 and the echo arena open thousands of sockets; they call
//! [`raise_to`] and print what it did, or [`raise_for`], which says it.

use std::fmt;
use std::io;

/// The two limits on open descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// What the process may open now; it may raise this up to `hard`.
    pub soft: u64,
    /// The ceiling for `soft`; only a privileged process may raise it.
    pub hard: u64,
}

/// What [`raise_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// The soft limit was already high enough: nothing changed.
    AlreadyEnough(Limits),
    /// The soft limit went from `from` to `to`.
    Raised { from: u64, to: u64, hard: u64 },
}

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raised::AlreadyEnough(limits) => write!(
                f,
                "open-file limit already {} (hard limit {})",
                Shown(limits.soft),
                Shown(limits.hard)
            ),
            Raised::Raised { from, to, hard } => write!(
                f,
                "open-file limit raised from {} to {} (hard limit {})",
                Shown(*from),
                Shown(*to),
                Shown(*hard)
            ),
        }
    }
}

/// The value `getrlimit` reports for "no limit" (`RLIM_INFINITY`).
// `rlim_t` is a u64 on 64-bit Linux and macOS, but not on every platform.
#[allow(clippy::unnecessary_cast)]
pub const UNLIMITED: u64 = libc::RLIM_INFINITY as u64;

/// A limit as a person reads it: a number, or "unlimited".
struct Shown(u64);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == UNLIMITED {
            f.write_str("unlimited")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// The hard limit is below what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardLimitTooLow {
    pub wanted: u64,
    pub limits: Limits,
}

impl fmt::Display for HardLimitTooLow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this needs {} open files, but the hard limit is {}: ask for fewer, \
             or raise the hard limit as root (`ulimit -Hn {}` in the shell that \
             starts it, or /etc/security/limits.conf)",
            self.wanted, self.limits.hard, self.wanted
        )
    }
}

impl std::error::Error for HardLimitTooLow {}

/// The current limits.
// `rlim_t` is a u64 on 64-bit Linux and macOS, but not on every platform.
#[allow(clippy::useless_conversion)]
pub fn current() -> io::Result<Limits> {
    let mut raw = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut raw) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Limits {
        soft: u64::from(raw.rlim_cur),
        hard: u64::from(raw.rlim_max),
    })
}

// ANCHOR: raise_to
/// Raises the soft limit to at least `wanted` descriptors. It never lowers
/// it, and fails with [`HardLimitTooLow`] if the hard limit is below
/// `wanted` (nothing is changed then).
pub fn raise_to(wanted: u64) -> Result<Raised, Box<dyn std::error::Error + Send + Sync>> {
    let limits = current()?;
    if limits.soft >= wanted {
        return Ok(Raised::AlreadyEnough(limits));
    }
    if limits.hard < wanted {
        return Err(Box::new(HardLimitTooLow { wanted, limits }));
    }
    let raw = libc::rlimit {
        rlim_cur: wanted as libc::rlim_t,
        rlim_max: limits.hard as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw) } != 0 {
        return Err(Box::new(io::Error::last_os_error()));
    }
    Ok(Raised::Raised {
        from: limits.soft,
        to: wanted,
        hard: limits.hard,
    })
}
// ANCHOR_END: raise_to

/// Raises the soft limit to at least `wanted`, for a server about to
/// start, and returns what to tell the user: `None` if nothing changed,
/// the new limit and `why` if it was raised, or a note if it could not be
/// (the server still runs, with the limit it has).
pub fn raise_for(wanted: u64, why: &str) -> Option<String> {
    match raise_to(wanted) {
        Ok(Raised::AlreadyEnough(_)) => None,
        Ok(raised) => Some(format!("{raised}, {why}")),
        Err(error) => Some(format!("note: {error}")),
    }
}

/// Raises the soft limit as far as the hard limit allows, but no further
/// than `cap` (a hard limit may be "unlimited", and a server has no use for
/// a billion descriptors). What servers do at start-up.
pub fn raise_to_hard(cap: u64) -> Result<Raised, Box<dyn std::error::Error + Send + Sync>> {
    let limits = current()?;
    raise_to(limits.hard.min(cap).max(limits.soft))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_to_the_current_soft_limit_changes_nothing() {
        let limits = current().unwrap();
        assert_eq!(
            raise_to(limits.soft).unwrap(),
            Raised::AlreadyEnough(limits)
        );
    }

    #[test]
    fn asking_past_the_hard_limit_is_a_clear_error() {
        let limits = current().unwrap();
        if limits.hard == UNLIMITED {
            // Nothing to go past here: run this very test again in a child
            // whose hard limit the shell lowered first, and say so.
            eprintln!("hard limit unlimited here: checking under `ulimit -n 4096` instead");
            let exe = std::env::current_exe().unwrap();
            let output = std::process::Command::new("sh")
                .args(["-c", "ulimit -n 4096 && exec \"$0\" \"$@\""])
                .arg(exe)
                .args([
                    "--exact",
                    "fdlimit::tests::asking_past_the_hard_limit_is_a_clear_error",
                ])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("1 passed"),
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            return;
        }
        let error = raise_to(limits.hard + 1).unwrap_err().to_string();
        assert!(error.contains("hard limit"), "{error}");
        assert_eq!(current().unwrap(), limits);
    }

    #[test]
    fn an_unlimited_limit_is_shown_as_unlimited() {
        let shown = Raised::AlreadyEnough(Limits {
            soft: 1024,
            hard: UNLIMITED,
        })
        .to_string();
        assert_eq!(shown, "open-file limit already 1024 (hard limit unlimited)");
    }
}
