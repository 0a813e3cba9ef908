//! The echo arena: `just bench echo`.
//!
//! Every contestant runs as its own server process: lesson 05's `may` echo
//! server, lesson 08's select(2) server, lesson 09's mio server, and a
//! throwaway `redis-server` as the anchor, a C event loop that the whole
//! industry knows (inline `PING`, answered `+PONG`). One load generator
//! ([`load`]) drives them all, one after the other, in the same run, at 50
//! and at 1,000 concurrent connections, then with 50 busy and 950 idle
//! ones, and prints round trips per second, median (p50) and
//! 99th-percentile (p99) latency, each server's ratio to Redis, and its CPU
//! time per round trip. Then lesson 09 must hold 10,000 connections, every
//! echo checked.
//!
//! ```text
//! just bench echo
//! just bench echo --connections 50 --seconds 5 --rounds 5 --hold 0
//! just bench echo --smoke     # a few seconds: does the arena still work?
//! just bench echo --plot echo.svg   # the tables as a chart, too
//! ```
//!
//! `--smoke` runs every server with 5 busy and 5 idle connections for a
//! fraction of a second, one round, and lesson 09 holds 50 connections:
//! no goals are judged. It is built like the tests (`cargo test --bench`),
//! and so are the servers it starts.
//!
//! The lesson servers are built with `cargo build --release`. Three lessons
//! have a program called `server`; each has a cargo target name of its own
//! (`lesson-08-server`), so they do not overwrite each other.

// A crate root looks for modules beside it; this one lives in benches/echo/.
#[path = "echo/load.rs"]
mod load;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use load::{Outcome, Plan, Reply, Stop};
use support::cli::thousands;
use support::testkit::{RedisServer, ServerProcess};

/// The echo arena: lessons 05, 08, 09 and redis-server under one load generator.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many concurrent connections, one table each.
    #[arg(long, value_delimiter = ',', default_value = "50,1000")]
    connections: Vec<usize>,
    /// How long each server is measured per round, in seconds (after a
    /// warm-up of a quarter of that).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Rounds: in each, every server takes its turn; the median round is shown.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Connections lesson 09 must hold at the end (0: skip).
    #[arg(long, default_value_t = 10_000)]
    hold: usize,
    /// Round trips each of those connections makes.
    #[arg(long, default_value_t = 3)]
    hold_round_trips: u64,
    /// Idle connections opened next to the first size's busy ones, for one
    /// more table: what watching silent clients costs (0: skip).
    #[arg(long, default_value_t = 950)]
    idle: usize,
    /// A quick run that only shows the arena works: 5 busy and 5 idle
    /// connections, 0.2 s, one round, 50 held, no goals judged.
    #[arg(long)]
    smoke: bool,
    /// Also draw round trips/s and p99 per server as an SVG chart into FILE.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

// ANCHOR: contestants
/// A server in the arena.
struct Contestant {
    /// How the tables name it.
    name: &'static str,
    /// How to start it.
    start: Start,
    /// What it answers.
    reply: Reply,
    /// The most connections it can take (select(2) stops below 1,024).
    max_connections: Option<usize>,
    /// What the course expects of it at 50 connections, as a ratio to Redis.
    goal_at_50: Option<f64>,
    /// What the course expects of it at 50 busy + 950 idle connections:
    /// epoll's cost does not grow with idle sockets (lesson 07), so an
    /// epoll server must not fall behind Redis there.
    goal_with_idle: Option<f64>,
    /// Whether it must also hold the big connection count.
    holds: bool,
}

/// How a contestant is started.
enum Start {
    /// The throwaway redis-server of the test kit.
    Redis,
    /// A lesson's program, with `--listen 127.0.0.1:0` and these arguments.
    Lesson {
        number: u8,
        bin: &'static str,
        args: &'static [&'static str],
    },
}

