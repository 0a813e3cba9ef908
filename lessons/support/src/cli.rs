//! Command-line arguments many programs share, checked when they are parsed,
//! and the few things every command-line program owes its user.
//!
//! A value that cannot work should be refused before anything starts, with
//! the reason, instead of failing later (or panicking deep inside a
//! library). Each parser here is a clap `value_parser`:
//!
//! ```text
//! #[arg(long, default_value = "127.0.0.1:8001", value_parser = support::cli::listen_addr)]
//! listen: SocketAddr,
//! #[arg(long, default_value_t = 1, value_parser = support::cli::workers)]
//! workers: usize,
//! ```
//!
//! - [`listen_addr`]: `IP:PORT`, or `localhost:PORT`, the same in every server.
//! - [`workers`]: how many `may` worker threads, within what the open-file
//!   limit allows (each worker holds descriptors of its own).
//! - [`at_least_one`] and [`positive_millis`]: counts and times where zero
//!   means nothing useful.
//! - [`listen_error`]: why a server could not listen, and what to do next.
//! - [`quiet_on_broken_pipe`]: `program | head -2` ends quietly, as `ls |
//!   head -2` does, instead of panicking when `head` stops reading.
//! - [`show_events`]: a server's `--verbose`: its `tracing` events as plain
//!   lines.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

// ANCHOR: listen_addr
/// Parses the address a server listens on: `IP:PORT` (`127.0.0.1:8001`,
/// `[::1]:8001`) or `localhost:PORT`, which means `127.0.0.1:PORT`.
///
/// Other host names are refused rather than looked up: a server listens on
/// one of this machine's addresses, and a name that resolves to several (or
/// to another machine) would make the address it really listens on a
/// surprise.
pub fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let usage = "write IP:PORT, e.g. 127.0.0.1:8001 (or localhost:8001; port 0 picks a free port)";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("`{text}` has no port: {usage}"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port (0 to 65535): {usage}"))?;
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    Err(format!("`{host}` is not an IP address: {usage}"))
}
// ANCHOR_END: listen_addr

/// Descriptors a `may` worker thread holds: an epoll instance and the
/// eventfd that wakes it.
pub const FDS_PER_MAY_WORKER: u64 = 2;

/// Descriptors kept free for everything else (stdio, sockets, files).
const SPARE_FDS: u64 = 64;

/// More worker threads than this only add switching on any machine the
/// course runs on.
pub const MAX_WORKERS: usize = 1024;

// ANCHOR: workers
/// Parses a number of `may` worker threads: at least 1, at most
/// [`MAX_WORKERS`], and no more than the open-file limit leaves room for
/// (each worker holds [`FDS_PER_MAY_WORKER`] descriptors, and `may` panics
/// when it cannot open them).
pub fn workers(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of worker threads"))?;
    if n == 0 {
        return Err("there must be at least 1 worker thread to run coroutines".into());
    }
    if n > MAX_WORKERS {
        return Err(format!(
            "{n} worker threads is more than the course allows ({MAX_WORKERS}); more \
             threads than cores ({}) only add switching",
            std::thread::available_parallelism().map_or(1, usize::from)
        ));
    }
    if let Ok(limits) = crate::fdlimit::current() {
        let needed = n as u64 * FDS_PER_MAY_WORKER + SPARE_FDS;
        if needed > limits.soft {
            return Err(format!(
                "{n} worker threads need about {needed} open files ({FDS_PER_MAY_WORKER} each, \
                 plus {SPARE_FDS} spare), but the open-file limit is {} (`ulimit -n`): \
                 ask for at most {}",
                limits.soft,
                limits.soft.saturating_sub(SPARE_FDS) / FDS_PER_MAY_WORKER
            ));
        }
    }
    Ok(n)
}
// ANCHOR_END: workers

/// Parses a count that must be at least 1 (tasks, connections, messages,
/// the size of a pool): `value_parser = support::cli::at_least_one::<usize>`.
pub fn at_least_one<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + Default + PartialEq,
{
    match text.parse::<T>() {
        Ok(n) if n == T::default() => Err("0 would do nothing: give at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number in range")),
    }
}

/// Parses a time in milliseconds that must be above zero (a timeout of 0
/// would fail everything at once).
pub fn positive_millis(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("0 ms leaves no time at all: give at least 1".into()),
        Ok(ms) => Ok(ms),
        Err(_) => Err(format!("`{text}` is not a whole number of milliseconds")),
    }
}

