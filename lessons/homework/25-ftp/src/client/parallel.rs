//! Many transfers at once, each on its own connection, with progress bars.
//!
//! FTP moves one file per data connection, and a session runs one transfer
//! at a time. To move many files at once a client opens several sessions:
//! here, `--parallel N` worker threads, each with its own [`Client`], take
//! the next [`Task`] from a shared queue until it is empty. The server sees
//! N clients and serves them all from its one thread.
//!
//! `indicatif` draws a bar per running transfer and one for the total, on
//! standard error, and only if it is a terminal; each finished transfer
//! also prints a line on standard output, so scripts and tests can read
//! what happened.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Client;
use crate::session::rate;

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct Remote {
    pub addr: String,
    pub user: String,
    pub password: String,
    pub timeout: Duration,
}

impl Remote {
    /// A new logged-in connection.
    pub fn connect(&self) -> anyhow::Result<Client> {
        let mut client = Client::connect(&self.addr, self.timeout)?;
        client.login(&self.user, &self.password)?;
        Ok(client)
    }
}

/// Which way a file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Get,
    Put,
}

/// One file to move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub direction: Direction,
    /// The path on the server.
    pub remote: String,
    /// The path here.
    pub local: PathBuf,
    /// Its size, for the progress bars (the source's size).
    pub size: u64,
}

/// How to run the tasks.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How many connections at once.
    pub parallel: usize,
    /// Carry on from where a previous run stopped (REST) instead of
    /// starting each file again.
    pub resume: bool,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
}

/// What became of the tasks.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files moved (or found complete already).
    pub done: usize,
    /// Bytes moved.
    pub bytes: u64,
    /// Each failed task and why.
    pub failed: Vec<(Task, anyhow::Error)>,
    pub elapsed: Duration,
}

// ANCHOR: run
/// Runs every task over up to `options.parallel` connections at once.
pub fn run(remote: &Remote, tasks: Vec<Task>, options: Options) -> Summary {
    let started = Instant::now();
    let bars = MultiProgress::with_draw_target(if options.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let total = bars.add(ProgressBar::new(tasks.iter().map(|task| task.size).sum()));
    total.set_style(style(
        "{prefix:>8} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ));
    total.set_prefix("total");

    let workers = options.parallel.clamp(1, tasks.len().max(1));
    let queue = Mutex::new(VecDeque::from(tasks));
    let summary = Mutex::new(Summary::default());
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| worker(remote, &queue, &summary, &bars, &total, options));
        }
    });
    total.finish_and_clear();
    // A worker only panics on a bug; its results so far are still here.
    let mut summary = summary
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    summary.elapsed = started.elapsed();
    summary
}

/// One connection's work: take a task, move it, report, repeat.
fn worker(
    remote: &Remote,
    queue: &Mutex<VecDeque<Task>>,
    summary: &Mutex<Summary>,
    bars: &MultiProgress,
    total: &ProgressBar,
    options: Options,
) {
    // Connected on first use, and again after a failure (the connection
    // may be what failed).
    let mut client: Option<Client> = None;
    while let Some(task) = next_task(queue) {
        let bar = bars.insert_before(total, ProgressBar::new(task.size));
        bar.set_style(style(
            "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        ));
        bar.set_prefix(if task.direction == Direction::Get {
            "get"
        } else {
            "put"
        });
        bar.set_message(task.remote.clone());
        let started = Instant::now();
        let result = match client.take() {
            Some(connected) => Ok(connected),
            None => remote.connect(),
        }
        .and_then(|mut connected| {
            let moved = transfer(&mut connected, &task, options.resume, &mut |n| {
                bar.inc(n);
                total.inc(n);
            })?;
            client = Some(connected);
            Ok(moved)
        });
        bar.finish_and_clear();
        let Ok(mut summary) = summary.lock() else {
            break;
        };
        match result {
            Ok(Moved { bytes, skipped }) => {
                let (arrow, from, to) = match task.direction {
                    Direction::Get => {
                        ("get", task.remote.clone(), task.local.display().to_string())
                    }
                    Direction::Put => {
                        ("put", task.local.display().to_string(), task.remote.clone())
                    }
                };
                let how = if skipped {
                    "already complete".to_string()
                } else {
                    format!(
                        "{bytes} bytes, {}",
                        rate(bytes, started.elapsed().as_secs_f64())
                    )
                };
                bars.suspend(|| println!("{arrow} {from} -> {to} ({how})"));
                summary.done += 1;
                summary.bytes += bytes;
            }
            Err(error) => {
                total.inc(task.size);
                summary.failed.push((task, error));
            }
        }
    }
    if let Some(client) = client {
        let _ = client.quit();
    }
}
// ANCHOR_END: run

/// Takes the next task; the lock is released before the task runs.
fn next_task(queue: &Mutex<VecDeque<Task>>) -> Option<Task> {
    queue.lock().ok()?.pop_front()
}

/// What one transfer moved.
struct Moved {
    bytes: u64,
    /// With `--continue`, the file was already complete.
    skipped: bool,
}

// ANCHOR: transfer
/// Moves one file, resuming where the destination ends if `resume`.
fn transfer(
    client: &mut Client,
    task: &Task,
    resume: bool,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Moved> {
    match task.direction {
        Direction::Get => {
            let have = match resume {
                true => fs::metadata(&task.local)
                    .map(|meta| meta.len())
                    .unwrap_or(0),
                false => 0,
            };
            let size = client
                .size(&task.remote)?
                .with_context(|| format!("{}: no such file on the server", task.remote))?;
            if have > size {
                bail!(
                    "{}: the local file is longer than the remote one, not resuming",
                    task.local.display()
                );
            }
            progress(have);
            if resume && have == size {
                return Ok(Moved {
                    bytes: 0,
                    skipped: true,
                });
            }
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(have > 0)
                .truncate(have == 0)
                .open(&task.local)
                .with_context(|| format!("cannot write {}", task.local.display()))?;
            let bytes = client.retrieve(&task.remote, have, &mut file, progress)?;
            Ok(Moved {
                bytes,
                skipped: false,
            })
        }
        Direction::Put => {
            let mut file = File::open(&task.local)
                .with_context(|| format!("cannot read {}", task.local.display()))?;
            let size = file.metadata()?.len();
            let have = match resume {
                true => client.size(&task.remote)?.unwrap_or(0),
                false => 0,
            };
            if have > size {
                bail!(
                    "{}: the remote file is longer than the local one, not resuming",
                    task.remote
                );
            }
            progress(have);
            if resume && have == size {
                return Ok(Moved {
                    bytes: 0,
                    skipped: true,
                });
            }
            file.seek(SeekFrom::Start(have))?;
            let bytes = client.store(&task.remote, have, &mut file, progress)?;
            Ok(Moved {
                bytes,
                skipped: false,
            })
        }
    }
}
// ANCHOR_END: transfer

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; a typo shows plain bars.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
