//! What travels over a data connection: a file down, a file up, a listing.
//!
//! Every transfer moves at most [`TURN`] bytes each time the loop gives it a
//! turn, in chunks of [`CHUNK`], then lets the loop serve
//! everyone else. That is what keeps one fast client from starving the
//! others on a single thread, and what keeps memory flat: nothing is ever
//! held in memory but the current chunk.
//!
//! - [`Download`] (RETR) uses `sendfile(2)` on Linux: the kernel copies the
//!   file's pages straight into the socket, and the server never touches the
//!   bytes. The offset in the file is all the state there is.
//! - [`Upload`] (STOR, APPE) writes into a hidden part file next to the
//!   target and renames it over the target only when the client has sent
//!   everything. Readers see the old file or the new one, never half of it;
//!   an upload that is aborted or dropped is deleted ([`Upload`]'s `Drop`).
//!   The part file is created fresh (`O_EXCL`) under a random name, in the
//!   target's directory held open ([`Dir`]), so nobody can plant a link
//!   where it will be written.
//! - [`Listing`] (LIST, NLST, MLSD) renders a few lines at a time.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};

use mio::net::TcpStream;

use crate::CHUNK;
use crate::jail::{Dir, Jail};
use crate::listing::{self, Format};

/// The most a transfer moves in one turn before the loop serves others.
pub const TURN: u64 = 4 * CHUNK as u64;

/// Uploads in progress are written to files whose names start with this.
/// Listings hide them and the jail refuses to name them.
pub const PART_PREFIX: &str = ".ftp-upload-";

/// Where a transfer stands after its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The socket would block: wait for the loop to report it ready again.
    Blocked,
    /// The turn's budget is spent but the socket is still ready: the loop
    /// must come back without waiting for an event (edge-triggered
    /// readiness will not report it again).
    Again,
    /// Everything is sent, or the client has sent everything (end of file).
    Done,
}

/// Why a transfer stopped early: the network or the disk. The client is
/// told differently (426 for the connection, 451 for a local error).
#[derive(Debug)]
pub enum TransferError {
    Network(io::Error),
    Disk(io::Error),
}

/// One transfer, in whichever direction.
#[derive(Debug)]
pub enum Job {
    Download(Download),
    Upload(Upload),
    Listing(Listing),
}

impl Job {
    /// Moves the next chunks. Called whenever the data socket is ready.
    pub fn run(
        &mut self,
        stream: &mut TcpStream,
        scratch: &mut [u8],
    ) -> Result<Progress, TransferError> {
        match self {
            Job::Download(download) => download.send(stream, scratch),
            Job::Upload(upload) => upload.receive(stream, scratch),
            Job::Listing(listing) => listing.send(stream),
        }
    }

    /// Bytes moved so far over the data connection.
    pub fn bytes(&self) -> u64 {
        match self {
            Job::Download(download) => download.sent,
            Job::Upload(upload) => upload.received,
            Job::Listing(listing) => listing.sent,
        }
    }
}

// ANCHOR: download
/// A file on its way to the client.
#[derive(Debug)]
pub struct Download {
    file: File,
    /// Where the next byte comes from (starts at the REST offset).
    offset: u64,
    /// The file's size when the transfer began: a file that grows meanwhile
    /// is sent as it was, one that shrinks ends early.
    end: u64,
    /// Bytes sent so far, for the log.
    sent: u64,
}

impl Download {
    /// Sends `file` (opened by the jail, `meta` its metadata) from
    /// `offset` on.
    pub fn new(file: File, meta: &Metadata, offset: u64) -> Download {
        let end = meta.len();
        Download {
            file,
            offset: offset.min(end),
            end,
            sent: 0,
        }
    }

    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.end
    }

    fn send(
        &mut self,
        stream: &mut TcpStream,
        scratch: &mut [u8],
    ) -> Result<Progress, TransferError> {
        let mut budget = TURN;
        while self.offset < self.end {
            if budget == 0 {
                return Ok(Progress::Again);
            }
            let want = (self.end - self.offset).min(CHUNK as u64) as usize;
            match send_chunk(stream, &self.file, self.offset, want, scratch) {
                // The file got shorter under us: what there was is sent.
                Ok(0) => break,
                Ok(n) => {
                    self.offset += n as u64;
                    self.sent += n as u64;
                    budget = budget.saturating_sub(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TransferError::Network(e)),
            }
        }
        Ok(Progress::Done)
    }
}

