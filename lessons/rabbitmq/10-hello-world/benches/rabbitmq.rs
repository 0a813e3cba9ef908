//! `just bench rabbitmq`: how fast this lesson's code publishes and consumes,
//! next to the notes' Python client, pika, doing the same work in the same
//! run against the same throwaway broker.
//!
//! ```text
//! just bench rabbitmq                          # 3 rounds of 100,000 messages of 100 bytes
//! just bench rabbitmq --messages 20000 --size 1000 --rounds 5 --queues 8
//! just bench rabbitmq --plot rabbitmq.svg       # the median rounds as a chart, too
//! ```
//!
//! Each side, in each round, on one connection:
//!
//! 1. publishes N messages through the default exchange, with the lesson's
//!    `bulk::send_many`. Two times are taken: when the last message is written to the
//!    socket (**sent**: the client's own speed, which is what pika's
//!    `basic_publish` loop measures), and when the broker reports all N in
//!    their queues (**in queue**: also limited by how fast the broker
//!    stores them);
//! 2. consumes them with automatic acks, as `receive` does, until the last
//!    has arrived (**consumed**).
//!
//! It does that twice over, for two layouts:
//!
//! - **one queue**, as the lesson's programs use it. A queue is a single
//!   Erlang process in the broker, and it hands out one message at a time:
//!   on a small machine it tops out around 80,000 deliveries a second,
//!   however fast the consumer is, so both clients' consume rates are
//!   partly the broker's.
//! - **`--queues` queues** (4 by default), N/4 messages in each and one
//!   consumer on each, every consumer on a channel of its own (a channel is
//!   a process in the broker too). The broker then works on several cores
//!   at once, and the consume rate shows how fast the *client* takes
//!   messages in. The consume target is judged here; the publish target on
//!   one queue.
//!
//! Each side also measures the processor time it spent itself, per message,
//! in all its threads: how much work the *client* does, whatever the broker
//! and other programs on the machine do. When the broker is the limit, the
//! rates of a fast client and a slow one come close together; the
//! processor time per message does not.
//!
//! Both sides do the same untimed setup (connect, declare the queues, open
//! the consumers' channels) and time the same work. Rust and pika take
//! turns, round by round, so that both see the same machine; each side's
//! *median round* is reported, one whole round (every column from the same
//! round), picked by the column its target judges: the publish rate for one
//! queue, the consume rate for several. One lucky or unlucky round cannot
//! move a median. pika runs `benches/pika_bench.py`; if pika is not
//! installed, the bench installs it into a virtual environment under
//! `target/`, and if that fails too it says "skipped" and prints the Rust
//! numbers alone.
//!
//! `just bench rabbitmq --smoke`: 2,000 messages, one round, no verdict,
//! and pika only if it is already installed: it only shows that the
//! benchmark works.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_lite::StreamExt;
use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use lesson_10_hello_world::bulk::send_many;
use lesson_10_hello_world::{declare_queue, receive};
use support::amqp::Session;
use support::cli::thousands;
use support::testkit::RabbitMq;

/// Publish and consume rates: lesson code (lapin) against pika.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many messages each side publishes and consumes per round.
    #[arg(long, default_value_t = 100_000)]
    messages: u32,
    /// The size of each message body, in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Consuming from one queue is limited by the broker (a queue is one
    /// Erlang process); the bench also spreads the messages over this many
    /// queues, one consumer on each, so that the clients' speed shows.
    #[arg(long, default_value_t = 4)]
    queues: usize,
    /// How many rounds each side runs; the median round is reported.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// A quick run that only shows the benchmark works: few messages, one
    /// round, no verdict, pika only if already installed.
    #[arg(long)]
    smoke: bool,
    /// The Python interpreter for the pika side (default: one that has
    /// pika, or a venv under target/ made on first use).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Also draw the median rounds as an SVG chart into FILE.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What one side measured in one round.
#[derive(Debug, Clone, Copy)]
struct Rates {
    /// Messages per second published, until the last one was written to
    /// the socket.
    sent: f64,
    /// Messages per second published, until the broker had every one in
    /// the queue.
    queued: f64,
    /// Messages per second consumed, until the last one arrived.
    consumed: f64,
    /// Processor time the client spent per message published, in µs.
    publish_cpu: f64,
    /// Processor time the client spent per message consumed, in µs.
    consume_cpu: f64,
}