/// Everyone in the arena. A new server is one more entry.
const CONTESTANTS: &[Contestant] = &[
    Contestant {
        name: "redis-server",
        start: Start::Redis,
        reply: Reply::Pong,
        max_connections: None,
        goal_at_50: None,
        goal_with_idle: None,
        holds: false,
    },
    Contestant {
        name: "lesson 05 (may)",
        start: Start::Lesson {
            number: 5,
            bin: "server",
            args: &["--workers", "1"],
        },
        reply: Reply::Echo,
        max_connections: None,
        goal_at_50: Some(0.8),
        goal_with_idle: Some(0.9),
        holds: false,
    },
    Contestant {
        name: "lesson 08 (select)",
        start: Start::Lesson {
            number: 8,
            bin: "server",
            args: &["--quiet"],
        },
        reply: Reply::Upper,
        // FD_SETSIZE (1,024) minus stdin, stdout, stderr and the listener,
        // rounded down.
        max_connections: Some(1_000),
        goal_at_50: Some(0.5),
        // select(2) scans every descriptor on every call: idle ones cost.
        goal_with_idle: None,
        holds: false,
    },
    Contestant {
        name: "lesson 09 (mio)",
        start: Start::Lesson {
            number: 9,
            bin: "server",
            args: &[],
        },
        reply: Reply::Echo,
        max_connections: None,
        goal_at_50: Some(1.0),
        goal_with_idle: Some(1.0),
        holds: true,
    },
];
// ANCHOR_END: contestants

/// A contestant that is running, or the reason it is not.
struct Entrant {
    contestant: &'static Contestant,
    server: Result<Running, String>,
}

/// A running server process; stopped when dropped.
enum Running {
    Redis(RedisServer),
    Lesson(ServerProcess),
}

impl Running {
    fn addr(&self) -> std::net::SocketAddr {
        match self {
            Running::Redis(redis) => std::net::SocketAddr::from(([127, 0, 0, 1], redis.port())),
            Running::Lesson(process) => process.addr(),
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Running::Redis(redis) => redis.pid(),
            Running::Lesson(process) => process.pid(),
        }
    }
}

fn main() {
    let mut args = Args::parse();
    if args.smoke {
        args.connections = vec![5];
        args.idle = 5;
        args.seconds = 0.2;
        args.rounds = 1;
        args.hold = 50;
    }
    if let Err(error) = run(args) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let most = args
        .connections
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(args.hold)
        .max(args.connections.first().copied().unwrap_or(0) + args.idle);
    let raised = support::fdlimit::raise_to(most as u64 + 100)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    println!("The echo arena. Load generator: {raised}.");

    let entrants: Vec<Entrant> = CONTESTANTS
        .iter()
        .map(|contestant| Entrant {
            contestant,
            server: start(contestant),
        })
        .collect();
    println!();
    println!(
        "One load generator (one thread, mio) drives every server: each connection sends a request,"
    );
    println!(
        "waits for the whole reply, checks it, and sends the next. {} cores, load average {} before the run.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    println!(
        "Each run: {:.2} s warm-up, {:.1} s measured; {} rounds, servers taking turns; the median round is shown.",
        args.seconds / 4.0,
        args.seconds,
        args.rounds
    );

    let mut sizes: Vec<Connections> = args
        .connections
        .iter()
        .map(|&busy| Connections { busy, idle: 0 })
        .collect();
    if let (Some(&busy), 1..) = (args.connections.first(), args.idle) {
        sizes.push(Connections {
            busy,
            idle: args.idle,
        });
    }
    let mut at_50 = Vec::new();
    let mut with_idle = Vec::new();
    let mut drawn = Vec::new();
    for size in sizes {
        let table = measure_table(&entrants, size, &args)?;
        print_table(size, &entrants, &table);
        drawn.push((size, figures(&table)));
        if size == (Connections { busy: 50, idle: 0 }) {
            at_50 = table;
        } else if size
            == (Connections {
                busy: 50,
                idle: 950,
            })
        {
            with_idle = table;
        }
    }
    if args.smoke {
        println!();
        println!("smoke run: too small and too short to judge, no goals");
    } else {
        print_goals("at 50 connections", &entrants, &at_50, |c| c.goal_at_50);
        print_goals("at 50 busy + 950 idle", &entrants, &with_idle, |c| {
            c.goal_with_idle
        });
    }

    if let Some(path) = &args.plot {
        chart(&drawn, &args).write(path)?;
        println!("\nchart: {}", path.display());
    }

    if args.hold > 0 {
        for entrant in entrants.iter().filter(|e| e.contestant.holds) {
            hold(entrant, &args)?;
        }
    }
    Ok(())
}

