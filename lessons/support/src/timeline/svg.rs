//! The same timelines as [`Timeline::render`](super::Timeline::render), drawn
//! as an SVG picture for the book: `--svg FILE` in lessons 03 and 06.
//!
//! Several timelines (one per model) are stacked as panels on one time
//! scale, so a shorter run is visibly shorter. Plain SVG, written by hand: a
//! white card with dark ink (readable on the book's light and dark themes),
//! no fonts or scripts fetched.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Activity, Timeline, format_duration};

/// The picture's width in pixels, about the book's text width.
const WIDTH: u32 = 760;
/// Left margin, where lane names go.
const NAMES: u32 = 110;
/// Right margin.
const RIGHT: u32 = 20;
/// Height of one lane's row, and of its bar.
const ROW: u32 = 18;
const BAR: u32 = 12;

/// Fill color of each activity, and its name in the legend.
fn style(activity: Activity) -> (&'static str, &'static str) {
    match activity {
        Activity::Run => ("#1f5fbf", "running"),
        Activity::Wait => ("#b9c3cf", "waiting for IO or a timer"),
        Activity::Ready => ("#f0c75e", "ready, waiting for its turn"),
    }
}

/// Draws `panels` (a title and a timeline each) stacked on one time axis,
/// with `alt` as the picture's accessible title.
pub fn to_svg(alt: &str, panels: &[(&str, &Timeline)]) -> String {
    let end = panels
        .iter()
        .map(|(_, timeline)| timeline.end())
        .max()
        .unwrap_or_default()
        .max(Duration::from_nanos(1));
    let track = f64::from(WIDTH - NAMES - RIGHT);
    let x = |at: Duration| f64::from(NAMES) + track * at.as_secs_f64() / end.as_secs_f64();

    let mut body = String::new();
    let mut y = 16u32;
    for (title, timeline) in panels {
        y += 16;
        let _ = writeln!(
            body,
            r#"  <text x="12" y="{y}" font-weight="bold">{} ({})</text>"#,
            escape(title),
            format_duration(timeline.end())
        );
        y += 8;
        let lanes = super::lock(&timeline.lanes).clone();
        let mut spans = timeline.spans();
        // The weakest kind first, so running is drawn on top, as in the text.
        spans.sort_by_key(|span| span.activity);
        for lane in &lanes {
            let _ = writeln!(
                body,
                r#"  <text x="12" y="{}">{}</text>"#,
                y + BAR,
                escape(lane)
            );
            for span in spans.iter().filter(|span| &span.lane == lane) {
                let (fill, _) = style(span.activity);
                // At least one pixel wide, so an instant still shows.
                let width = (x(span.to) - x(span.from)).max(1.0);
                let _ = writeln!(
                    body,
                    r#"  <rect class="{:?}" x="{:.1}" y="{}" width="{width:.1}" height="{BAR}" fill="{fill}"/>"#,
                    span.activity,
                    x(span.from),
                    y + 2
                );
            }
            y += ROW;
        }
    }

    // The time axis: a line, and a tick with a label at each quarter.
    y += 8;
    let _ = writeln!(
        body,
        r##"  <line x1="{NAMES}" y1="{y}" x2="{}" y2="{y}" stroke="#333"/>"##,
        WIDTH - RIGHT
    );
    for quarter in 0..=4u32 {
        let at = end * quarter / 4;
        let tick = x(at);
        let anchor = match quarter {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            body,
            r##"  <line x1="{tick:.1}" y1="{y}" x2="{tick:.1}" y2="{}" stroke="#333"/>
  <text x="{tick:.1}" y="{}" text-anchor="{anchor}">{}</text>"##,
            y + 4,
            y + 17,
            format_duration(at)
        );
    }

    // The legend.
    y += 36;
    let mut legend_x = NAMES;
    for activity in [Activity::Run, Activity::Wait, Activity::Ready] {
        let (fill, name) = style(activity);
        let _ = writeln!(
            body,
            r#"  <rect x="{legend_x}" y="{}" width="16" height="{BAR}" fill="{fill}"/>
  <text x="{}" y="{}">{name}</text>"#,
            y - BAR + 2,
            legend_x + 22,
            y
        );
        legend_x += 22 + 8 * name.len() as u32 + 24;
    }
    let height = y + 16;

    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="title" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">
  <title id="title">{}</title>
  <rect x="0.5" y="0.5" width="{}" height="{}" rx="10" fill="white" stroke="#c8ccd0"/>
{body}</svg>
"##,
        escape(alt),
        WIDTH - 1,
        height - 1
    )
}

/// Escapes text for XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn timeline(spans: &[(&str, Activity, u64, u64)]) -> Timeline {
        let start = Instant::now();
        let timeline = Timeline::starting_at(start);
        for (lane, activity, from, to) in spans {
            timeline.record(
                lane,
                *activity,
                start + Duration::from_millis(*from),
                start + Duration::from_millis(*to),
            );
        }
        timeline
    }

    /// The `x` and `width` of every bar of one activity, in drawing order.
    fn bars(svg: &str, activity: Activity) -> Vec<(f64, f64)> {
        let class = format!(r#"class="{activity:?}""#);
        svg.lines()
            .filter(|line| line.contains(&class))
            .map(|line| {
                let number = |name: &str| -> f64 {
                    let key = format!(r#" {name}=""#);
                    let start = line.find(&key).unwrap() + key.len();
                    let len = line[start..].find('"').unwrap();
                    line[start..start + len].parse().unwrap()
                };
                (number("x"), number("width"))
            })
            .collect()
    }

    #[test]
    fn panels_share_one_time_scale() {
        // 100 ms of running in a 400 ms run, next to a 100 ms run.
        let long = timeline(&[
            ("a", Activity::Wait, 0, 300),
            ("a", Activity::Run, 300, 400),
        ]);
        let short = timeline(&[("b", Activity::Run, 0, 100)]);
        let svg = to_svg("two runs", &[("long", &long), ("short", &short)]);
        let run = bars(&svg, Activity::Run);
        let track = f64::from(WIDTH - NAMES - RIGHT);
        assert_eq!(run.len(), 2);
        // long's run is the last quarter of the track...
        assert!(
            (run[0].0 - (f64::from(NAMES) + 0.75 * track)).abs() < 0.2,
            "{run:?}"
        );
        // ...and short's 100 ms are as wide as long's 100 ms.
        assert!((run[0].1 - run[1].1).abs() < 0.2, "{run:?}");
        assert!((bars(&svg, Activity::Wait)[0].1 - 0.75 * track).abs() < 0.2);
    }

    #[test]
    fn an_instant_still_shows_and_text_is_escaped() {
        let t = timeline(&[
            ("<task & co>", Activity::Run, 5, 5),
            ("x", Activity::Wait, 0, 10),
        ]);
        let svg = to_svg("A \"quoted\" <alt>", &[("model", &t)]);
        assert!(bars(&svg, Activity::Run)[0].1 >= 1.0);
        assert!(svg.contains("&lt;task &amp; co&gt;"));
        assert!(svg.contains("<title id=\"title\">A &quot;quoted&quot; &lt;alt&gt;</title>"));
        assert!(svg.contains(r#"role="img""#));
        // Every element opened is closed: the same number of <svg and </svg>.
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    }
}
