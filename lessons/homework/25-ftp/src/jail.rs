//! The path jail: every path a client names stays inside the server's root.
//!
//! A client sees a tree that starts at `/`, the server's `--root`. Each path
//! it sends is first resolved *by name*, as text, against its current
//! directory ([`join`]): `.` is dropped, `..` goes up, and a `..`
//! above `/` is refused, not clamped, so the client learns that it tried to
//! leave. A client's absolute path (`/etc/passwd`) is absolute in *its* tree:
//! the file looked for is `ROOT/etc/passwd`.
//!
//! Names are not enough, because a symbolic link inside the root may point
//! anywhere. So the server then asks the file system where the path really
//! leads ([`Jail::resolve`], [`Jail::entry`]) and refuses anything whose real
//! location is not under the real root.
//!
//! One caveat, told honestly: between this check and the `open` that
//! follows, a local user who can write inside the root could swap a
//! directory for a link. Linux closes that gap with `openat2(2)` and
//! `RESOLVE_BENEATH`, which makes the kernel do the check during the open.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::reply::Reply;
use crate::transfer::PART_PREFIX;

/// Why a path was refused.
#[derive(Debug)]
pub enum JailError {
    /// It leads outside the root, by `..` or by a symbolic link.
    Outside,
    /// It holds NUL, CR or LF: such names cannot be sent back in a reply or
    /// a listing without breaking the protocol, so they are never accepted.
    BadName,
    /// It names an upload still in progress, which no client may touch.
    Reserved,
    /// The file system said no: not found, permission denied, ...
    Io(io::Error),
}

impl From<io::Error> for JailError {
    fn from(error: io::Error) -> Self {
        JailError::Io(error)
    }
}

impl fmt::Display for JailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JailError::Outside => f.write_str("leads outside the server's root"),
            JailError::BadName => f.write_str("names may not contain NUL, CR or LF"),
            JailError::Reserved => f.write_str("is an upload in progress"),
            JailError::Io(error) => match error.kind() {
                io::ErrorKind::NotFound => f.write_str("No such file or directory"),
                io::ErrorKind::PermissionDenied => f.write_str("Permission denied"),
                io::ErrorKind::NotADirectory => f.write_str("Not a directory"),
                _ => write!(f, "{error}"),
            },
        }
    }
}

impl JailError {
    /// The reply for this refusal of the path the client sent (`shown`).
    pub fn reply(&self, shown: &str) -> Reply {
        match self {
            JailError::BadName => Reply::new(501, format!("Refused: {self}")),
            _ => Reply::new(550, format!("{shown}: {self}")),
        }
    }
}

// ANCHOR: join
/// Resolves `arg` against the client's current directory `cwd`, by name only.
/// Both are paths in the client's tree; the result is absolute and clean,
/// like `/docs/a.txt`.
pub fn join(cwd: &str, arg: &str) -> Result<String, JailError> {
    if arg.contains(['\0', '\r', '\n']) {
        return Err(JailError::BadName);
    }
    let mut parts: Vec<&str> = if arg.starts_with('/') {
        Vec::new()
    } else {
        cwd.split('/').filter(|part| !part.is_empty()).collect()
    };
    for part in arg.split('/') {
        match part {
            "" | "." => {}
            // Going above `/` is an attempt to leave: refuse it.
            ".." => {
                parts.pop().ok_or(JailError::Outside)?;
            }
            name if name.starts_with(PART_PREFIX) => return Err(JailError::Reserved),
            name => parts.push(name),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}
// ANCHOR_END: join

/// The root, and the checks of where paths really lead.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The root with every symbolic link resolved, so that "is inside" is a
    /// plain prefix test on resolved paths.
    root: PathBuf,
}

impl Jail {
    /// A jail at `root`, which must be an existing directory.
    pub fn new(root: &Path) -> io::Result<Jail> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Jail { root })
    }

    /// The resolved root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the clean client path `vpath` would be, before any link is
    /// followed.
    fn on_disk(&self, vpath: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(vpath.split('/').filter(|part| !part.is_empty()));
        path
    }

    // ANCHOR: resolve
    /// The real location of an existing file or directory, every link
    /// followed. Used for everything that reads: RETR, LIST, CWD, SIZE.
    pub fn resolve(&self, vpath: &str) -> Result<PathBuf, JailError> {
        let real = self.on_disk(vpath).canonicalize()?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(JailError::Outside)
        }
    }

    /// The directory entry `vpath` names, which may not exist yet: its
    /// parent resolved and checked, its own name kept. Used for what
    /// creates, removes or renames names: STOR, MKD, DELE, RNFR. If the
    /// entry is a link, it must lead inside the root (a dangling link is
    /// refused too: where it would lead cannot be checked).
    pub fn entry(&self, vpath: &str) -> Result<PathBuf, JailError> {
        let Some((parent, name)) = vpath.rsplit_once('/').filter(|(_, name)| !name.is_empty())
        else {
            return Ok(self.root.clone());
        };
        let parent = self.resolve(if parent.is_empty() { "/" } else { parent })?;
        let entry = parent.join(name);
        match entry.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => match entry.canonicalize() {
                Ok(target) if target.starts_with(&self.root) => Ok(entry),
                _ => Err(JailError::Outside),
            },
            _ => Ok(entry),
        }
    }
    // ANCHOR_END: resolve

    /// Whether a real path lies inside the root (after resolving it).
    pub fn contains(&self, real: &Path) -> bool {
        real.canonicalize()
            .is_ok_and(|real| real.starts_with(&self.root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_against_the_current_directory() {
        assert_eq!(join("/", "a.txt").unwrap(), "/a.txt");
        assert_eq!(join("/docs", "a.txt").unwrap(), "/docs/a.txt");
        assert_eq!(join("/docs", "./x/../b").unwrap(), "/docs/b");
        assert_eq!(join("/docs", "..").unwrap(), "/");
        assert_eq!(join("/docs", "").unwrap(), "/docs");
        assert_eq!(join("/docs", "//etc///passwd").unwrap(), "/etc/passwd");
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        assert!(matches!(join("/", ".."), Err(JailError::Outside)));
        assert!(matches!(join("/a", "../../b"), Err(JailError::Outside)));
        assert!(matches!(join("/", "/../etc"), Err(JailError::Outside)));
    }

    #[test]
    fn control_characters_and_uploads_in_progress_are_refused() {
        assert!(matches!(join("/", "a\rb"), Err(JailError::BadName)));
        assert!(matches!(join("/", "a\0b"), Err(JailError::BadName)));
        let part = format!("{PART_PREFIX}1-2");
        assert!(matches!(join("/", &part), Err(JailError::Reserved)));
    }

    #[cfg(unix)]
    #[test]
    fn links_that_lead_out_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("inside"), "i").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink("inside", root.path().join("ok")).unwrap();
        std::os::unix::fs::symlink("/nowhere/at/all", root.path().join("dangling")).unwrap();
        let jail = Jail::new(root.path()).unwrap();

        assert!(matches!(
            jail.resolve("/out/secret"),
            Err(JailError::Outside)
        ));
        assert!(matches!(jail.resolve("/out"), Err(JailError::Outside)));
        assert!(matches!(jail.entry("/out/new"), Err(JailError::Outside)));
        assert!(matches!(jail.entry("/dangling"), Err(JailError::Outside)));
        assert!(jail.resolve("/ok").unwrap().ends_with("inside"));
        assert!(jail.entry("/ok").unwrap().ends_with("ok"));
        assert!(jail.entry("/new").unwrap().ends_with("new"));
        assert_eq!(jail.entry("/").unwrap(), jail.root());
    }
}