/// The round whose `key` is the median of the rounds (the lower middle one
/// for an even count), whole: every column of the result comes from that
/// one round. `None` if there were no rounds.
fn median_round(rounds: &[Rates], key: impl Fn(&Rates) -> f64) -> Option<Rates> {
    let mut sorted = rounds.to_vec();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted.get(sorted.len().saturating_sub(1) / 2).copied()
}

/// The column the median round is picked by in a layout: the publish rate
/// with one queue (the publish target is judged there), the consume rate
/// with several (the consume target).
fn judged_column(queues: usize) -> (&'static str, fn(&Rates) -> f64) {
    if queues == 1 {
        ("sent/s", |rates| rates.sent)
    } else {
        ("consumed/s", |rates| rates.consumed)
    }
}

/// The issue's targets: lesson code against pika, in the same run.
const PUBLISH_TARGET: f64 = 3.0;
const CONSUME_TARGET: f64 = 1.5;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: Args) -> anyhow::Result<()> {
    if args.smoke {
        args.messages = 2_000;
        args.rounds = 1;
        args.queues = args.queues.min(2);
    }
    let args = &args;
    if args.queues == 0 || args.messages < u32::try_from(args.queues)? {
        bail!("--queues must be at least 1 and at most --messages");
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    println!("Starting a throwaway RabbitMQ...");
    let rabbit = RabbitMq::start().context("starting a throwaway rabbitmq-server")?;
    let url = rabbit.url();
    let python = match pika_python(args.python.as_deref(), !args.smoke) {
        Ok(python) => Some(python),
        Err(reason) => {
            println!("pika: skipped ({reason})");
            None
        }
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let mut layouts = vec![1];
    if args.queues > 1 {
        layouts.push(args.queues);
    }
    let mut results = Vec::new();
    for &queues in &layouts {
        println!(
            "\n{} rounds of {} messages of {} bytes, {}; publish, then consume (auto-ack); one connection per side",
            args.rounds,
            thousands(f64::from(args.messages)),
            args.size,
            layout(queues),
        );
        print_header();
        let mut rust = Vec::new();
        let mut pika = Vec::new();
        for round in 1..=args.rounds {
            let prefix = format!("bench-rust-{queues}-{round}");
            let this = runtime.block_on(measure_rust(
                &url,
                &prefix,
                queues,
                args.messages,
                args.size,
            ))?;
            print_row(&format!("round {round}: Rust"), this);
            rust.push(this);
            if let Some(python) = &python {
                let prefix = format!("bench-pika-{queues}-{round}");
                let this = measure_pika(python, &url, &prefix, queues, args.messages, args.size)?;
                print_row(&format!("round {round}: pika"), this);
                pika.push(this);
            }
        }
        let (_, key) = judged_column(queues);
        let rust = median_round(&rust, key).context("no rounds")?;
        results.push((queues, rust, median_round(&pika, key)));
    }

    println!(
        "\nMedian round of {} (each row one whole round, picked by {} for 1 queue and by {} for {}):",
        args.rounds,
        judged_column(1).0,
        judged_column(args.queues.max(2)).0,
        short_layout(args.queues.max(2)),
    );
    print_header();
    for &(queues, rust, pika) in &results {
        print_row(&format!("Rust (lapin), {}", short_layout(queues)), rust);
        if let Some(pika) = pika {
            print_row(&format!("pika (Python), {}", short_layout(queues)), pika);
            println!(
                "{:<26} {:>9.1}x {:>9.1}x {:>9.1}x {:>9.1}x {:>9.1}x",
                "Rust ahead by",
                rust.sent / pika.sent,
                rust.queued / pika.queued,
                rust.consumed / pika.consumed,
                pika.publish_cpu / rust.publish_cpu,
                pika.consume_cpu / rust.consume_cpu,
            );
        }
    }
    if let Some(path) = &args.plot {
        chart(&results, args).write(path)?;
        println!("\nchart: {}", path.display());
    }
    let ratios: Vec<(usize, f64, f64)> = results
        .iter()
        .filter_map(|&(queues, rust, pika)| {
            pika.map(|pika| (queues, rust.sent / pika.sent, rust.consumed / pika.consumed))
        })
        .collect();
    if args.smoke {
        println!(
            "\nsmoke run: {} messages, one round: too few to judge, no verdict.",
            args.messages
        );
        return Ok(());
    }
    let (Some(&(_, publish, one_queue)), Some(&(spread, _, consume))) =
        (ratios.first(), ratios.last())
    else {
        println!("\nTargets: not measured (pika was skipped: nothing to compare with).");
        return Ok(());
    };
    let verdict = |ratio: f64, target: f64| {
        if ratio >= target { "met" } else { "NOT met" }
    };
    println!(
        "\nTargets: publish {PUBLISH_TARGET}x pika ({}: {publish:.1}x, one queue); consume {CONSUME_TARGET}x pika ({}: {consume:.1}x, {}).",
        verdict(publish, PUBLISH_TARGET),
        verdict(consume, CONSUME_TARGET),
        short_layout(spread),
    );
    if spread > 1 {
        println!(
            "With one queue, consuming ran at {one_queue:.1}x pika: a queue is one Erlang process in the\n\
             broker, and it hands out messages one at a time; past some rate (about 80,000/s on\n\
             2 cores) it is the limit, whoever consumes. Spread over {spread} queues, the broker works\n\
             on several cores and the clients' own speed shows."
        );
    }
    println!(
        "\"in queue\" and \"consumed\" are also the broker's speed: when the client waits for\n\
         the broker, its rate says little about it, and its processor time per message\n\
         (the \"µs\" columns) says how much work it does. Numbers from a busy machine\n\
         are noisy: run it twice."
    );
    Ok(())
}

/// "one queue", "4 queues, a consumer on each (one channel each)".
fn layout(queues: usize) -> String {
    if queues == 1 {
        "one queue".to_string()
    } else {
        format!("{queues} queues with a consumer each (one channel each)")
    }
}

fn short_layout(queues: usize) -> String {
    if queues == 1 {
        "1 queue".to_string()
    } else {
        format!("{queues} queues")
    }
}

fn print_header() {
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "sent/s", "in queue/s", "consumed/s", "µs/publish", "µs/consume"
    );
}

fn print_row(name: &str, rates: Rates) {
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>10.1} {:>10.1}",
        name,
        thousands(rates.sent),
        thousands(rates.queued),
        thousands(rates.consumed),
        rates.publish_cpu,
        rates.consume_cpu
    );
}