// ANCHOR: listen_error
/// Says why a server could not listen on `addr`, and what to do about it.
pub fn listen_error(addr: SocketAddr, error: &io::Error) -> String {
    let next = match error.kind() {
        io::ErrorKind::AddrInUse => format!(
            "another program already listens on port {port}. Stop it (`ss -ltnp 'sport = :{port}'` \
             shows which one), or choose another port: --listen {ip}:OTHER_PORT \
             (--listen {ip}:0 picks a free one)",
            port = addr.port(),
            ip = display_ip(addr),
        ),
        io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 are reserved for root (or CAP_NET_BIND_SERVICE); \
             choose one at or above 1024, e.g. --listen {}:8{:03}",
            display_ip(addr),
            addr.port() % 1000
        ),
        io::ErrorKind::AddrNotAvailable => {
            "that IP address is not one of this machine's: use 127.0.0.1 (this machine only)"
                .to_string()
        }
        _ => String::new(),
    };
    if next.is_empty() {
        format!("cannot listen on {addr}: {error}")
    } else {
        format!("cannot listen on {addr}: {error}\n  {next}")
    }
}
// ANCHOR_END: listen_error

fn display_ip(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    }
}

// ANCHOR: broken_pipe
/// Makes a write to a closed standard output end the program quietly.
///
/// Rust programs ignore SIGPIPE, so when the reader of a pipe goes away
/// (`program | head -2` after two lines) `println!` fails with "Broken
/// pipe" and panics. Command-line tools written in C die of SIGPIPE there,
/// silently, and so do we: this hook recognises that one panic, and
/// re-raises SIGPIPE with its default action. The signal is not simply
/// restored at start, because then a write to a socket whose peer has gone
/// would kill the program too, instead of returning an error it can handle.
pub fn quiet_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    // std's message ends with the OS error: "Broken pipe (os error 32)".
    let epipe = format!("(os error {})", libc::EPIPE);
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains(&epipe) {
            die_of_sigpipe();
        }
        default_hook(info);
    }));
}
// ANCHOR_END: broken_pipe

#[cfg(unix)]
fn die_of_sigpipe() -> ! {
    // SAFETY: plain system calls: restore the default action, then raise.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Not reached: the default action of SIGPIPE ends the process.
    std::process::exit(141)
}

#[cfg(not(unix))]
fn die_of_sigpipe() -> ! {
    std::process::exit(1)
}

/// A number as people read it, rounded to a whole one: 1234567.4 as
/// "1,234,567". Counts and rates in the lessons run into the millions.
pub fn thousands(n: f64) -> String {
    let digits = format!("{n:.0}");
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits.as_str()),
    };
    let mut out = sign.to_string();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

// ANCHOR: show_events
/// What a server's `--verbose` switches on: its `tracing` events, one plain
/// line each (`127.0.0.1:53694 connected`, no time, level or module in
/// front), on stdout. Without it, only trouble (`warn!` and worse, such as
/// an accept that failed) is shown, on stderr.
///
/// The servers of lessons 05 and 09 tell what happens to each connection
/// with `tracing::info!`, so their loops read straight through: no
/// `if verbose` at every step, and next to no cost when nobody looks.
#[cfg(feature = "events")]
pub fn show_events(verbose: bool) {
    let plain = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false);
    if verbose {
        plain.with_writer(io::stdout).init();
    } else {
        plain
            .with_max_level(tracing::Level::WARN)
            .with_writer(io::stderr)
            .init();
    }
}
// ANCHOR_END: show_events

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_take_ips_and_localhost_only() {
        assert_eq!(
            listen_addr("127.0.0.1:8001"),
            Ok("127.0.0.1:8001".parse().unwrap())
        );
        assert_eq!(listen_addr("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert_eq!(
            listen_addr("localhost:9"),
            Ok("127.0.0.1:9".parse().unwrap())
        );
        assert!(listen_addr("localhost").unwrap_err().contains("no port"));
        assert!(
            listen_addr("localhost:99999")
                .unwrap_err()
                .contains("not a port")
        );
        assert!(
            listen_addr("example.com:80")
                .unwrap_err()
                .contains("not an IP address")
        );
    }

    #[test]
    fn zero_is_refused_with_a_reason() {
        assert!(workers("0").unwrap_err().contains("at least 1"));
        assert!(
            at_least_one::<usize>("0")
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(at_least_one::<u32>("-1").is_err());
        assert_eq!(at_least_one::<u32>("8"), Ok(8));
        assert!(positive_millis("0").unwrap_err().contains("at least 1"));
        assert_eq!(workers("2"), Ok(2));
    }

    #[test]
    fn thousands_groups_digits_in_threes() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(-12_345.0), "-12,345");
    }
}
