//! `just bench rabbitmq`: how fast this lesson's code publishes and consumes,
//! next to the notes' Python client, pika, doing the same work in the same
//! run against the same throwaway broker.
//!
//! ```text
//! just bench rabbitmq                       # 100,000 messages of 100 bytes
//! just bench rabbitmq --messages 20000 --size 1000
//! ```
//!
//! Each side publishes N messages to a queue of its own through the default
//! exchange (as `send` does), counted as done when the broker reports all N
//! in the queue; then consumes them with automatic acks (as `receive` does),
//! counted as done when the N-th has arrived. pika is run from
//! `benches/pika_bench.py`; if it is not installed, the bench installs it
//! into a virtual environment under `target/`, and if that fails too it says
//! "skipped" and prints the Rust numbers alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_lite::StreamExt;
use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use lesson_10_hello_world::{declare_queue, receive, send_many};
use support::amqp::Session;
use support::testkit::RabbitMq;

/// Publish and consume rates: lesson code (lapin) against pika.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many messages each side publishes and consumes.
    #[arg(long, default_value_t = 100_000)]
    messages: u32,
    /// The size of each message body, in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// The Python interpreter that runs the pika side (default: a venv
    /// under target/ with pika in it, made on first use).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What one side measured.
struct Rates {
    publish: f64,
    consume: f64,
}

/// The issue's targets: lesson code against pika in the same run.
const PUBLISH_TARGET: f64 = 3.0;
const CONSUME_TARGET: f64 = 1.5;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    println!("Starting a throwaway RabbitMQ...");
    let rabbit = RabbitMq::start().context("starting a throwaway rabbitmq-server")?;
    println!(
        "{} messages of {} bytes each, publish then consume (auto-ack), one connection each side\n",
        args.messages, args.size
    );

    let runtime = tokio::runtime::Runtime::new()?;
    let rust = runtime.block_on(measure_rust(&rabbit.url(), args.messages, args.size))?;
    let python = match pika_python(args.python.as_deref()) {
        Ok(python) => Some(measure_pika(
            &python,
            &rabbit.url(),
            args.messages,
            args.size,
        )),
        Err(reason) => {
            println!("pika: skipped ({reason})\n");
            None
        }
    };

    println!("{:<28} {:>14} {:>14}", "", "publish/s", "consume/s");
    println!(
        "{:<28} {:>14} {:>14}",
        "lesson code (Rust, lapin)",
        thousands(rust.publish),
        thousands(rust.consume)
    );
    match python {
        Some(Ok(pika)) => {
            println!(
                "{:<28} {:>14} {:>14}",
                "pika (Python)",
                thousands(pika.publish),
                thousands(pika.consume)
            );
            let publish = rust.publish / pika.publish;
            let consume = rust.consume / pika.consume;
            println!(
                "{:<28} {:>13.1}x {:>13.1}x",
                "Rust / pika", publish, consume
            );
            println!(
                "{:<28} {:>13.1}x {:>13.1}x",
                "target", PUBLISH_TARGET, CONSUME_TARGET
            );
            let verdict = |ratio: f64, target: f64| if ratio >= target { "met" } else { "NOT met" };
            println!(
                "\npublish target {}, consume target {} (numbers are noisy on a shared machine: run it twice)",
                verdict(publish, PUBLISH_TARGET),
                verdict(consume, CONSUME_TARGET)
            );
        }
        Some(Err(error)) => println!("pika: failed: {error:#}"),
        None => {}
    }
    Ok(())
}

/// Publishes then consumes `count` messages with the lesson's own functions.
async fn measure_rust(url: &str, count: u32, size: usize) -> anyhow::Result<Rates> {
    let session = Session::open(url).await?;
    let channel = &session.channel;
    let queue: ShortString = "bench-rust".into();
    declare_queue(channel, &queue).await?;
    let body = vec![b'x'; size];

    let start = Instant::now();
    send_many(channel, &queue, (0..count).map(|_| body.as_slice())).await?;
    wait_until_queued(channel, &queue, count).await?;
    let publish = rate(count, start.elapsed());

    let start = Instant::now();
    let mut consumer = receive(channel, &queue).await?;
    for _ in 0..count {
        match consumer.next().await {
            Some(delivery) => drop(delivery?),
            None => bail!("the consumer ended early"),
        }
    }
    let consume = rate(count, start.elapsed());
    session.close().await?;
    Ok(Rates { publish, consume })
}

/// Publishing is done when the broker has every message in the queue: asks
/// for the queue's length (a passive declare) until it is `count`.
async fn wait_until_queued(
    channel: &lapin::Channel,
    queue: &ShortString,
    count: u32,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
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
    }
}

/// Runs `benches/pika_bench.py` and reads the two rates it prints.
fn measure_pika(python: &Path, url: &str, count: u32, size: usize) -> anyhow::Result<Rates> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pika_bench.py");
    let output = Command::new(python)
        .arg(&script)
        .args(["--url", url, "--queue", "bench-pika"])
        .args([
            "--messages",
            &count.to_string(),
            "--size",
            &size.to_string(),
        ])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The script prints one line: `publish=<rate> consume=<rate>`.
    let field = |name: &str| -> anyhow::Result<f64> {
        stdout
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("no {name}= in pika_bench.py's output: {stdout}"))
    };
    Ok(Rates {
        publish: field("publish")?,
        consume: field("consume")?,
    })
}

/// A Python with pika: the one given, one that already has it, or a venv
/// under target/ with pika installed by pip (made once, then reused).
fn pika_python(given: Option<&Path>) -> Result<PathBuf, String> {
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
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/pika-venv");
    let venv_python = venv.join("bin/python");
    for python in [venv_python.as_path(), Path::new("python3")] {
        if has_pika(python) {
            return Ok(python.to_path_buf());
        }
    }
    println!(
        "pika is not installed: installing it into {} ...",
        venv.display()
    );
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

fn rate(count: u32, elapsed: Duration) -> f64 {
    f64::from(count) / elapsed.as_secs_f64()
}

/// 16600.4 -> "16,600".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
