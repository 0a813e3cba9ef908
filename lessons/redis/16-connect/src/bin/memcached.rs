//! Memcached's text protocol, command by command, against a real server:
//! `just run lesson-16 memcached` (`just up` starts Memcached too).
//!
//! `--evict` fills the server until it evicts, to show it is a cache;
//! `--url memcache://HOST:PORT` (or `MEMCACHED_URL`) picks another server.

use std::process::ExitCode;

use clap::Parser;
use lesson_16_connect::memcached::{self, DEFAULT_URL, Error};

/// set, get, add, replace, append, prepend, cas (a lost race), incr, decr,
/// delete, expiry and flush_all, each printed as sent and answered.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The Memcached server.
    #[arg(long, env = "MEMCACHED_URL", default_value = DEFAULT_URL)]
    url: String,
    /// Instead of the tour: fill the server until it evicts an item.
    #[arg(long)]
    evict: bool,
}

fn main() -> ExitCode {
    // `... | head` ends us quietly, as it ends `ls`.
    support::cli::quiet_on_broken_pipe();
    let args = Args::parse();
    let result = if args.evict {
        memcached::evict(&args.url)
    } else {
        memcached::tour(&args.url)
    };
    support::exit(result.map_err(|error| match error {
        Error::Io(error) => anyhow::anyhow!(
            "no Memcached answered at {} ({error}).\n  {}",
            args.url,
            support::START_HINT
        ),
        error => error.into(),
    }))
}
