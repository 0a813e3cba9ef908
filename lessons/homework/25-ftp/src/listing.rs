//! How directory entries are written in listings.
//!
//! FTP has three listings, all sent over a data connection:
//!
//! - `LIST`: for people. RFC 959 leaves the format open; everybody sends what
//!   `ls -l` prints, and clients (curl, lftp, file managers) parse that.
//! - `NLST`: names only, one per line, for scripts.
//! - `MLSD` (RFC 3659): for programs. Each line is `fact=value;...` and a
//!   name, with sizes and times in a fixed format, so no guessing:
//!   `type=file;size=1024;modify=20240131235959;perm=r; notes.txt`.
//!
//! `MDTM` and the `modify` fact give times in UTC as `YYYYMMDDHHMMSS`.

use std::fs::Metadata;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which listing a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `LIST`: `ls -l` lines.
    Long,
    /// `NLST`: bare names.
    Names,
    /// `MLSD`: machine-readable facts.
    Facts,
}

/// One line (CRLF included) for `name` in the given format. `writable`
/// tells the `perm` fact whether this login may change the entry.
pub fn line(format: Format, name: &str, meta: &Metadata, writable: bool) -> String {
    match format {
        Format::Long => format!("{}\r\n", long_line(name, meta, SystemTime::now())),
        Format::Names => format!("{name}\r\n"),
        Format::Facts => format!("{} {name}\r\n", facts(meta, writable)),
    }
}

// ANCHOR: facts
/// The RFC 3659 facts of an entry: `type=file;size=3;modify=...;perm=r;`.
pub fn facts(meta: &Metadata, writable: bool) -> String {
    let modify = meta.modified().map(timestamp).unwrap_or_default();
    if meta.is_dir() {
        // e: may CWD into it, l: may list it; c, m, p: may create files,
        // make directories, remove entries in it.
        let perm = if writable { "elcmp" } else { "el" };
        format!("type=dir;modify={modify};perm={perm};")
    } else {
        // r: may RETR; a, d, f, w: may APPE, DELE, rename, STOR over it.
        let perm = if writable { "radfw" } else { "r" };
        format!("type=file;size={};modify={modify};perm={perm};", meta.len())
    }
}
// ANCHOR_END: facts

/// An `ls -l` line: `-rw-r--r-- 1 ftp ftp 1024 Jan 31 23:59 notes.txt`.
/// The owner is always shown as `ftp`: a client has no use for the
/// server's user names, and should not learn them.
pub fn long_line(name: &str, meta: &Metadata, now: SystemTime) -> String {
    let kind = if meta.is_dir() { 'd' } else { '-' };
    let mode = mode_bits(meta);
    let mut rwx = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        rwx.push(if bits & 4 != 0 { 'r' } else { '-' });
        rwx.push(if bits & 2 != 0 { 'w' } else { '-' });
        rwx.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    format!(
        "{kind}{rwx} 1 ftp ftp {:>12} {} {name}",
        meta.len(),
        ls_time(modified, now)
    )
}

#[cfg(unix)]
fn mode_bits(meta: &Metadata) -> u32 {
    meta.permissions().mode()
}

#[cfg(not(unix))]
fn mode_bits(meta: &Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// `YYYYMMDDHHMMSS` in UTC, as MDTM and the `modify` fact want.
pub fn timestamp(time: SystemTime) -> String {
    let civil = Civil::from(time);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
    )
}

/// The date column of `ls -l`: `Jan 31 23:59` for the last six months,
/// `Jan 31  2019` for anything older (or in the future).
fn ls_time(time: SystemTime, now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let civil = Civil::from(time);
    let month = MONTHS[usize::from(civil.month - 1)];
    let half_year = Duration::from_secs(183 * 24 * 3600);
    let recent = now.duration_since(time).is_ok_and(|age| age < half_year);
    if recent {
        format!(
            "{month} {:>2} {:02}:{:02}",
            civil.day, civil.hour, civil.minute
        )
    } else {
        format!("{month} {:>2}  {:04}", civil.day, civil.year)
    }
}

/// A UTC date and time of day.
#[derive(Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl From<SystemTime> for Civil {
    /// Days since 1970 to a calendar date: Howard Hinnant's `civil_from_days`
    /// algorithm, which counts in 400-year eras starting on 1 March, so leap
    /// days fall at the end of each year. No date crate needed.
    fn from(time: SystemTime) -> Civil {
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs() as i64,
            Err(before) => -(before.duration().as_secs() as i64),
        };
        let (days, seconds_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Every cast below is of a value already reduced to its range.
        Civil {
            year,
            month: month as u8,
            day: day as u8,
            hour: (seconds_of_day / 3600) as u8,
            minute: (seconds_of_day / 60 % 60) as u8,
            second: (seconds_of_day % 60) as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(timestamp(at(0)), "19700101000000");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.
        assert_eq!(timestamp(at(951_827_696)), "20000229123456");
        assert_eq!(timestamp(at(1_709_251_199)), "20240229235959");
        assert_eq!(timestamp(at(4_102_444_800)), "21000101000000");
    }

    #[test]
    fn ls_shows_the_time_for_recent_files_and_the_year_for_old_ones() {
        let now = at(1_709_251_199);
        assert_eq!(ls_time(at(1_709_251_199 - 60), now), "Feb 29 23:58");
        assert_eq!(ls_time(at(951_827_696), now), "Feb 29  2000");
    }
}
