//! YOURS TO WRITE: an upload that appears under its name only when complete.
//!
//! If STOR wrote straight into `report.pdf`, anyone listing the directory
//! during the upload would see half a file, and a client that dies half way
//! would leave half a file behind for good. So the bytes go to a hidden
//! *part file* next to the target, and only when the client has sent
//! everything does the part file get the target's name, with one
//! `rename(2)`. A rename within one directory is atomic: readers see the
//! old file or the new one, never a mix. An upload that does not finish
//! (the client vanished, aborted, or the disk is full) is dropped, and its
//! part file is deleted as it drops.
//!
//! The session (given) creates nothing itself: `commands::stor` makes a
//! [`PartFile`], the session writes the client's bytes with
//! [`PartFile::write`], and then either calls [`PartFile::commit`] or
//! drops the part file.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

// ANCHOR: given
/// Part files' names start with this. Listings leave them out (see
/// `listing.rs`), so nobody sees an upload in progress.
pub const PART_PREFIX: &str = ".part-";

/// A file on its way from a client, not yet visible under its name.
#[derive(Debug)]
pub struct PartFile {
    /// The part file, open for writing.
    file: File,
    /// Its name: hidden, in the *same directory* as the target, so that the
    /// final rename never crosses file systems (which would not be atomic).
    part: PathBuf,
    /// The name it gets when complete.
    target: PathBuf,
    /// Set by [`PartFile::commit`]; a part file dropped without it is
    /// deleted.
    committed: bool,
}

impl PartFile {
    /// Appends bytes the client sent (the session calls this).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }
}
// ANCHOR_END: given

// ANCHOR: todo
impl PartFile {
    /// Starts an upload to `target`: creates (or truncates) the part file
    /// `PART_PREFIX` + a name unique to this upload, in the target's
    /// directory. `owner` (the session's id) makes the name unique among
    /// the sessions of this server; adding `std::process::id()` makes it
    /// unique among servers sharing a root.
    pub fn create(target: PathBuf, owner: u64) -> io::Result<PartFile> {
        let _ = (target, owner, PART_PREFIX);
        todo!("PartFile::create: open a hidden part file next to the target")
    }

    /// The client sent everything: give the part file the target's name
    /// (replacing any old file) and mark it committed, so that dropping it
    /// afterwards deletes nothing.
    pub fn commit(mut self) -> io::Result<()> {
        let _ = (&mut self.file, &self.part, &self.target);
        todo!("PartFile::commit: flush, rename the part file over the target, mark it committed")
    }
}

impl Drop for PartFile {
    /// Whatever ended the upload, if it was not committed its part file is
    /// deleted. (A `Drop` cannot return an error: ignore a failed removal.)
    fn drop(&mut self) {
        let _ = (&self.part, self.committed);
        todo!("PartFile's Drop: delete the part file unless the upload was committed")
    }
}
// ANCHOR_END: todo
