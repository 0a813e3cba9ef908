//! `just bench redis`: lesson 23's SET rates on one connection, next to
//! `redis-benchmark`'s, against the same throwaway `redis-server`.
//!
//! Each comparison is made of pairs measured back to back (ours and the
//! anchor, in alternating order), so that both sides of a pair see the same
//! machine load. The ratio of each pair is computed, and the median over
//! the rounds is printed with the median rates:
//!
//! - one SET per round trip ([`by_round_trips`]) against
//!   `redis-benchmark -c 1` (one client, one request at a time);
//! - the lesson's pipeline, all the SETs in one batch ([`by_pipeline`]),
//!   against `redis-benchmark -c 1 -P 16` (one client, 16 requests in
//!   flight);
//! - like for like, the lesson's code sending pipelines of 16 against the
//!   same `-P 16`;
//! - the same like for like at every pipeline depth from 1 to 256
//!   ([`DEPTHS`]): how the rate grows as the round trips are shared.
//!
//! `just bench redis --rounds 9 --requests 50000` for a longer run;
//! `just bench redis --smoke` for a second's check that the bench works
//! (a few hundred SETs, one round, no targets). `--plot redis.svg` also draws
//! the rates by depth, both sides on the same axes, as an SVG chart.
//! The server is a fresh one on a free port, never the course's 6379.

use std::process::Command;

use clap::Parser;
use lesson_23_pipeline::{by_pipeline, by_round_trips};
use support::redis::KeySpace;
use support::stats::median;
use support::testkit::RedisServer;

/// Lesson 23's SET rates next to redis-benchmark's, on one throwaway server.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// SETs per measurement sent one per round trip
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// SETs per measurement sent pipelined
    #[arg(long, default_value_t = 200_000)]
    pipelined_requests: usize,
    /// How many pairs of measurements per comparison (the median is kept)
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Pipeline depth of redis-benchmark's -P, and of the like-for-like run
    #[arg(long, default_value_t = 16)]
    depth: usize,
    /// A quick run that only shows the bench works: few SETs, one round,
    /// no targets
    #[arg(long)]
    smoke: bool,
    /// Also draw the SET rate by pipeline depth as an SVG chart into FILE
    #[arg(long, value_name = "FILE")]
    plot: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The pipeline depths of the sweep, ours and redis-benchmark's `-P`.
const DEPTHS: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/// One of the lesson's ways of sending SETs; returns SETs per second.
type Measure<'a> = Box<dyn Fn(&mut redis::Connection) -> Result<f64> + 'a>;

/// One line of the table: our way, the anchor, and the course's target.
struct Comparison<'a> {
    ours: String,
    measure: Measure<'a>,
    anchor: String,
    /// The extra redis-benchmark arguments (`-P 16`).
    anchor_args: Vec<String>,
    requests: usize,
    target: &'static str,
}

fn main() {
    let mut args = Args::parse();
    if args.smoke {
        args.requests = 200;
        args.pipelined_requests = 2_000;
        args.rounds = 1;
    }
    if let Err(error) = run(&args) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    let benchmark = redis_benchmark()?;
    // No password, so that redis-benchmark (which takes none here) and the
    // lesson's code talk to the server the same way.
    let server = RedisServer::start_open()?;
    let mut con = support::redis::connect(&server.url())?;
    let keys = KeySpace::new("bench");
    let rounds = args.rounds.max(1);
    println!(
        "SET rates on one connection: redis-server {} on 127.0.0.1:{} (throwaway).",
        server_version(&mut con)?,
        server.port()
    );
    println!("{rounds} rounds; in each, ours and redis-benchmark's are measured back to back.\n");

    let (n, np, depth) = (args.requests, args.pipelined_requests, args.depth);
    let pipelined = vec!["-P".to_string(), depth.to_string()];
    let comparisons = [
        Comparison {
            ours: "one SET per round trip".into(),
            measure: Box::new(|con| Ok(by_round_trips(con, &keys, n)?.rate())),
            anchor: "-c 1".into(),
            anchor_args: vec![],
            requests: n,
            target: ">= 0.9x",
        },
        Comparison {
            ours: format!("one pipeline of {np}"),
            measure: Box::new(|con| Ok(by_pipeline(con, &keys, np, np)?.rate())),
            anchor: format!("-c 1 -P {depth}"),
            anchor_args: pipelined.clone(),
            requests: np,
            target: ">= 0.8x",
        },
        Comparison {
            ours: format!("pipelines of {depth}"),
            measure: Box::new(|con| Ok(by_pipeline(con, &keys, np, depth)?.rate())),
            anchor: format!("-c 1 -P {depth}"),
            anchor_args: pipelined,
            requests: np,
            target: "(like for like)",
        },
    ];

    let mut results = measure(&comparisons, rounds, &benchmark, &server, &mut con, &keys)?;
    print_table(&comparisons, &mut results, args.smoke);

    // The sweep: SETs per measurement grow with the depth (a deeper
    // pipeline is faster), up to the pipelined count.
    let shared_keys = &keys;
    let sweep: Vec<Comparison> = DEPTHS
        .iter()
        .map(|&depth| {
            let requests = (n * depth).min(np.max(n));
            Comparison {
                ours: format!("pipelines of {depth}"),
                measure: Box::new(move |con| {
                    Ok(by_pipeline(con, shared_keys, requests, depth)?.rate())
                }),
                anchor: format!("-c 1 -P {depth}"),
                anchor_args: vec!["-P".to_string(), depth.to_string()],
                requests,
                target: "",
            }
        })
        .collect();
    println!("\nBy pipeline depth, like for like:");
    let mut by_depth = measure(&sweep, rounds, &benchmark, &server, &mut con, &keys)?;
    print_table(&sweep, &mut by_depth, true);
    if let Some(path) = &args.plot {
        let medians: Vec<(f64, f64)> = by_depth
            .iter_mut()
            .map(|pairs| {
                let (ours, theirs, _) = pairs.medians();
                (ours, theirs)
            })
            .collect();
        chart(&medians, rounds).write(path)?;
        println!("\nchart: {}", path.display());
    }

    if args.smoke {
        println!("\nsmoke run: too few SETs to judge, no verdict");
        return Ok(());
    }
    println!(
        "\nRatios are medians of pairs measured back to back. On a shared machine the \
         absolute\nrates swing from run to run; the ratios much less."
    );
    Ok(())
}