// ANCHOR: start
/// Starts a contestant's server, or says why it cannot run.
fn start(contestant: &Contestant) -> Result<Running, String> {
    match contestant.start {
        // No password: the load generator speaks raw PING, and AUTH is no
        // part of an echo.
        Start::Redis => RedisServer::start_open()
            .map(Running::Redis)
            .map_err(|error| format!("could not start redis-server: {error}")),
        Start::Lesson { number, bin, args } => {
            let root = course::workspace_root();
            let lesson = course::find(&number.to_string()).map_err(|error| error.to_string())?;
            if !lesson.is_written(&root) {
                return Err(format!(
                    "{} is not in this workspace yet (no lessons/{})",
                    lesson.package(),
                    lesson.dir
                ));
            }
            let program = build(&lesson, bin).map_err(|error| format!("{error:#}"))?;
            let mut command = Command::new(program);
            command.args(["--listen", "127.0.0.1:0"]).args(args);
            ServerProcess::start(command)
                .map(Running::Lesson)
                .map_err(|error| format!("did not start: {error}"))
        }
    }
}

/// Builds a lesson's program the way this benchmark was built, and returns
/// its path: optimised under `cargo bench` (which runs us from
/// `target/release/deps/`), unoptimised under `cargo test --bench` (the
/// smoke run, from `target/debug/deps/`). Programs that several lessons
/// share a name with (`server`) have a cargo target name of their own
/// (`lesson-08-server`), which the course map knows.
fn build(lesson: &course::Lesson, bin: &str) -> anyhow::Result<PathBuf> {
    let package = lesson.package();
    let target = lesson.bin_target(&course::workspace_root(), bin);
    let profile_dir = std::env::current_exe()?
        .parent()
        .and_then(|deps| deps.parent())
        .context("where is target/release?")?
        .to_path_buf();
    let release = profile_dir
        .file_name()
        .is_some_and(|name| name == "release");
    let profile = if release { "release" } else { "dev" };
    println!("building {package} --bin {target} ({profile})");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(course::workspace_root()).args([
        "build",
        "--quiet",
        "--package",
        &package,
        "--bin",
        &target,
    ]);
    if release {
        command.arg("--release");
    }
    let status = command.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --package {package} --bin {target} failed ({status})");
    }
    Ok(profile_dir.join(target))
}
// ANCHOR_END: start

/// How many connections a table is measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Connections {
    /// Connections making round trips.
    busy: usize,
    /// Connections that stay silent.
    idle: usize,
}

impl std::fmt::Display for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.idle {
            0 => write!(f, "{} conns", thousands(self.busy as f64)),
            idle => write!(
                f,
                "{} busy + {} idle",
                thousands(self.busy as f64),
                thousands(idle as f64)
            ),
        }
    }
}

/// Each contestant's outcome at this many connections: the median of the
/// rounds, or why there is none.
type Table = Vec<Result<Outcome, String>>;

