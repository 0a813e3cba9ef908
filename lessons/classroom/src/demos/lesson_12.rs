//! `just demo lesson-12`: a fanout exchange gives every subscriber every
//! message; a subscriber that joins late gets only what comes after it.
//!
//! How the demo knows who got what, and not merely what arrived so far:
//! the messages are published one after another, each `emit-log` closing
//! its connection (so the broker has routed its message) before the next
//! starts, and a queue hands out messages in the order they came. The last
//! message reaches every subscriber, so once each has printed it, each has
//! printed everything it will ever get from this demo.

use super::rabbit::{PATIENCE, Scratch, argv, received, run_once, start, stop};
use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 12,
    about: "fanout: two subscribers get every message, a late one only what comes after it",
    needs: Needs {
        rabbitmq: true,
        redis: false,
    },
    proves: &[
        ("sub-1", " [x] \"info: the demo begins\""),
        ("sub-2", " [x] \"info: the demo begins\""),
        ("late-sub", " [x] \"error: disk full\""),
        ("demo", "late-sub got 1: \"error: disk full\""),
    ],
    run,
};

/// Who is subscribed when, and what each must get.
const EARLY: [&str; 2] = ["info: the demo begins", "warning: disk 80% full"];
const LAST: &str = "error: disk full";

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(12, &["receive-logs", "emit-log"])?;
    let url = brokers.amqp_url.as_str();
    let mut scratch = Scratch::new(url);
    let exchange = scratch.exchange("logs");
    let with_exchange = argv(["--url", url, "--exchange", &exchange]);
    let receiver = (12, "receive-logs");

    stage.narrate(&format!(
        "two subscribers, each with an exclusive queue of its own bound to the fanout \
         exchange {exchange} (the lesson's `logs`)"
    ));
    for sub in ["sub-1", "sub-2"] {
        start(stage, sub, receiver, &with_exchange, "Waiting for logs")?;
    }
    stage.narrate("two messages: a fanout exchange copies each into every bound queue");
    for message in EARLY {
        emit(stage, &with_exchange, message)?;
    }
    stage.narrate("a third subscriber joins late: the exchange kept nothing for it");
    start(
        stage,
        "late-sub",
        receiver,
        &with_exchange,
        "Waiting for logs",
    )?;
    emit(stage, &with_exchange, LAST)?;
    for sub in ["sub-1", "sub-2", "late-sub"] {
        stage.wait_for(sub, LAST, PATIENCE)?;
    }

    let everything: Vec<&str> = EARLY.iter().copied().chain([LAST]).collect();
    let expected: [(&str, &[&str]); 3] = [
        ("sub-1", &everything),
        ("sub-2", &everything),
        ("late-sub", &[LAST]),
    ];
    for (sub, wanted) in expected {
        let got = received(stage, sub);
        let wanted: Vec<String> = wanted.iter().map(|m| format!("{m:?}")).collect();
        if got != wanted {
            return Err(format!("{sub} got {got:?}, not {wanted:?}"));
        }
        stage.narrate(&format!("{sub} got {}: {}", got.len(), got.join(", ")));
    }
    for sub in ["sub-1", "sub-2", "late-sub"] {
        stop(stage, sub)?;
    }
    stage.narrate("their queues were exclusive: they went away with them");
    Ok(())
}

fn emit(stage: &mut Stage, with_exchange: &[String], message: &str) -> Result<()> {
    let mut args = with_exchange.to_vec();
    args.push(message.to_string());
    run_once(stage, "emit-log", (12, "emit-log"), &args, "Sent").map(drop)
}
