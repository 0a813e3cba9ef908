//! The path jail: every path a client names stays inside the server's root.
//!
//! A client sees a tree that starts at `/`, the server's `--root`. Each path
//! it sends is first resolved *by name*, as text, against its current
//! directory ([`join`]): `.` is dropped, `..` goes up, and a `..`
//! above `/` is refused, not clamped, so the client learns that it tried to
//! leave. A client's absolute path (`/etc/passwd`) is absolute in *its* tree:
//! the file looked for is `ROOT/etc/passwd`.
//!
//! Names are not enough, because the file system changes under us: a local
//! user who can write inside the root may plant a symbolic link, or swap a
//! directory for a link between the moment the server checks a path and
//! the moment it opens it. Checking first and opening by name afterwards
//! (as this server once did) loses that race. So nothing is ever opened by
//! its absolute name. The server holds an open descriptor of the root
//! ([`Jail`]) and asks the kernel to walk *from it*, with the rule "never
//! leave this directory" applied during the walk itself: `openat2(2)` with
//! `RESOLVE_BENEATH` (Linux 5.6 and later). A link that stays inside the
//! root is followed; one that leads out (an absolute link, or a `..` too
//! many) fails with `EXDEV`, however fast someone swaps things around. The
//! check and the open are one system call: there is no gap to race into.
//! Where the kernel lacks `openat2`, the server walks one `openat(2)` per
//! component with `O_NOFOLLOW` and refuses every link: less friendly, just
//! as safe.
//!
//! What creates, removes or renames a name works the same way: the parent
//! directory is opened beneath the root, and the last name is handled
//! relative to that descriptor ([`Dir`]: `mkdirat`, `unlinkat`, `renameat`),
//! which never follows a link in the last name.

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::reply::Reply;
use crate::transfer::PART_PREFIX;

/// Why a path was refused.
#[derive(Debug)]
pub enum JailError {
    /// It leads outside the root.
    Outside,
    /// It is a symbolic link where the server follows none (the last name
    /// of what is created, removed or renamed; every link where the kernel
    /// has no `openat2`).
    Link,
    /// It holds a control character (NUL, CR, LF, ESC, ...): such names
    /// could not be sent back in a reply or a listing without breaking the
    /// protocol or the client's terminal, so they are never accepted.
    BadName,
    /// It names an upload still in progress, which no client may touch.
    Reserved,
    /// It is neither a plain file nor a directory (a FIFO, a socket, a
    /// device): opening those can block the server or reach a device.
    Special,
    /// The file system said no: not found, permission denied, ...
    Io(io::Error),
}

impl From<io::Error> for JailError {
    /// What the kernel answers when a walk beneath the root is refused:
    /// `ELOOP` for a symbolic link on the way, `EXDEV` for a way out.
    fn from(error: io::Error) -> Self {
        match error.raw_os_error() {
            Some(libc::ELOOP) => JailError::Link,
            Some(libc::EXDEV) => JailError::Outside,
            _ => JailError::Io(error),
        }
    }
}

impl fmt::Display for JailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JailError::Outside => f.write_str("leads outside the server's root"),
            JailError::Link => f.write_str("is a symbolic link, which is not followed here"),
            JailError::BadName => f.write_str("names may not contain control characters"),
            JailError::Reserved => f.write_str("is an upload in progress"),
            JailError::Special => f.write_str("is not a plain file or a directory"),
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
    if arg.chars().any(char::is_control) {
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

// ANCHOR: jail
/// The root, held open: every path is walked from this descriptor.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The root's name, for the log only: it is never used to open anything.
    root: PathBuf,
    /// The open root directory.
    dir: Arc<OwnedFd>,
}