fn measure_table(entrants: &[Entrant], size: Connections, args: &Args) -> anyhow::Result<Table> {
    let stop = Stop::Timed {
        warmup: Duration::from_secs_f64(args.seconds / 4.0),
        measure: Duration::from_secs_f64(args.seconds),
    };
    let total = size.busy + size.idle;
    let mut rounds: Vec<Result<Vec<Outcome>, String>> = entrants
        .iter()
        .map(
            |entrant| match (&entrant.server, entrant.contestant.max_connections) {
                (Err(why), _) => Err(why.clone()),
                (Ok(_), Some(max)) if total > max => {
                    Err(format!("holds at most {max} connections"))
                }
                (Ok(_), _) => Ok(Vec::new()),
            },
        )
        .collect();
    println!();
    print!("{size}: measuring");
    for round in 0..args.rounds {
        print!(" round {}/{}", round + 1, args.rounds);
        std::io::Write::flush(&mut std::io::stdout())?;
        for (entrant, outcomes) in entrants.iter().zip(&mut rounds) {
            let (Ok(server), Ok(list)) = (&entrant.server, outcomes.as_mut()) else {
                continue;
            };
            let plan = Plan {
                addr: server.addr(),
                busy: size.busy,
                idle: size.idle,
                reply: entrant.contestant.reply,
                stop,
                server_pid: Some(server.pid()),
            };
            match load::run(&plan) {
                Ok(outcome) => list.push(outcome),
                Err(error) => *outcomes = Err(format!("failed: {error:#}")),
            }
        }
    }
    println!();
    Ok(rounds
        .into_iter()
        .map(|outcomes| {
            let mut outcomes = outcomes?;
            outcomes.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            let middle = outcomes.len() / 2;
            outcomes
                .into_iter()
                .nth(middle)
                .ok_or_else(|| "no rounds".to_string())
        })
        .collect())
}

// ANCHOR: table
fn print_table(size: Connections, entrants: &[Entrant], table: &Table) {
    let anchor = table
        .first()
        .and_then(|outcome| outcome.as_ref().ok())
        .map(Outcome::rate);
    let row = |cells: [&str; 8]| {
        let [name, reply, rate, p50, p99, ratio, cpu, busy] = cells;
        println!(
            "  {name:<19}{reply:<11}{rate:>14}{p50:>10}{p99:>10}{ratio:>9}{cpu:>10}{busy:>10}"
        );
    };
    println!();
    let title = size.to_string();
    row([
        &title,
        "reply",
        "round trips/s",
        "p50",
        "p99",
        "vs redis",
        "CPU/trip",
        "busy s/g",
    ]);
    for (entrant, outcome) in entrants.iter().zip(table) {
        let contestant = entrant.contestant;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(why) => {
                println!("  {:<19}{why}", contestant.name);
                continue;
            }
        };
        let ratio = anchor.map_or("-".into(), |anchor| {
            format!("{:.2}×", outcome.rate() / anchor)
        });
        let cpu = outcome
            .server_cpu_per_round_trip()
            .map_or("-".into(), |cpu| {
                format!("{:.1} µs", cpu.as_secs_f64() * 1e6)
            });
        let busy = outcome.busy().map_or("-".into(), |(server, generator)| {
            format!("{server:.0}/{generator:.0}%")
        });
        row([
            contestant.name,
            contestant.reply.describe(),
            &thousands(outcome.rate()),
            &millis(outcome.percentile(0.50)),
            &millis(outcome.percentile(0.99)),
            &ratio,
            &cpu,
            &busy,
        ]);
    }
}
// ANCHOR_END: table

/// The course's expectations for one table, met or not; a table that was
/// not measured (another `--connections` or `--idle`) prints nothing.
fn print_goals(
    title: &str,
    entrants: &[Entrant],
    table: &Table,
    goal: impl Fn(&Contestant) -> Option<f64>,
) {
    let Some(Ok(anchor)) = table.first() else {
        return;
    };
    println!();
    println!("Goals {title} (round trips per second, as a ratio to redis-server):");
    for (entrant, outcome) in entrants.iter().zip(table) {
        let Some(goal) = goal(entrant.contestant) else {
            continue;
        };
        let verdict = match outcome {
            Ok(outcome) => {
                let ratio = outcome.rate() / anchor.rate();
                let met = if ratio >= goal { "met" } else { "NOT met" };
                format!("{ratio:.2}×, {met}")
            }
            Err(_) => "not measured".to_string(),
        };
        println!(
            "  {:<20} at least {goal:.1}×: {verdict}",
            entrant.contestant.name
        );
    }
}

