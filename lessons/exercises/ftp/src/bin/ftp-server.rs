//! Exercise 25's FTP server: the given event loop running your commands.
//!
//! ```text
//! cargo run -p exercise-25-ftp -- --root /tmp/share --user alice:secret
//! curl -u alice:secret ftp://127.0.0.1:2121/                 # in another terminal
//! just check ftp                                             # the acceptance checks
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use exercise_25_ftp::jail::Jail;
use exercise_25_ftp::{Config, DEFAULT_ADDR, Server};
use lesson_25_ftp::users::{Anonymous, Users};

/// An FTP server on one thread and one mio event loop (exercise 25).
/// Anonymous logins may read; accounts given with --user may also write.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The directory clients see as `/`; nothing outside it is reachable.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = DEFAULT_ADDR, value_parser = support::cli::listen_addr)]
    listen: SocketAddr,
    /// An account, NAME:PASSWORD (read-write) or NAME:PASSWORD:ro; repeat
    /// for more.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
}

fn main() -> ExitCode {
    support::exit(serve(Args::parse()))
}

fn serve(args: Args) -> anyhow::Result<()> {
    let jail = Jail::new(&args.root)
        .with_context(|| format!("--root {}: not a directory", args.root.display()))?;
    let mut users = Users::new(Anonymous::ReadOnly);
    for spec in &args.users {
        users.add(spec)?;
    }
    let listener = std::net::TcpListener::bind(args.listen)
        .map_err(|error| anyhow::anyhow!(support::cli::listen_error(args.listen, &error)))?;
    let mut server = Server::new(listener, Config { jail, users })?;
    // The first line: the checker reads the port from it.
    println!("listening on {}", server.local_addr()?);
    println!("root {}", args.root.display());
    server.run().context("the event loop failed")
}
