//! `just demo lesson-13`: a direct exchange and three receivers bound with
//! different severities; then the headers exchange, with an `x-match=all`
//! and an `x-match=any` receiver. Who got what, message by message.
//!
//! As in lesson 12's demo, the last message of each part reaches every
//! receiver of that part; once each has printed it, it has printed all it
//! will get, and the demo compares that with what the bindings say.

use super::rabbit::{PATIENCE, Scratch, argv, received, run_once, start, stop};
use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 13,
    about: "direct: three receivers bound by severity; headers: x-match all and any",
    needs: Needs {
        rabbitmq: true,
        redis: false,
    },
    proves: &[
        ("errors", " [x] error: \"disk full\""),
        ("problems", " [x] warning: \"disk 80% full\""),
        ("console", " [x] info: \"service started\""),
        ("demo", "debug: \"cache miss\" went to nobody"),
        ("match-any", ": \"debug dump\""),
        ("match-all", ": \"monthly report\""),
        ("demo", "{format=zip}: \"archive\" went to nobody"),
    ],
    run,
};

/// The direct receivers: name and severities (one binding each).
const DIRECT: [(&str, &[&str]); 3] = [
    ("errors", &["error"]),
    ("problems", &["warning", "error"]),
    ("console", &["info", "warning", "error"]),
];

/// The direct messages: severity (the routing key) and text. The last one
/// reaches every receiver.
const SEVERITIES: [(&str, &str); 4] = [
    ("info", "service started"),
    ("warning", "disk 80% full"),
    ("debug", "cache miss"),
    ("error", "disk full"),
];

/// The headers receivers: name and `--match`; both look for these headers.
const HEADERS_RECEIVERS: [(&str, &str); 2] = [("match-all", "all"), ("match-any", "any")];
const WANTED_HEADERS: [&str; 2] = ["format=pdf", "type=report"];

/// The headers messages, and which receivers must get each. The last one
/// reaches both.
const WITH_HEADERS: [(&[&str], &str, &[&str]); 3] = [
    (&["format=pdf", "type=log"], "debug dump", &["match-any"]),
    (&["format=zip"], "archive", &[]),
    (
        &["format=pdf", "type=report"],
        "monthly report",
        &["match-all", "match-any"],
    ),
];

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(
        13,
        &[
            "receive-logs-direct",
            "emit-log-direct",
            "receive-logs-headers",
            "emit-log-headers",
        ],
    )?;
    let url = brokers.amqp_url.as_str();
    let mut scratch = Scratch::new(url);
    direct(stage, url, &scratch.exchange("direct_logs"))?;
    headers(stage, url, &scratch.exchange("headers_logs"))?;
    Ok(())
}

fn direct(stage: &mut Stage, url: &str, exchange: &str) -> Result<()> {
    let with_exchange = argv(["--url", url, "--exchange", exchange]);
    stage.narrate(&format!(
        "three receivers on the direct exchange {exchange} (the lesson's `direct_logs`), \
         one binding per severity they want"
    ));
    for (name, severities) in DIRECT {
        let mut args = with_exchange.clone();
        args.extend(severities.iter().map(|s| s.to_string()));
        start(
            stage,
            name,
            (13, "receive-logs-direct"),
            &args,
            "Waiting for logs",
        )?;
    }
    stage.narrate("four messages, the severity as routing key; nobody is bound with `debug`");
    for (severity, text) in SEVERITIES {
        let mut args = with_exchange.clone();
        args.extend([severity.to_string(), text.to_string()]);
        run_once(stage, "emit", (13, "emit-log-direct"), &args, "Sent")?;
    }
    let (last_severity, last_text) = SEVERITIES[SEVERITIES.len() - 1];
    let last = format!("{last_severity}: {last_text:?}");
    for (name, _) in DIRECT {
        stage.wait_for(name, &last, PATIENCE)?;
    }

    stage.narrate("who got what:");
    for (name, severities) in DIRECT {
        let wanted: Vec<String> = SEVERITIES
            .iter()
            .filter(|(severity, _)| severities.contains(severity))
            .map(|(severity, text)| format!("{severity}: {text:?}"))
            .collect();
        let got = received(stage, name);
        if got != wanted {
            return Err(format!("{name} got {got:?}, not {wanted:?}"));
        }
        stage.narrate(&format!(
            "  {name} (bound with {}) got {}",
            severities.join(", "),
            got.join(", ")
        ));
    }
    for (severity, text) in SEVERITIES {
        if !DIRECT.iter().any(|(_, keys)| keys.contains(&severity)) {
            stage.narrate(&format!(
                "  {severity}: {text:?} went to nobody: no queue is bound with that key, \
                 so the exchange dropped it"
            ));
        }
    }
    for (name, _) in DIRECT {
        stop(stage, name)?;
    }
    Ok(())
}

fn headers(stage: &mut Stage, url: &str, exchange: &str) -> Result<()> {
    let with_exchange = argv(["--url", url, "--exchange", exchange]);
    stage.narrate(&format!(
        "the headers exchange {exchange} (the lesson's `headers_logs`): two receivers \
         look for {}, one with x-match=all, one with x-match=any",
        WANTED_HEADERS.join(" and ")
    ));
    for (name, x_match) in HEADERS_RECEIVERS {
        let mut args = with_exchange.clone();
        args.extend(["--match".to_string(), x_match.to_string()]);
        args.extend(WANTED_HEADERS.iter().map(|h| h.to_string()));
        start(
            stage,
            name,
            (13, "receive-logs-headers"),
            &args,
            "Waiting for logs",
        )?;
    }
    stage.narrate("three messages with headers (-H); the routing key plays no part");
    for (headers, text, _) in WITH_HEADERS {
        let mut args = with_exchange.clone();
        for header in headers {
            args.extend(["-H".to_string(), header.to_string()]);
        }
        args.push(text.to_string());
        run_once(stage, "emit", (13, "emit-log-headers"), &args, "Sent")?;
    }
    let last = format!("{:?}", WITH_HEADERS[WITH_HEADERS.len() - 1].1);
    for (name, _) in HEADERS_RECEIVERS {
        stage.wait_for(name, &last, PATIENCE)?;
    }

    stage.narrate("who got what:");
    for (name, x_match) in HEADERS_RECEIVERS {
        let wanted: Vec<String> = WITH_HEADERS
            .iter()
            .filter(|(_, _, to)| to.contains(&name))
            .map(|(_, text, _)| format!("{text:?}"))
            .collect();
        // A line is `{format=pdf, type=log}: "debug dump"`: compare the texts.
        let got: Vec<String> = received(stage, name)
            .iter()
            .filter_map(|line| line.rsplit_once(": ").map(|(_, text)| text.to_string()))
            .collect();
        if got != wanted {
            return Err(format!("{name} got {got:?}, not {wanted:?}"));
        }
        stage.narrate(&format!(
            "  {name} (x-match={x_match}) got {}",
            got.join(", ")
        ));
    }
    for (headers, text, to) in WITH_HEADERS {
        if to.is_empty() {
            stage.narrate(&format!(
                "  {{{}}}: {text:?} went to nobody: it has neither format=pdf nor type=report",
                headers.join(", ")
            ));
        }
    }
    for (name, _) in HEADERS_RECEIVERS {
        stop(stage, name)?;
    }
    Ok(())
}