/// Publishes `count` messages with the lesson's own functions, `count /
/// queues` to each of the queues `PREFIX-1` ... in turn, then consumes them
/// all, with `receive` on each queue (each on a channel of its own).
async fn measure_rust(
    url: &str,
    prefix: &str,
    queues: usize,
    count: u32,
    size: usize,
) -> anyhow::Result<Rates> {
    let session = Session::open(url).await?;
    let channel = &session.channel;
    let names: Vec<ShortString> = (1..=queues)
        .map(|k| format!("{prefix}-{k}").into())
        .collect();
    for queue in &names {
        declare_queue(channel, queue).await?;
    }
    let per_queue = count / u32::try_from(queues)?;
    let total = per_queue * u32::try_from(queues)?;
    let body = vec![b'x'; size];

    let start = Instant::now();
    let cpu = processor_time();
    for queue in &names {
        send_many(channel, queue, (0..per_queue).map(|_| body.as_slice())).await?;
    }
    let sent = rate(total, start.elapsed());
    let publish_cpu = micros_per_message(processor_time() - cpu, total);
    for queue in &names {
        wait_until_queued(channel, queue, per_queue).await?;
    }
    let queued = rate(total, start.elapsed());

    // Channels first, so that opening them is not timed.
    let mut channels = Vec::new();
    for _ in &names {
        channels.push(session.connection.create_channel().await?);
    }
    let start = Instant::now();
    let cpu = processor_time();
    let mut consumers = Vec::new();
    for (channel, queue) in channels.iter().zip(&names) {
        let mut consumer = receive(channel, queue).await?;
        consumers.push(tokio::spawn(async move {
            for _ in 0..per_queue {
                match consumer.next().await {
                    Some(delivery) => drop(delivery?),
                    None => bail!("the consumer ended early"),
                }
            }
            anyhow::Ok(())
        }));
    }
    for consumer in consumers {
        consumer.await??;
    }
    let consumed = rate(total, start.elapsed());
    let consume_cpu = micros_per_message(processor_time() - cpu, total);
    session.close().await?;
    Ok(Rates {
        sent,
        queued,
        consumed,
        publish_cpu,
        consume_cpu,
    })
}