/// Sends up to `len` bytes of `file` from `offset` with one `sendfile(2)`:
/// the kernel moves the bytes from the page cache to the socket, no copy
/// through this process. On a full socket it fails with `WouldBlock`.
#[cfg(target_os = "linux")]
fn send_chunk(
    stream: &TcpStream,
    file: &File,
    offset: u64,
    len: usize,
    _scratch: &mut [u8],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    // SAFETY: both descriptors are open for as long as the borrows live,
    // and `off` is a valid, writable off_t the call updates.
    let sent = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut off, len) };
    // A negative result is -1 with the reason in errno.
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}
// ANCHOR_END: download

// ANCHOR: pace_sending
/// How many bytes a data connection may hold that TCP has not sent yet.
pub const UNSENT_LIMIT: libc::c_int = 16 * 1024;

/// Keeps a data connection's queue of not-yet-sent bytes short
/// (`TCP_NOTSENT_LOWAT`): the socket reports itself writable, and takes
/// more bytes, only while fewer than [`UNSENT_LIMIT`] are waiting to go out.
///
/// Without it, `sendfile` fills the socket's whole buffer (megabytes), and
/// most of those bytes go out later, each time the client's
/// acknowledgement opens the window. On loopback that later sending is done
/// by whichever process delivered the acknowledgement: the *client*, in its
/// `recv`. So a server that races ahead makes the client, which is already
/// the slower side, do the sending work too. With a short queue the bytes
/// go out in the server's own `sendfile` calls, and the client only copies
/// them. On this course's 2-core machine that made curl's downloads faster
/// in every pair of runs measured (see the chapter's numbers); over a real
/// network it also keeps latency low, which is
/// why HTTP/2 servers use it. An optimisation only: if the system refuses,
/// nothing else changes.
pub fn pace_sending(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let paced = crate::sys::set_int_option(
            stream,
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            UNSENT_LIMIT,
        );
        if let Err(error) = paced {
            tracing::debug!("TCP_NOTSENT_LOWAT: {error}");
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}
// ANCHOR_END: pace_sending

/// Elsewhere: read a chunk at `offset` into the shared buffer and write what
/// the socket takes. Bytes the socket did not take are simply read again
/// next time: the file is the buffer.
#[cfg(all(unix, not(target_os = "linux")))]
fn send_chunk(
    mut stream: &TcpStream,
    file: &File,
    offset: u64,
    len: usize,
    scratch: &mut [u8],
) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let read = file.read_at(&mut scratch[..len], offset)?;
    if read == 0 {
        return Ok(0);
    }
    stream.write(&scratch[..read])
}

// ANCHOR: upload
/// A file on its way from the client, not yet visible under its name.
#[derive(Debug)]
pub struct Upload {
    /// The part file being written.
    file: File,
    /// The target's directory, held open: the part file is created, renamed
    /// and deleted in it, by name relative to it.
    dir: Dir,
    /// The part file's name: hidden, next to the target, so the final
    /// rename stays on one file system and is atomic.
    part: String,
    /// The name it gets when complete.
    target: String,
    /// For APPE and a resumed STOR: bytes of the existing file to copy into
    /// the part file first, and how many are left to copy.
    keep: Option<(File, u64)>,
    /// Bytes received from the client so far.
    received: u64,
    /// Set by [`Upload::commit`]; an upload dropped without it is deleted.
    committed: bool,
    /// The pipe `splice(2)` moves the bytes through (Linux).
    #[cfg(target_os = "linux")]
    pipe: Pipe,
}

impl Upload {
    /// Starts an upload to the name `target` in `dir`. `keep` is the
    /// existing file and how many of its bytes come before the client's
    /// (APPE: all of them; REST n then STOR: the first n).
    pub fn create(dir: Dir, target: String, keep: Option<(File, u64)>) -> io::Result<Upload> {
        // The pipe first: if it cannot be made, no part file is left behind.
        #[cfg(target_os = "linux")]
        let pipe = Pipe::new()?;
        let (file, part) = dir.create_part()?;
        Ok(Upload {
            file,
            dir,
            part,
            target,
            keep,
            received: 0,
            committed: false,
            #[cfg(target_os = "linux")]
            pipe,
        })
    }

    // ANCHOR_END: upload

