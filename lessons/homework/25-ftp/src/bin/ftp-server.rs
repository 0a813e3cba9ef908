//! The FTP server: one thread, one event loop, any number of clients.
//!
//! ```text
//! just run lesson-25 ftp-server --root /tmp/share                      # anonymous, read-only
//! just run lesson-25 ftp-server --root /tmp/share --user alice:secret  # alice may write
//! curl ftp://127.0.0.1:2121/                                           # in another terminal
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use lesson_25_ftp::jail::Jail;
use lesson_25_ftp::server::{DEFAULT_IDLE_TIMEOUT, DEFAULT_LOGIN_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use lesson_25_ftp::users::{Anonymous, Users};
use lesson_25_ftp::{Config, DEFAULT_ADDR, Server};

/// An FTP server on one thread and one mio event loop. Speaks enough of RFC
/// 959, 2428 and 3659 for curl, Python's ftplib and lftp. Anonymous logins
/// are read-only unless --anonymous-write.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The directory clients see as `/`; nothing outside it is reachable.
    #[arg(long, env = "FTP_ROOT", default_value = ".")]
    root: PathBuf,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, env = "FTP_LISTEN", default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
    /// An account, NAME:PASSWORD (read-write) or NAME:PASSWORD:ro; repeat
    /// for more.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// A file of accounts, one NAME:PASSWORD (or NAME:PASSWORD:ro) per line;
    /// # starts a comment.
    #[arg(long, value_name = "FILE")]
    users_file: Option<PathBuf>,
    /// Refuse anonymous logins.
    #[arg(long, conflicts_with = "anonymous_write")]
    no_anonymous: bool,
    /// Let anonymous logins upload, delete and rename.
    #[arg(long)]
    anonymous_write: bool,
    /// Close sessions idle for this many seconds, with 421.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs_f64())]
    idle_timeout: f64,
    /// Serve at most this many sessions; more clients get 421.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Serve at most this many sessions from one address (all of
    /// 127.0.0.0/8 counts as one) [default: half of --max-connections].
    #[arg(long, value_name = "N")]
    max_per_address: Option<usize>,
    /// Close sessions not logged in this many seconds after connecting,
    /// with 421, however busy they keep.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LOGIN_TIMEOUT.as_secs_f64())]
    login_timeout: f64,
    /// Print every command and reply.
    #[arg(short, long)]
    verbose: bool,
}

// ANCHOR: main
fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    support::exit(serve(Args::parse()))
}

fn serve(args: Args) -> anyhow::Result<()> {
    let config = config(&args)?;
    let listener = std::net::TcpListener::bind(args.listen)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    let mut server = Server::new(listener, config.clone())?;
    // The first line, flushed: tests and benchmarks read the port from it.
    println!("listening on {}", server.local_addr()?);
    println!("root {}", config.jail.root().display());
    for (name, writable) in config.users.names() {
        println!(
            "user {name} ({})",
            if writable { "read-write" } else { "read-only" }
        );
    }
    let anonymous = match config.users.anonymous() {
        Anonymous::Refused => "refused",
        Anonymous::ReadOnly => "read-only",
        Anonymous::ReadWrite => "read-write",
    };
    println!("anonymous logins: {anonymous}");
    server.run().context("the event loop failed")
}
// ANCHOR_END: main

fn config(args: &Args) -> anyhow::Result<Config> {
    let jail = Jail::new(&args.root).with_context(|| {
        format!(
            "--root {}: not a directory we can serve",
            args.root.display()
        )
    })?;
    let anonymous = match (args.no_anonymous, args.anonymous_write) {
        (true, _) => Anonymous::Refused,
        (false, true) => Anonymous::ReadWrite,
        (false, false) => Anonymous::ReadOnly,
    };
    let mut users = Users::new(anonymous);
    if let Some(path) = &args.users_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the users file {}", path.display()))?;
        users
            .add_file(&text)
            .with_context(|| format!("in the users file {}", path.display()))?;
    }
    for spec in &args.users {
        users.add(spec)?;
    }
    let Ok(idle_timeout) = Duration::try_from_secs_f64(args.idle_timeout) else {
        bail!("--idle-timeout must be a positive number of seconds");
    };
    if idle_timeout.is_zero() || args.max_connections == 0 {
        bail!("--idle-timeout and --max-connections must be more than 0");
    }
    let Ok(login_timeout) = Duration::try_from_secs_f64(args.login_timeout) else {
        bail!("--login-timeout must be a positive number of seconds");
    };
    if login_timeout.is_zero() || args.max_per_address == Some(0) {
        bail!("--login-timeout and --max-per-address must be more than 0");
    }
    let mut config = Config::new(jail, users);
    config.login_timeout = login_timeout;
    config.max_per_address = args.max_per_address;
    config.idle_timeout = idle_timeout;
    config.max_connections = args.max_connections;
    config.verbose = args.verbose;
    Ok(config)
}