/// The SET rate by pipeline depth, ours and redis-benchmark's, on log axes.
fn chart(medians: &[(f64, f64)], rounds: usize) -> support::chart::Figure {
    use support::chart::{Axis, Figure, Lines};
    let depths = DEPTHS.map(|depth| depth as f64);
    let points = |side: fn(&(f64, f64)) -> f64| -> Vec<(f64, f64)> {
        depths
            .iter()
            .copied()
            .zip(medians.iter().map(side))
            .collect()
    };
    Figure::new("Redis SET rate on one connection, by pipeline depth")
        .lines(
            Lines::new(
                "SETs in flight at once: 1 is one round trip per SET",
                Axis::log("pipeline depth (redis-benchmark -P)").ticks(depths),
                Axis::log("SET/s"),
            )
            .series("lesson 23", points(|m| m.0))
            .series("redis-benchmark", points(|m| m.1)),
        )
        .note(&format!("medians of {rounds} round(s)"))
}

/// Measures every comparison `rounds` times, ours and the anchor back to
/// back in each round.
fn measure(
    comparisons: &[Comparison],
    rounds: usize,
    benchmark: &str,
    server: &RedisServer,
    con: &mut redis::Connection,
    keys: &KeySpace,
) -> Result<Vec<Pairs>> {
    let mut results = vec![Pairs::default(); comparisons.len()];
    for round in 0..rounds {
        eprint!("round {}/{rounds}...\r", round + 1);
        for (comparison, pairs) in comparisons.iter().zip(&mut results) {
            let anchor = || rps(benchmark, server.port(), comparison);
            // Alternate which side goes first, so that a drift in the
            // machine's load favours neither.
            let (ours, theirs) = if round % 2 == 0 {
                let ours = (comparison.measure)(con)?;
                (ours, anchor()?)
            } else {
                let theirs = anchor()?;
                ((comparison.measure)(con)?, theirs)
            };
            pairs.push(ours, theirs);
            keys.cleanup(con)?;
        }
    }
    eprintln!();
    Ok(results)
}

/// One line per comparison: both medians and the median ratio.
fn print_table(comparisons: &[Comparison], results: &mut [Pairs], smoke: bool) {
    println!(
        "{:<28} {:>10}   {:<16} {:>10}   {:>6}   target",
        "lesson 23", "SET/s", "redis-benchmark", "SET/s", "ratio"
    );
    for (comparison, pairs) in comparisons.iter().zip(results) {
        let (ours, theirs, ratio) = pairs.medians();
        println!(
            "{:<28} {ours:>10.0}   {:<16} {theirs:>10.0}   {ratio:>5.2}x   {}",
            comparison.ours,
            comparison.anchor,
            if smoke { "-" } else { comparison.target }
        );
    }
}

/// The rates of one comparison, one pair per round.
#[derive(Debug, Clone, Default)]
struct Pairs {
    ours: Vec<f64>,
    theirs: Vec<f64>,
    ratios: Vec<f64>,
}

impl Pairs {
    fn push(&mut self, ours: f64, theirs: f64) {
        self.ours.push(ours);
        self.theirs.push(theirs);
        self.ratios.push(ours / theirs);
    }

    /// The medians of our rates, of the anchor's, and of the pairs' ratios.
    fn medians(&mut self) -> (f64, f64, f64) {
        (
            median(&self.ours).unwrap_or(f64::NAN),
            median(&self.theirs).unwrap_or(f64::NAN),
            median(&self.ratios).unwrap_or(f64::NAN),
        )
    }
}

/// The `redis-benchmark` program (or `$REDIS_BENCHMARK_BIN`).
fn redis_benchmark() -> Result<String> {
    let program = std::env::var("REDIS_BENCHMARK_BIN").unwrap_or_else(|_| "redis-benchmark".into());
    match Command::new(&program).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(program),
        _ => Err(format!(
            "`{program}` was not found: it comes with Redis \
             (Debian/Ubuntu: apt-get install redis-tools; macOS: brew install redis)"
        )
        .into()),
    }
}

/// Runs `redis-benchmark` for SET against the port with one client and
/// returns its requests per second. `-r` spreads the SETs over many keys,
/// as the lesson's own SETs are.
fn rps(program: &str, port: u16, comparison: &Comparison) -> Result<f64> {
    let output = Command::new(program)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-c", "1"])
        .args(["-n", &comparison.requests.to_string()])
        .args(["-r", "1000000", "-t", "set", "--csv"])
        .args(&comparison.anchor_args)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    // "test","rps",... then "SET","11743.98",...
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|line| line.starts_with("\"SET\""))
        .and_then(|line| line.split(',').nth(1))
        .and_then(|field| field.trim_matches('"').parse().ok())
        .ok_or_else(|| format!("no SET rate in redis-benchmark's output:\n{text}").into())
}

fn server_version(con: &mut redis::Connection) -> Result<String> {
    let info: String = redis::cmd("INFO").arg("server").query(con)?;
    Ok(info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_string())
}
