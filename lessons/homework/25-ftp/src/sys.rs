//! Socket options the standard library and mio do not offer, in one place:
//! the only `unsafe` socket-option code of the server.
//!
//! Control connections keep urgent data inline (`SO_OOBINLINE`, see
//! `session`), and data connections keep few bytes unsent in the kernel
//! (`TCP_NOTSENT_LOWAT`, see [`crate::transfer::pace_sending`]). Both are
//! an `int` set with `setsockopt(2)`.

use std::io;
use std::os::fd::AsRawFd;

/// Sets a socket option whose value is an `int` (`setsockopt(2)`): the
/// server keeps urgent data inline on control connections and paces its
/// data connections ([`crate::transfer::pace_sending`]).
pub fn set_int_option(
    stream: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a valid socket descriptor, and a c_int option of the right
    // size that outlives the call.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads back an `int` socket option (`getsockopt(2)`): what the kernel
/// really applied, for the tests.
#[cfg(test)]
pub fn int_option(
    stream: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid socket descriptor, and a c_int with its size for the
    // kernel to write into; both outlive the call.
    let result = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if result == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}
