//! Who ran when, and who waited: a timeline drawn as text.
//!
//! Lessons 03 and 06 make one point with a picture: the same tasks take very
//! different amounts of time depending on whether they wait one after
//! another or at the same time. The notes draw that picture by hand; here
//! the program records what really happened and draws it.
//!
//! Each task is a *lane*. While it runs, a lesson records spans of three
//! kinds of [`Activity`]: running on a CPU, waiting for IO (or a timer), and
//! ready but waiting for its turn. [`Timeline::render`] draws one row per
//! lane, scaled to a width in characters:
//!
//! ```text
//! task 1  |##~~~~~~~~##                        |
//! task 2  |............##~~~~~~~~##            |
//! task 3  |........................##~~~~~~~~##|
//!         0ms        200ms       400ms       600ms
//!         # running   ~ waiting for IO   . waiting for its turn
//! ```
//!
//! A timeline is shared by reference (it is `Sync`): threads, coroutines and
//! callbacks all record into it, and the spans keep the real start and end
//! times, so tests can check the same facts the picture shows (do two
//! tasks' waits overlap? does anything run at the same time as anything
//! else?).

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod svg;
pub use svg::to_svg;

/// What a task was doing during a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Activity {
    /// Ready to run but not running: waiting for the CPU, for the event
    /// loop, or for the task before it to finish. Drawn as `.`.
    Ready,
    /// Blocked on IO or a timer: nothing to do until it completes. Drawn
    /// as `~`.
    Wait,
    /// Running code. Drawn as `#`.
    Run,
}

impl Activity {
    /// The character a span of this kind is drawn with.
    pub fn symbol(self) -> char {
        match self {
            Activity::Ready => '.',
            Activity::Wait => '~',
            Activity::Run => '#',
        }
    }
}

/// One recorded span: `lane` did `activity` from `from` to `to`, both
/// measured from the timeline's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub lane: String,
    pub activity: Activity,
    pub from: Duration,
    pub to: Duration,
}

impl Span {
    /// Whether the two spans share some stretch of time (touching ends do
    /// not count).
    pub fn overlaps(&self, other: &Span) -> bool {
        self.from < other.to && other.from < self.to
    }
}

/// A thread-safe recorder of spans, and the renderer that draws them.
#[derive(Debug)]
pub struct Timeline {
    /// Time zero: every span is stored relative to it.
    start: Instant,
    /// Lanes in the order they are drawn: declared first, then as first
    /// recorded.
    lanes: Mutex<Vec<String>>,
    /// Everything recorded so far, in recording order.
    spans: Mutex<Vec<Span>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A timeline whose time zero is now.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A timeline whose time zero is `start`.
    pub fn starting_at(start: Instant) -> Self {
        Timeline {
            start,
            lanes: Mutex::new(Vec::new()),
            spans: Mutex::new(Vec::new()),
        }
    }

    /// Time zero.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Declares lanes up front, so they are drawn in this order even if
    /// they start recording in another.
    pub fn with_lanes<S: AsRef<str>>(self, lanes: impl IntoIterator<Item = S>) -> Self {
        for lane in lanes {
            self.add_lane(lane.as_ref());
        }
        self
    }

    fn add_lane(&self, lane: &str) {
        let mut lanes = lock(&self.lanes);
        if !lanes.iter().any(|l| l == lane) {
            lanes.push(lane.to_string());
        }
    }

    /// Records that `lane` did `activity` between two instants. Instants
    /// before time zero count as time zero; an end before the start is
    /// taken as the start (an empty span).
    pub fn record(&self, lane: &str, activity: Activity, from: Instant, to: Instant) {
        self.add_lane(lane);
        let from = from.saturating_duration_since(self.start);
        let to = to.saturating_duration_since(self.start).max(from);
        lock(&self.spans).push(Span {
            lane: lane.to_string(),
            activity,
            from,
            to,
        });
    }

    /// Runs `f`, recording its duration as one span of `activity`, and
    /// returns what it returns.
    pub fn time<T>(&self, lane: &str, activity: Activity, f: impl FnOnce() -> T) -> T {
        let from = Instant::now();
        let value = f();
        self.record(lane, activity, from, Instant::now());
        value
    }

    /// Everything recorded so far.
    pub fn spans(&self) -> Vec<Span> {
        lock(&self.spans).clone()
    }

    /// The spans of one lane, in recording order.
    pub fn lane(&self, lane: &str) -> Vec<Span> {
        lock(&self.spans)
            .iter()
            .filter(|span| span.lane == lane)
            .cloned()
            .collect()
    }

    /// When the last span ends.
    pub fn end(&self) -> Duration {
        lock(&self.spans)
            .iter()
            .map(|span| span.to)
            .max()
            .unwrap_or_default()
    }

    /// Draws the timeline: one row per lane, `width` characters for the
    /// whole duration, a time axis and a legend.
    ///
    /// Each character stands for `end / width` of time. A span covers at
    /// least one character, so even a instant of running (a `println!`) is
    /// visible. Where spans of one lane meet in a character, running wins
    /// over waiting, and waiting over being ready.
    pub fn render(&self, width: usize) -> String {
        self.render_with(width, &Legend::default())
    }