impl Jail {
    /// A jail at `root`, which must be an existing directory.
    pub fn new(root: &Path) -> io::Result<Jail> {
        let root = root.canonicalize()?;
        let dir = File::open(&root)?;
        if !dir.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Jail {
            root,
            dir: Arc::new(dir.into()),
        })
    }

    /// The root directory's name.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the clean client path `vpath` beneath the root with `flags`,
    /// and says what it is. Links are followed only while they stay
    /// beneath the root (see the module's comment).
    fn open(&self, vpath: &str, flags: libc::c_int) -> Result<(File, Metadata), JailError> {
        let file = File::from(open_beneath(self.dir.as_raw_fd(), vpath, flags)?);
        let meta = file.metadata()?;
        if meta.file_type().is_symlink() {
            return Err(JailError::Link);
        }
        Ok((file, meta))
    }

    /// What `vpath` is (a plain file or a directory), for SIZE, MDTM,
    /// MLST, CWD. Nothing is read, so even a FIFO is looked at safely.
    pub fn metadata(&self, vpath: &str) -> Result<Metadata, JailError> {
        let (_, meta) = self.open(vpath, LOOK)?;
        plain(meta)
    }

    /// Opens the plain file `vpath` for reading (RETR, and the part of a
    /// file kept by APPE or REST + STOR). The open does not block, whatever
    /// the path names: a FIFO would otherwise wait for a writer, with the
    /// whole event loop inside `open`. Anything but a plain file is then
    /// refused, and the file is switched back to blocking reads.
    pub fn open_file(&self, vpath: &str) -> Result<(File, Metadata), JailError> {
        let (file, meta) = self.open(vpath, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY)?;
        if meta.is_dir() {
            return Err(JailError::Io(io::ErrorKind::IsADirectory.into()));
        }
        if !meta.is_file() {
            return Err(JailError::Special);
        }
        set_blocking(&file)?;
        Ok((file, meta))
    }

    /// Opens the directory `vpath` (LIST, and the parent of every name
    /// that is created, removed or renamed).
    pub fn open_dir(&self, vpath: &str) -> Result<Dir, JailError> {
        let (file, _) = self.open(vpath, libc::O_RDONLY | libc::O_DIRECTORY)?;
        Ok(Dir { fd: file.into() })
    }

    /// The directory that holds `vpath`, opened, and the last name in it:
    /// how STOR, MKD, DELE, RMD and renames reach the entry they change.
    /// `None` for the root, which has no parent here.
    pub fn parent<'a>(&self, vpath: &'a str) -> Result<Option<(Dir, &'a str)>, JailError> {
        let Some((parent, name)) = vpath.rsplit_once('/').filter(|(_, name)| !name.is_empty())
        else {
            return Ok(None);
        };
        let dir = self.open_dir(if parent.is_empty() { "/" } else { parent })?;
        Ok(Some((dir, name)))
    }
    // ANCHOR_END: jail

    // ANCHOR: sweep
    /// Deletes part files that no upload can still be writing: those not
    /// modified for `stale` (the idle timeout: a session whose upload stalls
    /// that long is closed, and its part file deleted). They are what a
    /// server that crashed or was killed leaves behind; no client can
    /// delete them, since the jail refuses their names. Returns how many
    /// went. Links are not followed; directories deeper than 64 levels are
    /// left alone.
    pub fn sweep_part_files(&self, stale: Duration) -> io::Result<usize> {
        let root = Dir {
            fd: open_beneath(
                self.dir.as_raw_fd(),
                "/",
                libc::O_RDONLY | libc::O_DIRECTORY,
            )?,
        };
        let cutoff = SystemTime::now()
            .checked_sub(stale)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(root.sweep(cutoff, 64))
    }
    // ANCHOR_END: sweep
}

/// Flags to open something only to look at it. On Linux, `O_PATH` opens
/// without reading or writing (no FIFO wait, no device reached).
#[cfg(target_os = "linux")]
const LOOK: libc::c_int = libc::O_PATH;
#[cfg(not(target_os = "linux"))]
const LOOK: libc::c_int = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;

/// Plain files and directories pass; anything else is refused.
fn plain(meta: Metadata) -> Result<Metadata, JailError> {
    if meta.is_file() || meta.is_dir() {
        Ok(meta)
    } else {
        Err(JailError::Special)
    }
}

/// Clears `O_NONBLOCK` (set only so that the open itself cannot block).
fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::ErrorKind::InvalidInput.into())
}

