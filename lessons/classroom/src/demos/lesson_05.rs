//! `just demo lesson-05`: one thread, many connections.
//!
//! The coroutine echo server runs on one worker thread. An interactive
//! client connects and types a line. While it stays connected, doing
//! nothing, the stress client opens 100 connections at once, sends 10
//! messages on each and checks every echo byte for byte. Then the first
//! client types a second line and gets it back: its coroutine was parked
//! the whole time, costing nothing, and the one thread served 101
//! connections.

use std::time::Duration;

use crate::Result;
use crate::demos::{Brokers, Demo, Needs};
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 5,
    about: "echo server on one thread: a typing client, and 100 connections x 10 messages checked",
    needs: Needs {
        rabbitmq: false,
        redis: false,
    },
    proves: &[
        ("server", "listening on 127.0.0.1:"),
        ("client", "echo: hello, coroutines"),
        ("stress", "connected at once: 100 of 100"),
        ("stress", "echoes matched:    1000 of 1000 byte for byte"),
        ("stress", "ok: every echo came back exactly"),
        ("client", "echo: still here after 1000 echoes"),
    ],
    run,
};

/// What the interactive client types, before and after the stress.
const FIRST_LINE: &str = "hello, coroutines";
const SECOND_LINE: &str = "still here after 1000 echoes";

/// Connections the stress client opens at once, and messages on each
/// (the numbers in `proves` are their product).
const CONNECTIONS: &str = "100";
const MESSAGES: &str = "10";

/// Generous bounds for a loaded machine; a normal run takes about a second.
const START: Duration = Duration::from_secs(20);
const REPLY: Duration = Duration::from_secs(10);
const STRESS: Duration = Duration::from_secs(60);

fn run(stage: &mut Stage, _brokers: &Brokers) -> Result<()> {
    stage.build(5, &["server", "client", "stress"])?;

    stage.narrate("the echo server: one worker thread, one coroutine per connection");
    stage.spawn("server", 5, "server", &args(&["--listen", "127.0.0.1:0"]))?;
    let line = stage.wait_for("server", "listening on", START)?;
    let addr = address_in(&line)?;

    stage.narrate(&format!(
        "an interactive client connects to {addr} and types a line"
    ));
    stage.spawn("client", 5, "client", &args(&["--server", &addr]))?;
    stage.type_line("client", FIRST_LINE)?;
    stage.wait_for("client", &format!("echo: {FIRST_LINE}"), REPLY)?;

    stage.narrate(&format!(
        "the client stays connected; meanwhile the stress client opens {CONNECTIONS} \
         connections at once and sends {MESSAGES} messages on each"
    ));
    stage.spawn(
        "stress",
        5,
        "stress",
        &args(&[
            "--server",
            &addr,
            "--connections",
            CONNECTIONS,
            "--messages",
            MESSAGES,
        ]),
    )?;
    let verdict = stage.wait_for("stress", "every echo came back", STRESS)?;
    let status = stage.wait_exit("stress", STRESS)?;
    if !verdict.starts_with("ok") || !status.success() {
        return Err(format!(
            "the stress client found missing or wrong echoes ({status})"
        ));
    }

    stage.narrate(
        "the first client was idle all along: its coroutine was parked, not lost. It types again",
    );
    stage.type_line("client", SECOND_LINE)?;
    stage.wait_for("client", &format!("echo: {SECOND_LINE}"), REPLY)?;

    stage.narrate("Ctrl-D: the client closes its side of the connection and exits");
    stage.close_input("client")?;
    let status = stage.wait_exit("client", REPLY)?;
    if !status.success() {
        return Err(format!("the client failed ({status})"));
    }

    stage.narrate("one thread served 101 connections; Ctrl-C stops the server");
    stage.stop("server")
}

/// The address in a `listening on ADDR` line.
fn address_in(line: &str) -> Result<String> {
    line.strip_prefix("listening on ")
        .map(|addr| addr.trim().to_string())
        .ok_or_else(|| format!("expected `listening on ADDR`, got `{line}`"))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| arg.to_string()).collect()
}
