//! YOURS TO WRITE: the path jail. Every path a client names stays inside the
//! server's root.
//!
//! A client sees a tree that starts at `/`, which is the server's `--root`.
//! Checking a path takes two steps:
//!
//! 1. By name, as text ([`join`]): the client's argument is resolved against
//!    its current directory. `.` and empty parts are dropped, `..` goes up
//!    one level, and a `..` above `/` is *refused* (not clamped to `/`), so
//!    the client learns that it tried to leave. An absolute argument such as
//!    `/etc/passwd` is absolute in the *client's* tree: it means
//!    `ROOT/etc/passwd`, never the server's own `/etc/passwd`.
//! 2. On disk ([`Jail::resolve`], [`Jail::entry`]): a symbolic link inside
//!    the root may point anywhere, so the names alone prove nothing. Ask the
//!    file system where the path really leads (`Path::canonicalize` follows
//!    every link) and refuse anything that does not lie under the real root.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use lesson_25_ftp::reply::Reply;

// ANCHOR: given
/// Why a path was refused.
#[derive(Debug)]
pub enum JailError {
    /// It leads outside the root, by `..` or by a symbolic link.
    Outside,
    /// It holds NUL, CR or LF: such a name could not be sent back in a reply
    /// or a listing without breaking the protocol.
    BadName,
    /// The file system said no: not found, permission denied, ...
    Io(io::Error),
}

impl From<io::Error> for JailError {
    /// Lets `?` turn an `io::Error` into `JailError::Io`.
    fn from(error: io::Error) -> Self {
        JailError::Io(error)
    }
}

impl JailError {
    /// The reply for this refusal of `shown`, the path as the client sent
    /// it: 501 for a bad name, 550 for everything else.
    pub fn reply(&self, shown: &str) -> Reply {
        match self {
            JailError::BadName => Reply::new(501, format!("Refused: {self}")),
            _ => Reply::new(550, format!("{shown}: {self}")),
        }
    }
}

/// The server's root, and the checks of where paths really lead.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The root with every symbolic link in it resolved, so that "is inside
    /// the root" is a plain `starts_with` on resolved paths.
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

    /// Where the clean client path `vpath` (as [`join`] returns it) would be
    /// on disk, *before* any link is followed: `/docs/a.txt` becomes
    /// `ROOT/docs/a.txt`. Not a check by itself.
    pub fn on_disk(&self, vpath: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(vpath.split('/').filter(|part| !part.is_empty()));
        path
    }
}
// ANCHOR_END: given

// ANCHOR: todo
/// Resolves `arg` against the client's current directory `cwd`, by name
/// only. Both are paths in the client's tree; the result is absolute and
/// clean:
///
/// ```text
/// join("/docs", "a.txt")        == Ok("/docs/a.txt")
/// join("/docs", "./x/../b")     == Ok("/docs/b")
/// join("/docs", "..")           == Ok("/")
/// join("/docs", "")             == Ok("/docs")
/// join("/docs", "//etc/passwd") == Ok("/etc/passwd")   (in the client's tree)
/// join("/", "..")               == Err(JailError::Outside)
/// join("/a", "../../b")         == Err(JailError::Outside)
/// join("/", "a\r\nb")           == Err(JailError::BadName)
/// ```
///
/// Hint: split on `/` and keep a `Vec` of parts; an argument that starts
/// with `/` starts from an empty `Vec` instead of `cwd`'s parts.
pub fn join(cwd: &str, arg: &str) -> Result<String, JailError> {
    let _ = (cwd, arg);
    todo!("jail::join: resolve the client's path by name, refusing `..` above the root")
}

impl Jail {
    /// The real location of an *existing* file or directory, every link
    /// followed. For everything that reads: RETR, LIST, CWD.
    ///
    /// `Err(JailError::Io(..))` if it does not exist (`?` converts the
    /// `io::Error`), `Err(JailError::Outside)` if its real location is not
    /// inside [`Jail::root`].
    pub fn resolve(&self, vpath: &str) -> Result<PathBuf, JailError> {
        let _ = self.on_disk(vpath);
        todo!("Jail::resolve: canonicalize ROOT + vpath and refuse what lies outside the root")
    }

    /// The directory entry `vpath` names, which may not exist yet (STOR
    /// creates it). Its *parent* must resolve inside the root (use
    /// [`Jail::resolve`]); its own name is kept as it is. If the entry
    /// exists and is a symbolic link, where it leads must be inside the root
    /// too (a link that leads nowhere is refused as well: where it would
    /// lead cannot be checked). `entry("/")` is the root itself.
    ///
    /// Hint: `vpath.rsplit_once('/')` splits `/docs/new.txt` into `/docs`
    /// and `new.txt` (and `/new.txt` into `""` and `new.txt`);
    /// `symlink_metadata` tells a link from what it points to.
    pub fn entry(&self, vpath: &str) -> Result<PathBuf, JailError> {
        let _ = vpath;
        todo!("Jail::entry: resolve the parent, keep the name, check a link's target")
    }
}
// ANCHOR_END: todo

impl fmt::Display for JailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JailError::Outside => f.write_str("leads outside the server's root"),
            JailError::BadName => f.write_str("names may not contain NUL, CR or LF"),
            JailError::Io(error) => match error.kind() {
                io::ErrorKind::NotFound => f.write_str("No such file or directory"),
                io::ErrorKind::PermissionDenied => f.write_str("Permission denied"),
                io::ErrorKind::NotADirectory => f.write_str("Not a directory"),
                _ => write!(f, "{error}"),
            },
        }
    }
}
