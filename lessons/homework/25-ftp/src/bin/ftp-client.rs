//! An FTP client that moves many files at once, with progress bars.
//!
//! ```text
//! just run lesson-25 ftp-client ls
//! just run lesson-25 ftp-client --user alice --password secret put *.log --to /logs
//! just run lesson-25 ftp-client --parallel 8 mirror-get / ./copy
//! just run lesson-25 ftp-client --continue get big.iso       # after an interrupted download
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use lesson_25_ftp::DEFAULT_ADDR;
use lesson_25_ftp::client::parallel::{self, Direction, Options, Remote, Summary, Task};
use lesson_25_ftp::client::{Client, remote_join};
use lesson_25_ftp::session::rate;

/// Lists, downloads and uploads files on an FTP server, several at once
/// (--parallel), resuming interrupted transfers (--continue).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server's address.
    #[arg(long, global = true, env = "FTP_SERVER", default_value = DEFAULT_ADDR)]
    server: String,
    /// Log in as this user.
    #[arg(long, global = true, env = "FTP_USER", default_value = "anonymous")]
    user: String,
    /// With this password.
    #[arg(
        long,
        global = true,
        env = "FTP_PASSWORD",
        default_value = "guest@",
        hide_env_values = true
    )]
    password: String,
    /// How many files to move at once, each on its own connection.
    #[arg(long, short = 'j', global = true, default_value_t = 4)]
    parallel: usize,
    /// Resume: carry on from where the destination file ends (REST).
    #[arg(long = "continue", short = 'c', global = true)]
    resume: bool,
    /// No progress bars (they are drawn only on a terminal anyway).
    #[arg(long, global = true)]
    no_progress: bool,
    /// Seconds to wait for the server before giving up.
    #[arg(long, global = true, default_value_t = 30)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List a directory on the server (ls -l style).
    Ls {
        /// The directory (default: the login directory).
        #[arg(default_value = "")]
        path: String,
    },
    /// Download files.
    Get {
        /// Paths on the server.
        #[arg(required = true)]
        remote: Vec<String>,
        /// The local directory to put them in.
        #[arg(long, default_value = ".")]
        to: PathBuf,
    },
    /// Upload files.
    Put {
        /// Local files.
        #[arg(required = true)]
        local: Vec<PathBuf>,
        /// The directory on the server to put them in.
        #[arg(long, default_value = "")]
        to: String,
    },
    /// Download a directory tree.
    MirrorGet {
        /// The directory on the server.
        remote: String,
        /// The local directory (created if missing).
        local: PathBuf,
    },
    /// Upload a directory tree.
    MirrorPut {
        /// The local directory.
        local: PathBuf,
        /// The directory on the server (created if missing).
        remote: String,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    support::exit(run(&args))
}

// ANCHOR: main
fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let remote = Remote {
        addr: args.server.clone(),
        user: args.user.clone(),
        password: args.password.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let options = Options {
        parallel: args.parallel.max(1),
        resume: args.resume,
        progress: !args.no_progress,
    };
    // One connection to look around and plan; the transfers get their own.
    let mut planner = remote.connect()?;
    let tasks = match &args.command {
        Command::Ls { path } => {
            print!("{}", planner.list(path)?);
            planner.quit()?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Get { remote: paths, to } => {
            fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
            let mut tasks = Vec::new();
            for path in paths {
                let name = path.rsplit('/').next().unwrap_or(path);
                let size = planner
                    .size(path)?
                    .with_context(|| format!("{path}: no such file on the server"))?;
                tasks.push(Task {
                    direction: Direction::Get,
                    remote: path.clone(),
                    local: to.join(name),
                    size,
                });
            }
            tasks
        }
        Command::Put { local, to } => {
            let mut tasks = Vec::new();
            for path in local {
                let meta = fs::metadata(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if !meta.is_file() {
                    bail!(
                        "{} is not a file (use mirror-put for directories)",
                        path.display()
                    );
                }
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                tasks.push(Task {
                    direction: Direction::Put,
                    remote: remote_join(to, &name),
                    local: path.clone(),
                    size: meta.len(),
                });
            }
            tasks
        }
        Command::MirrorGet { remote: dir, local } => {
            let mut tasks = Vec::new();
            plan_get(&mut planner, dir, local, &mut tasks)?;
            tasks
        }
        Command::MirrorPut { local, remote: dir } => {
            let mut tasks = Vec::new();
            plan_put(&mut planner, local, dir, &mut tasks)?;
            tasks
        }
    };
    planner.quit()?;

    let summary = parallel::run(&remote, tasks, options);
    report(&summary);
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
// ANCHOR_END: main

/// Walks a remote tree with MLSD, creating local directories as it goes.
fn plan_get(
    client: &mut Client,
    dir: &str,
    local: &Path,
    tasks: &mut Vec<Task>,
) -> anyhow::Result<()> {
    fs::create_dir_all(local).with_context(|| format!("cannot create {}", local.display()))?;
    for entry in client.mlsd(dir)? {
        let remote = remote_join(dir, &entry.name);
        let here = local.join(&entry.name);
        if entry.is_dir {
            plan_get(client, &remote, &here, tasks)?;
        } else {
            tasks.push(Task {
                direction: Direction::Get,
                remote,
                local: here,
                size: entry.size,
            });
        }
    }
    Ok(())
}

/// Walks a local tree, creating remote directories as it goes.
fn plan_put(
    client: &mut Client,
    local: &Path,
    dir: &str,
    tasks: &mut Vec<Task>,
) -> anyhow::Result<()> {
    if !dir.is_empty() && dir != "/" {
        client.mkdir(dir)?;
    }
    let mut entries: Vec<_> = fs::read_dir(local)
        .with_context(|| format!("cannot read {}", local.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let meta =
            fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let remote = remote_join(if dir.is_empty() { "" } else { dir }, &name);
        if meta.is_dir() {
            plan_put(client, &path, &remote, tasks)?;
        } else if meta.is_file() {
            tasks.push(Task {
                direction: Direction::Put,
                remote,
                local: path,
                size: meta.len(),
            });
        }
    }
    Ok(())
}

fn report(summary: &Summary) {
    let secs = summary.elapsed.as_secs_f64();
    let files = if summary.done == 1 { "file" } else { "files" };
    println!(
        "{} {files}, {} bytes in {secs:.2} s ({}){}",
        summary.done,
        summary.bytes,
        rate(summary.bytes, secs),
        match summary.failed.len() {
            0 => String::new(),
            n => format!(", {n} failed"),
        }
    );
    for (task, error) in &summary.failed {
        let verb = if task.direction == Direction::Get {
            "get"
        } else {
            "put"
        };
        eprintln!("error: {verb} {}: {error:#}", task.remote);
    }
}
