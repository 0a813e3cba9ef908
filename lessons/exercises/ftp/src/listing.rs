//! Given: the text LIST sends over the data connection.
//!
//! RFC 959 leaves the format of LIST open; every server sends what `ls -l`
//! prints, and clients (curl, lftp, file managers) parse that. One line per
//! entry, each ended by CRLF:
//!
//! ```text
//! -rw-r--r-- 1 ftp ftp         1024 Jan 31 23:59 notes.txt
//! drwxr-xr-x 1 ftp ftp         4096 Jan 31 23:59 docs
//! ```

use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use lesson_25_ftp::listing::long_line;

use crate::jail::Jail;
use crate::part_file::PART_PREFIX;

/// The listing of `real`, a path [`Jail::resolve`] returned: one line per
/// entry of a directory (names sorted), or one line for a file.
///
/// Left out: uploads in progress (their part files), names that could not
/// be sent on one line, and symbolic links that lead outside the root
/// (what lies there is none of the client's business).
pub fn render(real: &Path, jail: &Jail) -> io::Result<Vec<u8>> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    if !real.is_dir() {
        let name = real.file_name().map(|n| n.to_string_lossy().into_owned());
        let line = long_line(&name.unwrap_or_default(), &fs::metadata(real)?, now);
        out.extend_from_slice(format!("{line}\r\n").as_bytes());
        return Ok(out);
    }
    let mut names: Vec<_> = fs::read_dir(real)?
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name()))
        .collect();
    names.sort();
    for name in names {
        let Some(name) = name.to_str().filter(|n| !n.contains(['\r', '\n'])) else {
            continue;
        };
        if name.starts_with(PART_PREFIX) {
            continue;
        }
        let path = real.join(name);
        // Links are shown as what they lead to, if that is inside the root.
        let inside = path
            .canonicalize()
            .is_ok_and(|target| target.starts_with(jail.root()));
        let Ok(meta) = fs::metadata(&path) else {
            continue; // deleted meanwhile, or a link that leads nowhere
        };
        if inside {
            out.extend_from_slice(format!("{}\r\n", long_line(name, &meta, now)).as_bytes());
        }
    }
    Ok(out)
}