/// A negative result of a system call is -1 with the reason in errno.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// `openat(dir, name, flags)`, the new descriptor owned.
fn openat(dir: RawFd, name: &OsStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let name = c_name(name)?;
    loop {
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                dir,
                name.as_ptr(),
                flags | libc::O_CLOEXEC,
                libc::c_uint::from(mode),
            )
        };
        match check(fd) {
            // SAFETY: openat succeeded: a fresh descriptor nobody else owns.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

// ANCHOR: open_beneath
/// Opens the clean client path `vpath` (`/docs/a.txt`) relative to the
/// root's descriptor `root`, with the kernel refusing any way out during
/// the walk itself.
#[cfg(target_os = "linux")]
fn open_beneath(root: RawFd, vpath: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Set once the kernel has said it has no openat2 (before Linux 5.6).
    static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let relative = c_name(OsStr::new(relative(vpath)))?;
        // SAFETY: open_how is three integers; all zero is a valid value.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        // BENEATH: never above `root`, whatever the links say. NO_MAGICLINKS:
        // not through /proc's links to other processes' files either.
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        // EAGAIN: the kernel saw a rename race during the walk; try again.
        for _ in 0..16 {
            // SAFETY: a valid directory descriptor, a NUL-terminated path
            // and an open_how of the size passed, all alive for the call.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    root,
                    relative.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh descriptor nobody else owns.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR | libc::EAGAIN) => continue,
                Some(libc::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                _ => return Err(error),
            }
        }
    }
    walk_beneath(root, vpath, flags)
}

#[cfg(not(target_os = "linux"))]
fn open_beneath(root: RawFd, vpath: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    walk_beneath(root, vpath, flags)
}

/// Without openat2: one `openat` per component, each from the descriptor
/// of the one before, each with `O_NOFOLLOW` (a link fails with `ELOOP`).
/// The names hold no `..` (see [`join`]), so the walk can only go down.
fn walk_beneath(root: RawFd, vpath: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    const SEARCH: libc::c_int = libc::O_PATH | libc::O_DIRECTORY;
    #[cfg(not(target_os = "linux"))]
    const SEARCH: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY;

    let parts: Vec<&str> = vpath.split('/').filter(|part| !part.is_empty()).collect();
    let Some((last, inner)) = parts.split_last() else {
        return openat(root, OsStr::new("."), flags, 0);
    };
    let mut here: Option<OwnedFd> = None;
    for part in inner {
        let from = here.as_ref().map_or(root, AsRawFd::as_raw_fd);
        match openat(from, OsStr::new(part), SEARCH | libc::O_NOFOLLOW, 0) {
            Ok(fd) => here = Some(fd),
            // A link where a directory should be fails as "not a
            // directory" on some systems: say what it really is.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                let dir = Dir {
                    fd: openat(from, OsStr::new("."), SEARCH, 0)?,
                };
                return Err(match dir.kind(part) {
                    Ok(Some(Kind::Link)) => io::Error::from_raw_os_error(libc::ELOOP),
                    _ => e,
                });
            }
            Err(e) => return Err(e),
        }
    }
    let from = here.as_ref().map_or(root, AsRawFd::as_raw_fd);
    openat(from, OsStr::new(last), flags | libc::O_NOFOLLOW, 0)
}
// ANCHOR_END: open_beneath

/// `/docs/a.txt` as a path relative to the root: `docs/a.txt` (`.` for `/`).
#[cfg(target_os = "linux")]
fn relative(vpath: &str) -> &str {
    match vpath.trim_start_matches('/') {
        "" => ".",
        relative => relative,
    }
}

/// What a name in a directory is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symbolic link.
    Link,
    /// A FIFO, a socket, a device.
    Other,
}

// ANCHOR: dir
/// A directory beneath the root, held open: names are looked up, created,
/// removed and renamed relative to it, and never followed if they are links.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

