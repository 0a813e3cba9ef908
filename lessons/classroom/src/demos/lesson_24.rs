//! Lesson 24's demo: `just demo lesson-24`.
//!
//! Two listeners tune in to the radio channel `fm104.5`: `subscriber` to
//! the channel only; `scanner`, the same program with `--pattern`, to the
//! channel and to the pattern `fm*`, like a radio scanner. A message goes
//! out on another station, fm99.1, then five on fm104.5, and a latecomer
//! publishes once everybody has hung up. The script checks what each
//! listener heard:
//!
//! - `subscriber` got all five messages, in the order they were sent, and
//!   nothing from fm99.1;
//! - `scanner` got each of them twice (once per subscription: the channel
//!   and the pattern, which PUBLISH counts as 3 deliveries in all) and
//!   fm99.1's message, which only the pattern matches;
//! - the latecomer's message reached nobody and is gone.
//!
//! The channels get a prefix of the demo's own (`demo-<pid>.fm104.5`):
//! pub/sub channels are shared by every client of the server, whatever the
//! database, so this keeps a student's own subscribers on fm104.5 out of
//! the demo, and the demo out of them.

use std::time::Duration;

use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 24,
    about: "a subscriber and a pattern subscriber on fm104.5; a publisher sends five messages",
    needs: Needs {
        rabbitmq: false,
        redis: true,
    },
    proves: &[
        ("subscriber", "fm104.5: message 1"),
        ("subscriber", "fm104.5: message 5"),
        ("subscriber", "received 5 message(s)"),
        (
            "demo",
            "subscriber heard all 5 messages, in the order they were published",
        ),
        ("publisher", "delivered to 3 subscription(s)"),
        ("scanner", "fm104.5 (pattern"),
        ("scanner", "fm99.1 (pattern"),
        ("scanner", "received 11 message(s)"),
        ("publisher2", "delivered to 1 subscription(s)"),
        ("latecomer", "delivered to 0 subscription(s)"),
    ],
    run,
};

/// How many messages the publisher sends on fm104.5.
const MESSAGES: usize = 5;

/// Bounds every wait: a lost message ends the demo with an error instead
/// of hanging it.
const WAIT: Duration = Duration::from_secs(20);

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(24, &["publisher", "subscriber"])?;
    let station = format!("demo-{}", std::process::id());
    let fm104 = format!("{station}.fm104.5");
    let fm99 = format!("{station}.fm99.1");
    let every_fm = format!("{station}.fm*");
    let url = brokers.redis_url.as_str();
    stage.narrate(&format!(
        "the channels are called {station}.<station>, so that programs you may have \
         running on fm104.5 neither hear this demo nor disturb it"
    ));

    stage.narrate("subscriber tunes in to fm104.5, and will stop after 5 messages");
    let count = MESSAGES.to_string();
    stage.spawn(
        "subscriber",
        24,
        "subscriber",
        &args(&["--url", url, "--channel", &fm104, "--count", &count]),
    )?;
    // The subscriber prints this line only once Redis has confirmed the
    // subscription: from then on, nothing published on fm104.5 is missed.
    stage.wait_for("subscriber", "subscribed to", WAIT)?;

    stage.narrate(
        "scanner (the same program, with --pattern) tunes in to fm104.5 and also to \
         the pattern fm*: every channel whose name starts with fm",
    );
    // Each fm104.5 message reaches it twice, plus the one on fm99.1.
    let heard_by_pattern = (2 * MESSAGES + 1).to_string();
    stage.spawn(
        "scanner",
        24,
        "subscriber",
        &args(&[
            "--url",
            url,
            "--channel",
            &fm104,
            "--pattern",
            &every_fm,
            "--count",
            &heard_by_pattern,
        ]),
    )?;
    stage.wait_for("scanner", "subscribed to", WAIT)?;

    stage.narrate(
        "publisher2 sends a message on another station, fm99.1: only the pattern matches it",
    );
    stage.spawn(
        "publisher2",
        24,
        "publisher",
        &args(&["--url", url, "--channel", &fm99, "traffic news"]),
    )?;
    expect_success(stage, "publisher2")?;

    stage.narrate("publisher sends 5 messages on fm104.5");
    stage.spawn(
        "publisher",
        24,
        "publisher",
        &args(&["--url", url, "--channel", &fm104, "--count", &count]),
    )?;
    expect_success(stage, "publisher")?;

    expect_success(stage, "subscriber")?;
    let lines = stage.lines_of("subscriber");
    let heard = payloads_on(&lines, &format!("{fm104}: "));
    let sent: Vec<String> = (1..=MESSAGES).map(|i| format!("message {i}")).collect();
    if heard != sent || lines.iter().any(|line| line.contains(&fm99)) {
        return Err(format!(
            "subscriber should have heard {sent:?}, in that order, and nothing from \
             fm99.1, but it printed {lines:?}"
        ));
    }
    stage.narrate(&format!(
        "subscriber heard all {MESSAGES} messages, in the order they were published, \
         and nothing from fm99.1"
    ));

    expect_success(stage, "scanner")?;
    let lines = stage.lines_of("scanner");
    let direct = payloads_on(&lines, &format!("{fm104}: "));
    let through_pattern = payloads_on(&lines, &format!("{fm104} (pattern {every_fm}): "));
    let other_station = payloads_on(&lines, &format!("{fm99} (pattern {every_fm}): "));
    if direct != sent || through_pattern != sent || other_station != ["traffic news"] {
        return Err(format!(
            "scanner should have heard every fm104.5 message twice and fm99.1's once; \
             it heard {direct:?} on the channel, {through_pattern:?} through the pattern \
             and {other_station:?} from fm99.1"
        ));
    }
    stage.narrate(
        "what the pattern added: scanner heard every fm104.5 message twice, once for \
         the channel and once for the pattern (PUBLISH counted 3 subscriptions), and \
         fm99.1's message, which subscriber never saw",
    );

    stage.narrate("both listeners have hung up; a latecomer publishes on fm104.5");
    stage.spawn(
        "latecomer",
        24,
        "publisher",
        &args(&["--url", url, "--channel", &fm104, "is anyone there?"]),
    )?;
    expect_success(stage, "latecomer")?;
    stage.narrate(
        "nobody was listening, so the message is gone: Redis keeps nothing for \
         subscribers that tune in later (use a list or a queue for that)",
    );
    Ok(())
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| arg.to_string()).collect()
}

/// Waits for a program to end by itself, and insists that it succeeded.
fn expect_success(stage: &mut Stage, actor: &str) -> Result<()> {
    let status = stage.wait_exit(actor, WAIT)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{actor} failed ({status})"))
    }
}

/// The payloads of the lines that start with `prefix`
/// (`<channel>: <payload>`, as the subscriber prints a message), in order.
fn payloads_on(lines: &[String], prefix: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(str::to_string)
        .collect()
}
