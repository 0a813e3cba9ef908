//! `just demo lesson-14`: three receivers on a topic exchange, each bound
//! with one pattern, and six routing keys chosen where the wildcards show
//! what they mean: `*` is exactly one word, `#` is zero or more words, and
//! neither matches characters inside a word (the notes say otherwise).
//!
//! As in lesson 12's demo, the last message reaches every receiver; once
//! each has printed it, it has printed all it will get.

use super::rabbit::{PATIENCE, Scratch, argv, received, run_once, start, stop};
use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 14,
    about: "topic: `*` is exactly one word, `#` zero or more words; who got which key",
    needs: Needs {
        rabbitmq: true,
        redis: false,
    },
    proves: &[
        ("*.critical", " [x] cron.critical: "),
        ("#.critical", " [x] critical: "),
        ("#.critical", " [x] kern.disk.critical: "),
        ("kern.#", " [x] kern: "),
        ("demo", "kernel.info went to nobody"),
        ("demo", "*.critical got cron.critical, kern.critical"),
    ],
    run,
};

/// The receivers, named by their one pattern.
const PATTERNS: [&str; 3] = ["*.critical", "#.critical", "kern.#"];

/// The routing keys, what each message says, and which patterns match it.
/// The last one matches all three.
const KEYS: [(&str, &str, &[&str]); 6] = [
    (
        "critical",
        "no word before critical",
        &["#.critical"], // `#` took zero words; `*` needs exactly one
    ),
    ("kern", "no word after kern", &["kern.#"]), // `#` took zero words
    (
        "kern.disk.critical",
        "two words before critical",
        &["#.critical", "kern.#"], // `*` takes one word, not two
    ),
    (
        "cron.critical",
        "one word before critical",
        &["*.critical", "#.critical"],
    ),
    ("kernel.info", "kernel is not kern", &[]), // words, not characters
    (
        "kern.critical",
        "everyone wants this one",
        &["*.critical", "#.critical", "kern.#"],
    ),
];

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(14, &["receive-logs-topic", "emit-log-topic"])?;
    let url = brokers.amqp_url.as_str();
    let mut scratch = Scratch::new(url);
    let exchange = scratch.exchange("topic_logs");
    let with_exchange = argv(["--url", url, "--exchange", &exchange]);

    stage.narrate(&format!(
        "three receivers on the topic exchange {exchange} (the lesson's `topic_logs`), \
         each named by its pattern"
    ));
    for pattern in PATTERNS {
        let mut args = with_exchange.clone();
        args.push(pattern.to_string());
        start(
            stage,
            pattern,
            (14, "receive-logs-topic"),
            &args,
            "Waiting for logs",
        )?;
    }
    stage.narrate("six messages; a routing key is words separated by dots");
    for (key, text, _) in KEYS {
        let mut args = with_exchange.clone();
        args.extend([key.to_string(), text.to_string()]);
        run_once(stage, "emit", (14, "emit-log-topic"), &args, "Sent")?;
    }
    let (last_key, last_text, _) = KEYS[KEYS.len() - 1];
    let last = format!("{last_key}: {last_text:?}");
    for pattern in PATTERNS {
        stage.wait_for(pattern, &last, PATIENCE)?;
    }

    stage.narrate("who got which key:");
    for pattern in PATTERNS {
        let wanted: Vec<&str> = KEYS
            .iter()
            .filter(|(_, _, matched_by)| matched_by.contains(&pattern))
            .map(|(key, _, _)| *key)
            .collect();
        // A line is `kern.critical: "..." (matched kern.#)`: the key is
        // everything before the first `: `.
        let got: Vec<String> = received(stage, pattern)
            .iter()
            .filter_map(|line| line.split_once(": ").map(|(key, _)| key.to_string()))
            .collect();
        if got != wanted {
            return Err(format!("{pattern} got {got:?}, not {wanted:?}"));
        }
        stage.narrate(&format!("  {pattern} got {}", got.join(", ")));
    }
    for (key, _, matched_by) in KEYS {
        if matched_by.is_empty() {
            stage.narrate(&format!(
                "  {key} went to nobody: `kern.#` wants the word `kern`, and `kernel` is \
                 another word (the notes read the wildcards as characters: they are wrong)"
            ));
        }
    }
    stage.narrate(
        "`*` is exactly one word: *.critical took cron.critical and kern.critical, \
         not critical (no word) nor kern.disk.critical (two words)",
    );
    stage.narrate(
        "`#` is zero or more words: #.critical took critical (zero) and \
         kern.disk.critical (two); kern.# took kern (zero)",
    );
    for pattern in PATTERNS {
        stop(stage, pattern)?;
    }
    Ok(())
}