impl Dir {
    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// What `name` is here, without following it; `None` if there is no
    /// such name.
    pub fn kind(&self, name: &str) -> io::Result<Option<Kind>> {
        let c_name = c_name(OsStr::new(name))?;
        // SAFETY: libc::stat is plain integers; fstatat fills it in.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid directory descriptor, a NUL-terminated name and a
        // stat buffer that outlives the call.
        let result = unsafe {
            libc::fstatat(
                self.raw(),
                c_name.as_ptr(),
                &mut stat,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        match check(result) {
            Ok(_) => Ok(Some(match stat.st_mode & libc::S_IFMT {
                libc::S_IFREG => Kind::File,
                libc::S_IFDIR => Kind::Dir,
                libc::S_IFLNK => Kind::Link,
                _ => Kind::Other,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The metadata of `name` here, for listings; a link is reported as a
    /// link, not followed.
    pub fn metadata(&self, name: &OsStr) -> io::Result<Metadata> {
        openat(self.raw(), name, LOOK | libc::O_NOFOLLOW, 0)
            .and_then(|fd| File::from(fd).metadata())
    }

    /// Every name in this directory (`.` and `..` left out), in no order.
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        // The descriptor's own entry in /proc (Linux) or /dev/fd: reading
        // it reads the very directory we hold open, whatever has been
        // renamed since.
        #[cfg(target_os = "linux")]
        let path = format!("/proc/self/fd/{}", self.raw());
        #[cfg(not(target_os = "linux"))]
        let path = format!("/dev/fd/{}", self.raw());
        std::fs::read_dir(path)?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect()
    }

    /// Opens `name` here for reading, if it is a plain file.
    pub fn open_file(&self, name: &str) -> Result<File, JailError> {
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW;
        let file = File::from(openat(self.raw(), OsStr::new(name), flags, 0)?);
        if !file.metadata()?.is_file() {
            return Err(JailError::Special);
        }
        set_blocking(&file)?;
        Ok(file)
    }

    /// Creates a new part file with an unpredictable name: `O_CREAT |
    /// O_EXCL` fails if anything, a planted link included, already has the
    /// name, and `O_NOFOLLOW` refuses links for good measure. Returns the
    /// file, open for writing, and its name.
    pub fn create_part(&self) -> io::Result<(File, String)> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let mut tries = 0;
        loop {
            let name = format!("{PART_PREFIX}{:032x}", random_u128()?);
            match openat(self.raw(), OsStr::new(&name), flags, 0o644) {
                Ok(fd) => return Ok((File::from(fd), name)),
                // 128 random bits collide only if someone guessed them.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 3 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// `renameat`: `from` here becomes `to` in `into`, replacing a file of
    /// that name atomically. Neither name is followed if it is a link.
    pub fn rename(&self, from: &str, into: &Dir, to: &str) -> io::Result<()> {
        let (from, to) = (c_name(OsStr::new(from))?, c_name(OsStr::new(to))?);
        // SAFETY: valid directory descriptors and NUL-terminated names.
        check(unsafe { libc::renameat(self.raw(), from.as_ptr(), into.raw(), to.as_ptr()) })?;
        Ok(())
    }

    /// `unlinkat`: removes the name `name` (a link itself, never its target).
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        self.unlink(name, 0)
    }

    /// Removes the empty directory `name`.
    pub fn remove_dir(&self, name: &str) -> io::Result<()> {
        self.unlink(name, libc::AT_REMOVEDIR)
    }

    fn unlink(&self, name: &str, flags: libc::c_int) -> io::Result<()> {
        let name = c_name(OsStr::new(name))?;
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        check(unsafe { libc::unlinkat(self.raw(), name.as_ptr(), flags) })?;
        Ok(())
    }

    /// `mkdirat`: makes the directory `name` here.
    pub fn create_dir(&self, name: &str) -> io::Result<()> {
        let name = c_name(OsStr::new(name))?;
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        check(unsafe { libc::mkdirat(self.raw(), name.as_ptr(), 0o755) })?;
        Ok(())
    }

    /// Removes part files older than `cutoff` here and below, at most
    /// `depth` levels down; returns how many.
    fn sweep(&self, cutoff: SystemTime, depth: usize) -> usize {
        let mut swept = 0;
        for name in self.names().unwrap_or_default() {
            let Some(text) = name.to_str() else { continue };
            match self.kind(text) {
                Ok(Some(Kind::File)) if text.starts_with(PART_PREFIX) => {
                    let old = self
                        .metadata(&name)
                        .and_then(|meta| meta.modified())
                        .is_ok_and(|modified| modified < cutoff);
                    if old && self.remove_file(text).is_ok() {
                        swept += 1;
                    }
                }
                Ok(Some(Kind::Dir)) if depth > 0 => {
                    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
                    if let Ok(fd) = openat(self.raw(), &name, flags, 0) {
                        swept += Dir { fd }.sweep(cutoff, depth - 1);
                    }
                }
                _ => {}
            }
        }
        swept
    }
}
// ANCHOR_END: dir

/// 128 bits from the kernel's random source, for part file names nobody
/// can guess in advance.
fn random_u128() -> io::Result<u128> {
    let mut bytes = [0u8; 16];
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the buffer has room for the 16 bytes asked for.
        let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
        if got != bytes.len() as isize {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: the buffer has room for the 16 bytes asked for.
        if unsafe { libc::getentropy(bytes.as_mut_ptr().cast(), bytes.len()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(u128::from_ne_bytes(bytes))
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
        for name in ["a\rb", "a\0b", "a\x1b[2Jb", "a\x7fb", "a\u{9b}b"] {
            assert!(
                matches!(join("/", name), Err(JailError::BadName)),
                "{name:?}"
            );
        }
        let part = format!("{PART_PREFIX}1-2");
        assert!(matches!(join("/", &part), Err(JailError::Reserved)));
    }

    #[test]
    fn links_are_followed_only_while_they_stay_inside() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("inside"), "i").unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink("inside", root.path().join("ok")).unwrap();
        std::os::unix::fs::symlink("../inside", root.path().join("sub/up")).unwrap();
        std::os::unix::fs::symlink("../../x", root.path().join("sub/away")).unwrap();
        std::os::unix::fs::symlink("/nowhere/at/all", root.path().join("dangling")).unwrap();
        let jail = Jail::new(root.path()).unwrap();

        let outside = |result: Result<(), JailError>| matches!(result, Err(JailError::Outside));
        assert!(outside(jail.open_file("/out/secret").map(drop)));
        assert!(outside(jail.metadata("/out").map(drop)));
        assert!(outside(jail.parent("/out/new").map(drop)));
        assert!(outside(jail.open_file("/dangling").map(drop)));
        assert!(outside(jail.metadata("/sub/away").map(drop)));
        // Links that stay inside work like what they name (Linux 5.6+).
        assert!(jail.metadata("/ok").unwrap().is_file());
        assert!(jail.open_file("/sub/up").is_ok());
        assert!(jail.open_file("/inside").is_ok());
        assert!(jail.metadata("/").unwrap().is_dir());
        let (dir, name) = jail.parent("/sub/new").unwrap().unwrap();
        assert_eq!(name, "new");
        assert_eq!(dir.kind(name).unwrap(), None);
        assert!(jail.parent("/").unwrap().is_none());
    }

    /// The walk without openat2 (older kernels, other systems) refuses
    /// the same links.
    #[test]
    fn the_walk_by_components_refuses_links_too() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(root.path().join("sub/inside"), "i").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("sub/out")).unwrap();
        let jail = Jail::new(root.path()).unwrap();
        let fd = jail.dir.as_raw_fd();
        let read = libc::O_RDONLY;
        assert!(walk_beneath(fd, "/sub/inside", read).is_ok());
        let error = walk_beneath(fd, "/sub/out/secret", read).unwrap_err();
        assert!(matches!(JailError::from(error), JailError::Link));
        let error = walk_beneath(fd, "/sub/out", read).unwrap_err();
        assert!(matches!(JailError::from(error), JailError::Link));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let root = tempfile::tempdir().unwrap();
        let fifo = CString::new(root.path().join("pipe").as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let jail = Jail::new(root.path()).unwrap();
        assert!(matches!(jail.open_file("/pipe"), Err(JailError::Special)));
        assert!(matches!(jail.metadata("/pipe"), Err(JailError::Special)));
    }

    #[test]
    fn part_files_get_fresh_unguessable_names() {
        let root = tempfile::tempdir().unwrap();
        let jail = Jail::new(root.path()).unwrap();
        let dir = jail.open_dir("/").unwrap();
        let (_, first) = dir.create_part().unwrap();
        let (_, second) = dir.create_part().unwrap();
        assert_ne!(first, second);
        assert!(first.starts_with(PART_PREFIX) && first.len() == PART_PREFIX.len() + 32);
    }
}