    /// Draws the timeline like [`Timeline::render`], with the legend's
    /// words for the three kinds of span.
    pub fn render_with(&self, width: usize, legend: &Legend) -> String {
        let width = width.max(10);
        let lanes = lock(&self.lanes).clone();
        let mut spans = self.spans();
        // Draw the weakest kind first, so the strongest ends on top.
        spans.sort_by_key(|span| span.activity);
        let end = self.end().max(Duration::from_nanos(1)).as_nanos();
        // Integer arithmetic, so that 40 ms of 100 ms in 10 characters is
        // exactly character 4, not 3.999.
        let scaled = |at: Duration| at.as_nanos() * width as u128;
        let first_column = |at: Duration| ((scaled(at) / end) as usize).min(width - 1);
        // The last character a span reaches into: one that ends exactly on
        // a character boundary does not reach past it.
        let last_column = |at: Duration| (scaled(at).div_ceil(end) as usize).saturating_sub(1);

        let name_width = lanes.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for lane in &lanes {
            let mut row = vec![' '; width];
            for span in spans.iter().filter(|span| &span.lane == lane) {
                let first = first_column(span.from);
                let last = last_column(span.to).clamp(first, width - 1);
                for cell in &mut row[first..=last] {
                    *cell = span.activity.symbol();
                }
            }
            let row: String = row.into_iter().collect();
            let _ = writeln!(out, "{lane:<name_width$} |{row}|");
        }

        // The axis: labels at the start, the end, and each quarter between
        // where they fit (the start and the end first, so they always show).
        let mut axis = vec![' '; width + 2];
        let mut taken = vec![false; width + 3];
        for quarter in [0u32, 4, 2, 1, 3] {
            let at = Duration::from_nanos((end * u128::from(quarter) / 4) as u64);
            let label: Vec<char> = format_duration(at).chars().collect();
            // Position 1 is the first character of a row (0 is its `|`).
            let position =
                (1 + width * quarter as usize / 4).min((width + 2).saturating_sub(label.len()));
            let span = position..(position + label.len()).min(axis.len());
            // Keep a blank between two labels.
            let around = position.saturating_sub(1)..(span.end + 1).min(taken.len());
            if taken[around].iter().any(|t| *t) {
                continue;
            }
            for (cell, c) in axis[span.clone()].iter_mut().zip(label) {
                *cell = c;
            }
            taken[span].iter_mut().for_each(|t| *t = true);
        }
        let axis: String = axis.into_iter().collect();
        let _ = writeln!(out, "{:name_width$} {}", "", axis.trim_end());
        let _ = writeln!(
            out,
            "{:name_width$} {} {}   {} {}   {} {}",
            "",
            Activity::Run.symbol(),
            legend.run,
            Activity::Wait.symbol(),
            legend.wait,
            Activity::Ready.symbol(),
            legend.ready,
        );
        out
    }
}

/// What the three symbols of a drawn timeline mean, in a lesson's words.
#[derive(Debug, Clone, Copy)]
pub struct Legend {
    /// For `#`.
    pub run: &'static str,
    /// For `~`.
    pub wait: &'static str,
    /// For `.`.
    pub ready: &'static str,
}

impl Default for Legend {
    fn default() -> Self {
        Legend {
            run: "running",
            wait: "waiting for IO or a timer",
            ready: "ready, waiting for its turn",
        }
    }
}

/// A duration as people read it on an axis: `850ms`, `1.5s`, `120µs`.
pub fn format_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros == 0 {
        "0".to_string()
    } else if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 10_000_000 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A poisoned lock only means another recorder panicked; the spans are
/// still valid, so keep going.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(timeline: &Timeline, ms: u64) -> Instant {
        timeline.start() + Duration::from_millis(ms)
    }

    #[test]
    fn renders_one_row_per_lane_in_declared_order() {
        let t = Timeline::new().with_lanes(["b", "a"]);
        t.record("a", Activity::Run, at(&t, 0), at(&t, 50));
        t.record("a", Activity::Wait, at(&t, 50), at(&t, 100));
        t.record("b", Activity::Ready, at(&t, 0), at(&t, 100));
        let text = t.render(10);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "b |..........|");
        assert_eq!(rows[1], "a |#####~~~~~|");
        assert!(
            rows[2].contains("0ms") && rows[2].contains("100ms"),
            "{text}"
        );
    }

    #[test]
    fn an_instant_of_running_is_still_visible_and_wins() {
        let t = Timeline::new();
        t.record("x", Activity::Wait, at(&t, 0), at(&t, 100));
        t.record("x", Activity::Run, at(&t, 40), at(&t, 40));
        let text = t.render(10);
        assert!(text.starts_with("x |~~~~#~~~~~|"), "{text}");
    }

    #[test]
    fn overlap_ignores_touching_ends() {
        let span = |from, to| Span {
            lane: "x".into(),
            activity: Activity::Run,
            from: Duration::from_millis(from),
            to: Duration::from_millis(to),
        };
        assert!(span(0, 10).overlaps(&span(5, 15)));
        assert!(!span(0, 10).overlaps(&span(10, 20)));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::ZERO), "0");
        assert_eq!(format_duration(Duration::from_micros(120)), "120µs");
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(12_500)), "12.5s");
    }
}
