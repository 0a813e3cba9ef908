//! Lesson 04: switching on IO. The same downloads, one by one and at once.
//!
//! The notes' last gevent example downloads three web pages twice: one
//! after another, then all three spawned at once. With
//! `monkey.patch_all()`, every socket read that would wait switches to
//! another greenlet, so the three downloads overlap, and the second run
//! takes about as long as the slowest page instead of the sum.
//!
//! Two Rust versions, side by side:
//!
//! - [`coroutine`] (`just run lesson-04 fetch`): may coroutines with an
//!   ordinary blocking-style HTTP client written on `may::net::TcpStream`.
//!   Nothing is patched: the socket type itself parks the coroutine.
//! - [`tasks`] (`just run lesson-04 fetch-async`): tokio tasks and
//!   reqwest, where every wait is an explicit `.await`.
//!
//! Both fetch from a local [`delay_server`] unless given URLs, so the
//! lesson works without internet.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use support::timeline::format_duration;

pub mod coroutine;
pub mod delay_server;
pub mod tasks;

/// The lesson's error type: anything that can go wrong, with its message.
pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// What one successful download brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The final HTTP status, after redirects.
    pub status: u16,
    /// Bytes of body received.
    pub bytes: u64,
    /// How many reads returned data: each one is a point where the
    /// download waited for the network and others could run.
    pub reads: u64,
    /// From the request to the last byte.
    pub elapsed: Duration,
}

/// One URL and what became of it.
#[derive(Debug)]
pub struct Outcome {
    pub url: String,
    /// The download, or why it failed (refused, timed out, HTTP 404 ...).
    pub result: std::result::Result<Download, String>,
}

/// All the URLs of one run, in the order given, and how long the run took.
#[derive(Debug)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub elapsed: Duration,
}

impl Run {
    /// Body bytes of every download that succeeded.
    pub fn total_bytes(&self) -> u64 {
        self.outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .map(|d| d.bytes)
            .sum()
    }

    /// How many URLs failed.
    pub fn failures(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count()
    }
}

// ANCHOR: default_urls
/// The URLs used when none are given: three pages on the local delay
/// server, standing in for the notes' three web sites. Slow, slower and
/// in between, and of different sizes.
pub fn default_urls(server: SocketAddr) -> Vec<String> {
    [(400, 48_000), (800, 512_000), (600, 128_000)]
        .into_iter()
        .map(|(ms, bytes)| {
            let path = delay_server::path(Duration::from_millis(ms), bytes);
            format!("http://{server}{path}")
        })
        .collect()
}
// ANCHOR_END: default_urls

/// The URLs to fetch: the ones given, or, with none, the default ones on a
/// delay server started in this process.
pub fn urls_or_local_default(given: Vec<String>) -> Result<Vec<String>> {
    if !given.is_empty() {
        return Ok(given);
    }
    let server = delay_server::start_in_background()
        .map_err(|error| format!("could not start the local delay server: {error}"))?;
    println!("no URLs given: fetching from a delay server started on {server}");
    Ok(default_urls(server))
}

/// Installs ring as the process's TLS crypto provider, for the https URLs
/// a student may give. reqwest is built without a provider of its own
/// (the default one is a large C build); installing twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An error and its causes on one line: "error sending request: client
/// error (Connect): tcp connect error: Connection refused". Library errors
/// often keep the useful part in their sources.
pub fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// The line printed when a download starts.
pub fn started_line(url: &str) -> String {
    format!("  GET {url}")
}

/// The line printed when a download ends, well or badly.
pub fn finished_line(outcome: &Outcome) -> String {
    match &outcome.result {
        Ok(d) => format!(
            "  {} bytes from {} in {} (HTTP {}, {} reads)",
            d.bytes,
            outcome.url,
            format_duration(d.elapsed),
            d.status,
            d.reads
        ),
        Err(error) => format!("  FAILED {}: {error}", outcome.url),
    }
}

// ANCHOR: summary
/// The table at the end: bytes per URL in each run, then both totals and
/// their ratio.
pub fn summary(sequential: &Run, concurrent: &Run) -> String {
    let cell = |outcome: &Outcome| match &outcome.result {
        Ok(d) => format!("{} B", d.bytes),
        Err(_) => "failed".to_string(),
    };
    let width = sequential
        .outcomes
        .iter()
        .map(|o| o.url.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let mut out = format!(
        "{:<width$}  {:>12}  {:>12}\n",
        "url", "one by one", "at once"
    );
    for (one, all) in sequential.outcomes.iter().zip(&concurrent.outcomes) {
        out += &format!(
            "{:<width$}  {:>12}  {:>12}\n",
            one.url,
            cell(one),
            cell(all)
        );
    }
    out += &format!(
        "sequential: {} ms ({} bytes, {} failed)\n",
        sequential.elapsed.as_millis(),
        sequential.total_bytes(),
        sequential.failures()
    );
    out += &format!(
        "concurrent: {} ms ({} bytes, {} failed)\n",
        concurrent.elapsed.as_millis(),
        concurrent.total_bytes(),
        concurrent.failures()
    );
    out += &format!(
        "sequential / concurrent = {:.2}\n",
        sequential.elapsed.as_secs_f64() / concurrent.elapsed.as_secs_f64().max(f64::EPSILON)
    );
    out
}
// ANCHOR_END: summary
