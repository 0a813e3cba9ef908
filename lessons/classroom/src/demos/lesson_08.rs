//! `just demo lesson-08`: the select(2) server and the notes' client.
//!
//! The server runs one loop on one thread and prints each connection, each
//! message received and each reply sent. The notes' client opens two
//! sockets and sends a message in three parts: each part on both sockets,
//! then each socket's reply. The script then reads the client's lines back
//! and checks, socket by socket, that every part came back in upper case,
//! in order, on the socket that sent it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Result;
use crate::demos::{Brokers, Demo, Needs};
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 8,
    about: "select(2) server: two sockets send a message in three parts, each gets its upper-case replies",
    needs: Needs {
        rabbitmq: false,
        redis: false,
    },
    proves: &[
        ("server", "listening on 127.0.0.1:"),
        ("server", "new connection from 127.0.0.1:"),
        ("server", "sending b\"THIS IS THE MESSAGE. \" to"),
        ("client", "received \"THIS IS THE MESSAGE. \""),
        ("client", "received \"IT WILL BE SENT \""),
        ("client", "received \"IN PARTS.\""),
        ("client", "closing 2 sockets"),
        ("server", "closed the connection"),
        ("demo", "each of the 2 sockets got its own 3 replies"),
    ],
    run,
};

/// The notes' client uses two sockets.
const SOCKETS: usize = 2;

/// Generous bounds for a loaded machine; a normal run takes a fraction of a
/// second.
const START: Duration = Duration::from_secs(20);
const RUN: Duration = Duration::from_secs(30);

fn run(stage: &mut Stage, _brokers: &Brokers) -> Result<()> {
    stage.build(8, &["server", "client"])?;

    stage.narrate(
        "the select(2) server: one thread, one loop; it prints each connection, message and reply",
    );
    stage.spawn(
        "server",
        8,
        "server",
        &["--listen".to_string(), "127.0.0.1:0".to_string()],
    )?;
    let line = stage.wait_for("server", "listening on", START)?;
    let addr = line
        .strip_prefix("listening on ")
        .map(str::trim)
        .ok_or_else(|| format!("expected `listening on ADDR`, got `{line}`"))?
        .to_string();

    stage.narrate(
        "the notes' client: two sockets; each part of the message goes out on both, \
         then each socket reads its reply",
    );
    stage.spawn(
        "client",
        8,
        "client",
        &[
            "--connect".to_string(),
            addr,
            "--sockets".to_string(),
            SOCKETS.to_string(),
        ],
    )?;
    stage.wait_for("client", "closing", RUN)?;
    let status = stage.wait_exit("client", RUN)?;
    if !status.success() {
        return Err(format!("the client failed ({status})"));
    }
    // The server's side of the goodbye: a zero-byte read on each socket.
    for _ in 0..SOCKETS {
        stage.wait_for("server", "closed the connection", RUN)?;
    }

    let sockets = replies_per_socket(&stage.lines_of("client"))?;
    let parts = sockets.values().next().map_or(0, Vec::len);
    stage.narrate(&format!(
        "each of the {} sockets got its own {parts} replies, in upper case and in order: {}",
        sockets.len(),
        sockets.keys().cloned().collect::<Vec<_>>().join(" and ")
    ));
    stage.narrate("Ctrl-C stops the server");
    stage.stop("server")
}

/// Reads the client's `ADDR: sending "..."` and `ADDR: received "..."`
/// lines and checks, for each socket, that the replies are its own parts
/// in upper case, in the order it sent them. Returns each socket's parts.
fn replies_per_socket(lines: &[String]) -> Result<BTreeMap<String, Vec<String>>> {
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        if let Some((socket, text)) = quoted_after(line, ": sending ") {
            sent.entry(socket).or_default().push(text);
        } else if let Some((socket, text)) = quoted_after(line, ": received ") {
            received.entry(socket).or_default().push(text);
        }
    }
    if sent.len() != SOCKETS {
        return Err(format!(
            "expected {SOCKETS} sockets to send, saw {}",
            sent.len()
        ));
    }
    for (socket, parts) in &sent {
        let expected: Vec<String> = parts.iter().map(|p| p.to_uppercase()).collect();
        let got = received.get(socket).cloned().unwrap_or_default();
        if got != expected {
            return Err(format!(
                "socket {socket} sent {parts:?} and received {got:?}, not {expected:?}"
            ));
        }
    }
    Ok(sent)
}

/// Splits `ADDR<marker>"TEXT"` into the address and the text.
fn quoted_after(line: &str, marker: &str) -> Option<(String, String)> {
    let (socket, rest) = line.split_once(marker)?;
    let text = rest.strip_prefix('"')?.strip_suffix('"')?;
    Some((socket.to_string(), text.to_string()))
}
