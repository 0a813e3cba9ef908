//! The stress client: many connections at once, every echo checked.
//!
//! Not the lesson's idea (that is the server in `lib.rs`), but its proof:
//! [`run`] opens every connection first, then has them all send together,
//! and reports what came back, byte for byte.
//!
//! Run it against a server: `just run lesson-05 stress --connections 1000`.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use may::net::TcpStream;

// ANCHOR: message
/// The `index`-th message of connection `connection`: `size` bytes that
/// start with who sent it and go on with a pattern that depends on both,
/// so an echo that comes back to the wrong client, out of order or with a
/// byte changed does not match.
pub fn message(connection: usize, index: usize, size: usize) -> Vec<u8> {
    let mut bytes = format!("conn {connection} msg {index}:").into_bytes();
    let seed = connection
        .wrapping_mul(31)
        .wrapping_add(index.wrapping_mul(7));
    let mut position = bytes.len();
    while bytes.len() < size {
        bytes.push(b'a' + ((seed + position) % 26) as u8);
        position += 1;
    }
    bytes.truncate(size.max(1));
    bytes
}
// ANCHOR_END: message

/// What one stress connection saw.
#[derive(Debug, Default)]
pub struct ConnectionReport {
    /// One entry per message that came back, equal or not.
    pub latencies: Vec<Duration>,
    /// Echoes that came back different from what was sent.
    pub mismatches: usize,
    /// Why the connection stopped early, if it did.
    pub error: Option<String>,
}

/// The stress client's settings.
#[derive(Debug, Clone)]
pub struct StressPlan {
    pub server: SocketAddr,
    pub connections: usize,
    pub messages: usize,
    pub size: usize,
    /// How long one echo may take before the connection counts as failed.
    pub timeout: Duration,
}

/// The stress client's findings.
#[derive(Debug)]
pub struct StressReport {
    pub plan: StressPlan,
    /// Connections that were open at the same moment, before the first
    /// message was sent.
    pub connected: usize,
    /// Echoes that matched byte for byte.
    pub matched: usize,
    pub mismatches: usize,
    /// Every connection error, with its connection's number.
    pub errors: Vec<String>,
    /// From the first message sent to the last echo received.
    pub elapsed: Duration,
    /// Every round trip's time, sorted.
    pub latencies: Vec<Duration>,
}

impl StressReport {
    /// Whether every message of every connection came back exactly.
    pub fn all_matched(&self) -> bool {
        self.matched == self.plan.connections * self.plan.messages
    }

    /// Round trips per second over the whole run.
    pub fn round_trips_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The round-trip time that `percent` % of round trips beat (zero when
    /// none came back).
    pub fn percentile(&self, percent: f64) -> Duration {
        support::stats::percentile(&self.latencies, percent).unwrap_or_default()
    }
}

// ANCHOR: stress
/// Opens `connections` connections, all at once, waits until every one is
/// connected, then has each send `messages` messages one after another,
/// reading each echo back in full and comparing it byte for byte.
///
/// Every connection is a coroutine: a hundred blocking-style clients on
/// one thread.
pub fn run(plan: &StressPlan) -> StressReport {
    let (report_tx, report_rx) = may::sync::mpsc::channel();
    let (ready_tx, ready_rx) = may::sync::mpsc::channel();
    // Fired when every connection is open: all start sending together.
    let start = std::sync::Arc::new(may::sync::SyncFlag::new());

    for id in 0..plan.connections {
        let (plan, reports, ready, start) = (
            plan.clone(),
            report_tx.clone(),
            ready_tx.clone(),
            start.clone(),
        );
        let spawned = may::go!(may::coroutine::Builder::new(), move || {
            let report = match TcpStream::connect(plan.server) {
                Ok(stream) => {
                    let _ = ready.send(true);
                    start.wait();
                    run_connection(stream, id, &plan)
                }
                Err(error) => {
                    let _ = ready.send(false);
                    ConnectionReport {
                        error: Some(format!("connect: {error}")),
                        ..ConnectionReport::default()
                    }
                }
            };
            let _ = reports.send((id, report));
        });
        if let Err(error) = spawned {
            let report = ConnectionReport {
                error: Some(format!("no coroutine: {error}")),
                ..ConnectionReport::default()
            };
            let _ = ready_tx.send(false);
            let _ = report_tx.send((id, report));
        }
    }
    drop((report_tx, ready_tx));

    let connected = ready_rx
        .iter()
        .take(plan.connections)
        .filter(|ok| *ok)
        .count();
    let began = Instant::now();
    start.fire();

    let mut report = StressReport {
        plan: plan.clone(),
        connected,
        matched: 0,
        mismatches: 0,
        errors: Vec::new(),
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(plan.connections * plan.messages),
    };
    for (id, connection) in report_rx.iter().take(plan.connections) {
        report.mismatches += connection.mismatches;
        report.matched += connection.latencies.len() - connection.mismatches;
        report.latencies.extend(connection.latencies);
        if let Some(error) = connection.error {
            report.errors.push(format!("connection {id}: {error}"));
        }
    }
    report.elapsed = began.elapsed();
    report.latencies.sort_unstable();
    report.errors.sort();
    report
}
// ANCHOR_END: stress

// ANCHOR: run_connection
/// One stress connection: send, read the whole echo back, compare; repeat.
fn run_connection(mut stream: TcpStream, id: usize, plan: &StressPlan) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    if let Err(error) = stream.set_read_timeout(Some(plan.timeout)) {
        report.error = Some(format!("set timeout: {error}"));
        return report;
    }
    let mut echo = vec![0u8; plan.size];
    for index in 0..plan.messages {
        let sent = message(id, index, plan.size);
        let began = Instant::now();
        // TCP is a byte stream: the echo may arrive in several pieces, so
        // read exactly as many bytes as were sent, however they come.
        // (The notes' client reads once with recv(1024) and hopes.)
        let result = stream
            .write_all(&sent)
            .and_then(|()| stream.read_exact(&mut echo[..sent.len()]));
        if let Err(error) = result {
            report.error = Some(format!("message {index}: {error}"));
            break;
        }
        report.latencies.push(began.elapsed());
        if echo[..sent.len()] != sent[..] {
            report.mismatches += 1;
        }
    }
    // Tell the server we are done, as a polite client does.
    let _ = stream.shutdown(Shutdown::Write);
    report
}
// ANCHOR_END: run_connection

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differ_by_connection_and_index_and_have_the_asked_size() {
        assert_eq!(message(3, 4, 40).len(), 40);
        assert!(message(3, 4, 40).starts_with(b"conn 3 msg 4:"));
        assert_ne!(message(3, 4, 40), message(4, 3, 40));
        assert_ne!(message(3, 4, 40)[20..], message(3, 5, 40)[20..]);
        assert_eq!(message(1, 1, 3).len(), 3);
    }
}