// ANCHOR: hold
/// Many connections at once, each making a few round trips, every reply
/// checked: can the server hold them all?
fn hold(entrant: &Entrant, args: &Args) -> anyhow::Result<()> {
    let name = entrant.contestant.name;
    println!();
    let server = match &entrant.server {
        Ok(server) => server,
        Err(why) => {
            println!("{name} cannot hold {} connections: {why}", args.hold);
            return Ok(());
        }
    };
    println!(
        "{name}: {} connections at once, {} round trips each...",
        thousands(args.hold as f64),
        args.hold_round_trips
    );
    let outcome = load::run(&Plan {
        addr: server.addr(),
        busy: args.hold,
        idle: 0,
        reply: entrant.contestant.reply,
        stop: Stop::RoundTrips(args.hold_round_trips),
        server_pid: Some(server.pid()),
    })
    .with_context(|| format!("{name} with {} connections", args.hold))?;
    println!(
        "  held: all connected in {:.2} s; {} round trips, every echo checked, in {:.2} s",
        outcome.connecting.as_secs_f64(),
        thousands(outcome.round_trips as f64),
        outcome.window.as_secs_f64(),
    );
    println!(
        "  {} round trips/s, p50 {}, p99 {}, server CPU {} per round trip",
        thousands(outcome.rate()),
        millis(outcome.percentile(0.50)),
        millis(outcome.percentile(0.99)),
        outcome
            .server_cpu_per_round_trip()
            .map_or("-".into(), |cpu| format!(
                "{:.1} µs",
                cpu.as_secs_f64() * 1e6
            )),
    );
    Ok(())
}
// ANCHOR_END: hold

/// The 1-minute load average, to judge how busy the machine was.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

/// Each contestant's round trips per second and p99 in milliseconds, in
/// the order of [`CONTESTANTS`] (`None`: it did not run at that size).
type Figures = Vec<Option<(f64, f64)>>;

/// The figures of one table, for the chart.
fn figures(table: &Table) -> Figures {
    table
        .iter()
        .map(|outcome| {
            let outcome = outcome.as_ref().ok()?;
            Some((outcome.rate(), outcome.percentile(0.99).as_secs_f64() * 1e3))
        })
        .collect()
}

/// The tables as a chart: round trips per second and p99, one bar per
/// server in each group of connections.
fn chart(drawn: &[(Connections, Figures)], args: &Args) -> support::chart::Figure {
    use support::chart::{Bars, Figure};
    let groups: Vec<String> = drawn.iter().map(|(size, _)| size.to_string()).collect();
    let mut rate = Bars::new(
        "Round trips per second (more is better)",
        "round trips/s",
        groups.clone(),
    );
    let mut p99 = Bars::new(
        "99th-percentile latency (less is better)",
        "p99, ms",
        groups,
    );
    for (index, contestant) in CONTESTANTS.iter().enumerate() {
        let cell = |(_, row): &(Connections, Figures)| row.get(index).copied().flatten();
        rate = rate.series(contestant.name, drawn.iter().map(|d| cell(d).map(|c| c.0)));
        p99 = p99.series(contestant.name, drawn.iter().map(|d| cell(d).map(|c| c.1)));
    }
    Figure::new("The echo arena: one load generator, four servers")
        .bars(rate)
        .bars(p99)
        .note(&format!(
            "{:.1} s per run, median of {} round(s); n/a: select(2) stops below 1,024",
            args.seconds, args.rounds
        ))
}