    // ANCHOR: receive
    /// Moves what has arrived, up to the turn's budget: first the bytes
    /// kept from the existing file, then the client's.
    fn receive(
        &mut self,
        stream: &mut TcpStream,
        scratch: &mut [u8],
    ) -> Result<Progress, TransferError> {
        let mut budget = TURN;
        // First the bytes kept from the existing file, a chunk at a time,
        // before a single byte is read from the client (TCP holds them).
        if let Some((source, left)) = &mut self.keep {
            while *left > 0 {
                if budget == 0 {
                    return Ok(Progress::Again);
                }
                let want = (*left).min(scratch.len() as u64) as usize;
                let read = source
                    .read(&mut scratch[..want])
                    .map_err(TransferError::Disk)?;
                if read == 0 {
                    break; // it shrank meanwhile: keep what there was
                }
                self.file
                    .write_all(&scratch[..read])
                    .map_err(TransferError::Disk)?;
                *left -= read as u64;
                budget = budget.saturating_sub(read as u64);
            }
            self.keep = None;
        }
        loop {
            if budget == 0 {
                return Ok(Progress::Again);
            }
            match self.receive_chunk(stream, scratch) {
                // End of file: in stream mode, the client closing the data
                // connection is how it says "that was all".
                Ok(0) => return Ok(Progress::Done),
                Ok(n) => {
                    self.received += n as u64;
                    budget = budget.saturating_sub(n as u64);
                }
                Err(TransferError::Network(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Progress::Blocked);
                }
                Err(TransferError::Network(e)) if e.kind() == io::ErrorKind::Interrupted => {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves the next chunk from the socket into the part file with
    /// `splice(2)`: socket to pipe, pipe to file. The pipe holds references
    /// to the kernel's pages, so the bytes never enter this process; it is
    /// the upload's counterpart of `sendfile`. Returns 0 at end of file.
    #[cfg(target_os = "linux")]
    fn receive_chunk(
        &mut self,
        stream: &TcpStream,
        _scratch: &mut [u8],
    ) -> Result<usize, TransferError> {
        use std::os::fd::AsRawFd;
        let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
        let pipe = &self.pipe;
        // SAFETY: valid descriptors; null offsets mean "the current position".
        let moved = unsafe {
            libc::splice(
                stream.as_raw_fd(),
                std::ptr::null_mut(),
                pipe.write.as_raw_fd(),
                std::ptr::null_mut(),
                CHUNK,
                flags,
            )
        };
        let moved = usize::try_from(moved)
            .map_err(|_| TransferError::Network(io::Error::last_os_error()))?;
        // Empty the pipe into the file before anything else: the pipe then
        // never holds more than one chunk.
        let mut left = moved;
        while left > 0 {
            // SAFETY: as above; the file is open for writing.
            let written = unsafe {
                libc::splice(
                    pipe.read.as_raw_fd(),
                    std::ptr::null_mut(),
                    self.file.as_raw_fd(),
                    std::ptr::null_mut(),
                    left,
                    libc::SPLICE_F_MOVE,
                )
            };
            match usize::try_from(written) {
                Ok(0) => return Err(TransferError::Disk(io::ErrorKind::WriteZero.into())),
                Ok(n) => left -= n,
                Err(_) => {
                    let error = io::Error::last_os_error();
                    if error.kind() != io::ErrorKind::Interrupted {
                        return Err(TransferError::Disk(error));
                    }
                }
            }
        }
        Ok(moved)
    }
    // ANCHOR_END: receive

    /// Elsewhere: read a chunk into the shared buffer, write it to the file.
    #[cfg(not(target_os = "linux"))]
    fn receive_chunk(
        &mut self,
        mut stream: &TcpStream,
        scratch: &mut [u8],
    ) -> Result<usize, TransferError> {
        let n = stream.read(scratch).map_err(TransferError::Network)?;
        self.file
            .write_all(&scratch[..n])
            .map_err(TransferError::Disk)?;
        Ok(n)
    }

    // ANCHOR: commit
    /// Gives the complete file its name: one `rename(2)`, which replaces
    /// any old file atomically.
    pub fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        self.dir.rename(&self.part, &self.dir, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Upload {
    /// Whatever ended the upload (ABOR, a dropped connection, an error, the
    /// session closing), if it was not committed its part file goes.
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.dir.remove_file(&self.part);
        }
    }
}
// ANCHOR_END: commit

/// A pipe for `splice(2)`: two descriptors, closed when it drops.
#[cfg(target_os = "linux")]
#[derive(Debug)]
struct Pipe {
    read: std::os::fd::OwnedFd,
    write: std::os::fd::OwnedFd,
}

#[cfg(target_os = "linux")]
impl Pipe {
    fn new() -> io::Result<Pipe> {
        use std::os::fd::{FromRawFd, OwnedFd};
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are open descriptors we now own.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // Room for a whole chunk (the default is 64 KiB); if the system
        // refuses, smaller splices work too.
        // SAFETY: a valid pipe descriptor and an int argument.
        unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, CHUNK as libc::c_int) };
        Ok(Pipe { read, write })
    }
}

/// A listing on its way to the client, rendered a few lines at a time.
#[derive(Debug)]
pub struct Listing {
    /// The directory listed; `None` for the listing of one file.
    dir: Option<Listed>,
    /// Names still to list, in order.
    names: std::vec::IntoIter<OsString>,
    format: Format,
    /// Whether this login may write (the MLSD `perm` fact says so).
    writable: bool,
    /// Rendered lines not yet sent, and how much of them is sent.
    pending: Vec<u8>,
    pending_sent: usize,
    /// Bytes sent so far, for the log.
    sent: u64,
}

/// A directory being listed.
#[derive(Debug)]
struct Listed {
    /// Held open: its entries are looked up in it.
    dir: Dir,
    /// Its path in the client's tree, and the jail, to look where a link
    /// among its entries leads.
    vpath: String,
    jail: Jail,
}

impl Listing {
    /// A listing of the directory `vpath`, names sorted.
    pub fn directory(
        jail: &Jail,
        vpath: &str,
        format: Format,
        writable: bool,
    ) -> io::Result<Listing> {
        let dir = jail
            .open_dir(vpath)
            .map_err(|error| io::Error::other(error.to_string()))?;
        let mut names = dir.names()?;
        names.sort();
        Ok(Listing {
            dir: Some(Listed {
                dir,
                vpath: vpath.trim_end_matches('/').to_string(),
                jail: jail.clone(),
            }),
            names: names.into_iter(),
            format,
            writable,
            pending: Vec::new(),
            pending_sent: 0,
            sent: 0,
        })
    }

    /// A listing of one file (`LIST notes.txt`), shown under `name`.
    pub fn file(meta: &Metadata, name: &str, format: Format, writable: bool) -> Listing {
        let line = listing::line(format, name, meta, writable);
        Listing {
            dir: None,
            names: Vec::new().into_iter(),
            format,
            writable,
            pending: line.into_bytes(),
            pending_sent: 0,
            sent: 0,
        }
    }

    /// Renders the next lines into `pending`, about 16 KiB at a time.
    fn render_more(&mut self) {
        self.pending.clear();
        self.pending_sent = 0;
        while self.pending.len() < 16 * 1024 {
            let Some(name) = self.names.next() else { break };
            let Some(dir) = &self.dir else { break };
            // A name that is not UTF-8, or holds a control character, could
            // not be sent on one listing line nor asked for again (the jail
            // refuses such names): leave it out.
            let Some(name) = name.to_str().filter(|n| !n.contains(char::is_control)) else {
                continue;
            };
            if name.starts_with(PART_PREFIX) {
                continue;
            }
            let Ok(meta) = dir.dir.metadata(name.as_ref()) else {
                continue; // deleted since the directory was read
            };
            // A link is shown as what it leads to, if the jail lets a
            // client reach it; FIFOs, devices and links out are left out.
            let meta = if meta.file_type().is_symlink() {
                match dir.jail.metadata(&format!("{}/{name}", dir.vpath)) {
                    Ok(target) => target,
                    Err(_) => continue,
                }
            } else {
                meta
            };
            if !meta.is_file() && !meta.is_dir() {
                continue;
            }
            let line = listing::line(self.format, name, &meta, self.writable);
            self.pending.extend_from_slice(line.as_bytes());
        }
    }

    fn send(&mut self, stream: &mut TcpStream) -> Result<Progress, TransferError> {
        let mut budget = TURN;
        loop {
            if budget == 0 {
                return Ok(Progress::Again);
            }
            if self.pending_sent == self.pending.len() {
                self.render_more();
                if self.pending.is_empty() {
                    return Ok(Progress::Done);
                }
            }
            match stream.write(&self.pending[self.pending_sent..]) {
                Ok(0) => {
                    let closed = io::Error::new(io::ErrorKind::WriteZero, "data connection closed");
                    return Err(TransferError::Network(closed));
                }
                Ok(n) => {
                    self.pending_sent += n;
                    self.sent += n as u64;
                    budget = budget.saturating_sub(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TransferError::Network(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option `pace_sending` sets is really on the socket afterwards.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn data_connections_keep_few_unsent_bytes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let stream = TcpStream::from_std(accepted);
        pace_sending(&stream);
        let value =
            crate::sys::int_option(&stream, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT).unwrap();
        assert_eq!(value, UNSENT_LIMIT);
        drop(client);
    }
}