/// Asks for the queue's length (a passive declare) until it is `count`.
async fn wait_until_queued(
    channel: &lapin::Channel,
    queue: &ShortString,
    count: u32,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    loop {
        let state = channel
            .queue_declare(queue.clone(), options, FieldTable::default())
            .await?;
        if state.message_count() >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} messages arrived in the queue",
                state.message_count()
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Runs `benches/pika_bench.py` and reads the rates it prints.
fn measure_pika(
    python: &Path,
    url: &str,
    prefix: &str,
    queues: usize,
    count: u32,
    size: usize,
) -> anyhow::Result<Rates> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pika_bench.py");
    let output = Command::new(python)
        .arg(&script)
        .args(["--url", url, "--queue", prefix])
        .args(["--queues", &queues.to_string()])
        .args([
            "--messages",
            &count.to_string(),
            "--size",
            &size.to_string(),
        ])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "pika_bench.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The script prints one line of `name=value` pairs.
    let field = |name: &str| -> anyhow::Result<f64> {
        stdout
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("no {name}= in pika_bench.py's output: {stdout}"))
    };
    Ok(Rates {
        sent: field("sent")?,
        queued: field("queued")?,
        consumed: field("consumed")?,
        publish_cpu: field("publish_cpu_us")?,
        consume_cpu: field("consume_cpu_us")?,
    })
}

/// A Python with pika: the one given, one that already has it, or a venv
/// under target/ with pika installed by pip (made once, then reused).
fn pika_python(given: Option<&Path>, may_install: bool) -> Result<PathBuf, String> {
    let has_pika = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pika"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if let Some(python) = given {
        return if has_pika(python) {
            Ok(python.to_path_buf())
        } else {
            Err(format!("{} cannot import pika", python.display()))
        };
    }
    // CARGO_TARGET_DIR is not known to a bench; the workspace's target/ is
    // two levels above the lessons' folders.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/pika-venv");
    let venv_python = venv.join("bin/python");
    for python in [venv_python.as_path(), Path::new("python3")] {
        if has_pika(python) {
            return Ok(python.to_path_buf());
        }
    }
    if !may_install {
        return Err("pika is not installed, and a smoke run installs nothing".into());
    }
    println!("pika is not installed: installing it into target/pika-venv ...");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|error| format!("python3 is not available: {error}"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&made.stderr).trim()
        ));
    }
    let pip = Command::new(&venv_python)
        .args(["-m", "pip", "install", "--quiet", "pika"])
        .output()
        .map_err(|error| format!("could not run pip: {error}"))?;
    if !pip.status.success() || !has_pika(&venv_python) {
        return Err(format!(
            "pip could not install pika: {}",
            String::from_utf8_lossy(&pip.stderr).trim()
        ));
    }
    Ok(venv_python)
}

/// Processor time this process has used so far, in all its threads (lapin's
/// IO thread and tokio's workers included; the broker is another process).
fn processor_time() -> Duration {
    // SAFETY: getrusage only writes the struct we hand it; all zeroes is a
    // valid `rusage`.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn micros_per_message(time: Duration, count: u32) -> f64 {
    time.as_secs_f64() * 1e6 / f64::from(count)
}

fn rate(count: u32, elapsed: Duration) -> f64 {
    f64::from(count) / elapsed.as_secs_f64()
}

/// The median rounds as a chart: publish and consume rates, and the
/// client's processor time per message, Rust beside pika in each layout.
/// pika's bars say "n/a" when it was skipped.
fn chart(results: &[(usize, Rates, Option<Rates>)], args: &Args) -> support::chart::Figure {
    use support::chart::{Bars, Figure};
    let mut groups = Vec::new();
    for &(queues, _, _) in results {
        groups.push(format!("published, {}", short_layout(queues)));
        groups.push(format!("consumed, {}", short_layout(queues)));
    }
    let mut speed = Bars::new(
        "Messages per second (more is better)",
        "messages/s",
        groups.clone(),
    );
    let mut cpu = Bars::new(
        "Client processor time per message (less is better)",
        "µs per message",
        groups,
    )
    .unit(" µs");
    for (name, side) in [("Rust (lapin)", 0), ("pika (Python)", 1)] {
        let pick = |&(_, rust, pika): &(usize, Rates, Option<Rates>)| {
            if side == 0 { Some(rust) } else { pika }
        };
        speed = speed.series(
            name,
            results
                .iter()
                .flat_map(|r| [pick(r).map(|r| r.sent), pick(r).map(|r| r.consumed)]),
        );
        cpu = cpu.series(
            name,
            results.iter().flat_map(|r| {
                [
                    pick(r).map(|r| r.publish_cpu),
                    pick(r).map(|r| r.consume_cpu),
                ]
            }),
        );
    }
    Figure::new("RabbitMQ: the lesson's client (lapin) and the notes' pika")
        .bars(speed)
        .bars(cpu)
        .note(&format!(
            "{} messages of {} B, median round of {}",
            thousands(f64::from(args.messages)),
            args.size,
            args.rounds
        ))
}
