//! Charts of benchmark results, as SVG files: `just bench NAME --plot FILE`.
//!
//! Every benchmark prints a table; with `--plot FILE` the same run also
//! hands its numbers to this module, which draws them. A bench only says
//! *what* to draw (a [`Figure`] of [`Lines`] or [`Bars`] panels, each series
//! a name and its values); how a chart looks is decided here, once, so the
//! six benchmarks and lesson 07's `compare` draw alike:
//!
//! - one legend for the whole figure, and the same colour for a series in
//!   every panel (colours safe for colour-blind readers);
//! - logarithmic axes where values span orders of magnitude, with ticks at
//!   round numbers (1, 10, 100, 1k ...), and a value written on each bar;
//! - the machine and the date under the chart, because a benchmark's
//!   numbers mean nothing without them;
//! - a white card with dark ink, readable on the book's light and dark
//!   themes, and a `<title>` that screen readers announce.
//!
//! Drawn with `plotters`' SVG backend and no font backend: the SVG holds
//! text, and the browser picks the font, so nothing needs a system font
//! library. Text widths are estimated, which is why labels stay short.
//!
//! ```no_run
//! use support::chart::{Bars, Figure};
//! let figure = Figure::new("Round trips per second")
//!     .bars(Bars::new("50 connections", "round trips/s", ["50 conns"])
//!         .series("redis-server", [Some(90_000.0)])
//!         .series("lesson 09", [Some(80_000.0)]));
//! figure.write("/tmp/echo.svg".as_ref()).unwrap();
//! ```

use std::fmt::Write as _;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The picture's width in pixels: about the book's text width, so that the
/// book shows it at its natural size.
const WIDTH: u32 = 760;
/// The height of one panel.
const PANEL: u32 = 330;
/// Title, legend and footer strips.
const TITLE: u32 = 34;
const LEGEND: u32 = 28;
const FOOTER: u32 = 26;
const FONT: &str = "sans-serif";

/// Okabe and Ito's palette, told apart by readers with any common kind of
/// colour blindness; black last.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xb2), // blue
    RGBColor(0xe6, 0x9f, 0x00), // orange
    RGBColor(0x00, 0x9e, 0x73), // green
    RGBColor(0xd5, 0x5e, 0x00), // vermillion
    RGBColor(0xcc, 0x79, 0xa7), // purple
    RGBColor(0x56, 0xb4, 0xe9), // sky blue
    RGBColor(0x33, 0x33, 0x33), // near black
];
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
const MARK: RGBColor = RGBColor(0xc0, 0x20, 0x20);

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("writing the chart to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// An axis: its label, and whether it is logarithmic.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub log: bool,
    /// Where to put ticks; empty: round numbers chosen here.
    pub ticks: Vec<f64>,
}

impl Axis {
    pub fn linear(label: &str) -> Axis {
        Axis {
            label: label.to_owned(),
            log: false,
            ticks: Vec::new(),
        }
    }

    pub fn log(label: &str) -> Axis {
        Axis {
            log: true,
            ..Axis::linear(label)
        }
    }

    /// Ticks exactly at these values (such as pipeline depths 1, 2, 4 ...).
    pub fn ticks(mut self, ticks: impl IntoIterator<Item = f64>) -> Axis {
        self.ticks = ticks.into_iter().collect();
        self
    }
}

/// A line chart: each series a list of (x, y) points, drawn as a line with
/// a dot on each measured point.
#[derive(Debug, Clone)]
pub struct Lines {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Vertical lines at an x, with a label: a limit worth seeing.
    pub marks: Vec<(f64, String)>,
}

impl Lines {
    pub fn new(title: &str, x: Axis, y: Axis) -> Lines {
        Lines {
            title: title.to_owned(),
            x,
            y,
            series: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// One more series; points that a log axis cannot show (zero or less)
    /// and non-finite values are left out.
    pub fn series(mut self, name: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Lines {
        self.series
            .push((name.to_owned(), points.into_iter().collect()));
        self
    }

    /// A vertical line at `x`, labelled.
    pub fn mark(mut self, x: f64, label: &str) -> Lines {
        self.marks.push((x, label.to_owned()));
        self
    }
}

/// A bar chart: groups along x, one bar per series in each group. A value
/// that was not measured is `None` and shows as "n/a".
#[derive(Debug, Clone)]
pub struct Bars {
    pub title: String,
    pub y: Axis,
    pub groups: Vec<String>,
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// How a bar's value is written on it.
    pub unit: String,
}

impl Bars {
    pub fn new<S: Into<String>>(
        title: &str,
        y_label: &str,
        groups: impl IntoIterator<Item = S>,
    ) -> Bars {
        Bars {
            title: title.to_owned(),
            y: Axis::linear(y_label),
            groups: groups.into_iter().map(Into::into).collect(),
            series: Vec::new(),
            unit: String::new(),
        }
    }

    /// A logarithmic y axis, for values orders of magnitude apart.
    pub fn log(mut self) -> Bars {
        self.y.log = true;
        self
    }

    /// A unit written after each bar's value ("µs", " B").
    pub fn unit(mut self, unit: &str) -> Bars {
        self.unit = unit.to_owned();
        self
    }

    /// One more series: its value in each group, in the groups' order.
    pub fn series(mut self, name: &str, values: impl IntoIterator<Item = Option<f64>>) -> Bars {
        self.series
            .push((name.to_owned(), values.into_iter().collect()));
        self
    }
}

/// One panel of a figure.
#[derive(Debug, Clone)]
pub enum Panel {
    Lines(Lines),
    Bars(Bars),
}

impl Panel {
    fn series_names(&self) -> impl Iterator<Item = &str> {
        let names: Vec<&str> = match self {
            Panel::Lines(lines) => lines.series.iter().map(|(n, _)| n.as_str()).collect(),
            Panel::Bars(bars) => bars.series.iter().map(|(n, _)| n.as_str()).collect(),
        };
        names.into_iter()
    }
}

/// A whole picture: a title, panels stacked top to bottom, one legend, and
/// a footer saying where and when it was measured.
#[derive(Debug, Clone)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Panel>,
    /// Under the chart: the machine and the date ([`machine`] by default),
    /// and whatever the bench adds with [`Figure::note`].
    pub footer: String,
}

impl Figure {
    pub fn new(title: &str) -> Figure {
        Figure {
            title: title.to_owned(),
            panels: Vec::new(),
            footer: machine(),
        }
    }

    pub fn lines(mut self, lines: Lines) -> Figure {
        self.panels.push(Panel::Lines(lines));
        self
    }

    pub fn bars(mut self, bars: Bars) -> Figure {
        self.panels.push(Panel::Bars(bars));
        self
    }

    /// Adds a few words to the footer (the run's settings).
    pub fn note(mut self, note: &str) -> Figure {
        self.footer = format!("{note} · {}", self.footer);
        self
    }

    /// Every series name, each once, in the order they first appear: the
    /// legend, and the order colours are given in.
    pub fn series_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for name in self.panels.iter().flat_map(Panel::series_names) {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
        names
    }

    fn colour(&self, name: &str) -> RGBColor {
        let index = self
            .series_names()
            .iter()
            .position(|known| known == name)
            .unwrap_or(0);
        PALETTE[index % PALETTE.len()]
    }

    /// The figure as an SVG document.
    pub fn to_svg(&self) -> Result<String, ChartError> {
        let height = TITLE + LEGEND + PANEL * self.panels.len().max(1) as u32 + FOOTER;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
            self.draw(&root)
                .map_err(|e| ChartError::Draw(e.to_string()))?;
            root.present()
                .map_err(|e| ChartError::Draw(e.to_string()))?;
        }
        Ok(accessible(&svg, &self.title))
    }

    /// Draws the figure and writes it to `path`.
    pub fn write(&self, path: &Path) -> Result<(), ChartError> {
        let svg = self.to_svg()?;
        std::fs::write(path, svg).map_err(|source| ChartError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    fn draw(
        &self,
        root: &DrawingArea<SVGBackend, Shift>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        // The card's border, so the chart reads as one object on any page.
        root.draw(&Rectangle::new(
            [(0, 0), (WIDTH as i32 - 1, root.dim_in_pixel().1 as i32 - 1)],
            RGBColor(0xc8, 0xcc, 0xd0).stroke_width(1),
        ))?;
        let (top, rest) = root.split_vertically(TITLE);
        top.draw(&Text::new(
            self.title.clone(),
            (WIDTH as i32 / 2, 10),
            text(18.0, INK).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let (legend, rest) = rest.split_vertically(LEGEND);
        self.draw_legend(&legend)?;
        let (panels, footer) = rest.split_vertically(rest.dim_in_pixel().1 - FOOTER);
        footer.draw(&Text::new(
            self.footer.clone(),
            (WIDTH as i32 / 2, 6),
            text(12.0, MUTED).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let areas = panels.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            match panel {
                Panel::Lines(lines) => self.draw_lines(area, lines)?,
                Panel::Bars(bars) => self.draw_bars(area, bars)?,
            }
        }
        Ok(())
    }

    /// One row of swatches and names, centred.
    fn draw_legend(
        &self,
        area: &DrawingArea<SVGBackend, Shift>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let names = self.series_names();
        // The same width estimate plotters uses for text, plus the swatch
        // and a gap.
        let widths: Vec<i32> = names
            .iter()
            .map(|name| 18 + (13.0 * 0.7 / 1.5376 * name.chars().count() as f64) as i32 + 10 + 18)
            .collect();
        let total: i32 = widths.iter().sum();
        let mut x = (WIDTH as i32 - total).max(0) / 2;
        for (name, width) in names.iter().zip(widths) {
            let colour = self.colour(name);
            area.draw(&Rectangle::new([(x, 8), (x + 14, 20)], colour.filled()))?;
            area.draw(&Text::new(
                name.clone(),
                (x + 20, 14),
                text(13.0, INK).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += width;
        }
        Ok(())
    }

    fn draw_lines(
        &self,
        area: &DrawingArea<SVGBackend, Shift>,
        lines: &Lines,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let xs = lines
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
        let marks = lines.marks.iter().map(|&(x, _)| x);
        let x = Scale::new(&lines.x, xs.chain(marks), false);
        let ys = lines
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|&(_, y)| y));
        let y = Scale::new(&lines.y, ys, false);
        let mut chart = ChartBuilder::on(area)
            .caption(&lines.title, text(14.0, INK))
            .margin_left(12)
            .margin_right(24)
            .margin_bottom(6)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(x.ranged(), y.ranged())?;
        chart
            .configure_mesh()
            .x_desc(&lines.x.label)
            .y_desc(&lines.y.label)
            .x_label_formatter(&|v| x.label(*v))
            .y_label_formatter(&|v| y.label(*v))
            .label_style(text(12.0, INK))
            .axis_desc_style(text(13.0, INK))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(MUTED)
            .draw()?;
        for (at, label) in &lines.marks {
            let at = x.to(*at);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(at, y.low), (at, y.high)],
                MARK.stroke_width(2),
            )))?;
            // The label a few pixels right of the line, not on it.
            chart.draw_series(std::iter::once(
                EmptyElement::at((at, y.high))
                    + Text::new(
                        label.clone(),
                        (6, 2),
                        text(12.0, MARK).pos(Pos::new(HPos::Left, VPos::Top)),
                    ),
            ))?;
        }
        for (name, points) in &lines.series {
            let colour = self.colour(name);
            let points: Vec<(f64, f64)> = points
                .iter()
                .filter(|&&(px, py)| x.shows(px) && y.shows(py))
                .map(|&(px, py)| (x.to(px), y.to(py)))
                .collect();
            chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
            chart.draw_series(
                points
                    .iter()
                    .map(|&point| Circle::new(point, 3, colour.filled())),
            )?;
        }
        Ok(())
    }

    fn draw_bars(
        &self,
        area: &DrawingArea<SVGBackend, Shift>,
        bars: &Bars,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let groups = bars.groups.len().max(1);
        let values = bars
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied());
        // Bars grow from zero on a linear axis, so zero is on it; the
        // headroom leaves space for the values written above the bars.
        let y = Scale::new(&bars.y, values, true);
        let centres: Vec<f64> = (0..groups).map(|g| g as f64 + 0.5).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(&bars.title, text(14.0, INK))
            .margin_left(12)
            .margin_right(24)
            .margin_bottom(6)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(
                Ticked {
                    low: 0.0,
                    high: groups as f64,
                    ticks: centres,
                },
                y.ranged(),
            )?;
        let names = bars.groups.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(&bars.y.label)
            .x_label_formatter(&|v| {
                names
                    .get(v.floor().max(0.0) as usize)
                    .cloned()
                    .unwrap_or_default()
            })
            .y_label_formatter(&|v| y.label(*v))
            .label_style(text(12.0, INK))
            .axis_desc_style(text(13.0, INK))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(MUTED)
            .draw()?;
        let count = bars.series.len().max(1) as f64;
        let slot = 0.8 / count;
        for (index, (name, values)) in bars.series.iter().enumerate() {
            let colour = self.colour(name);
            for (group, value) in values.iter().enumerate().take(groups) {
                let left = group as f64 + 0.1 + slot * index as f64;
                let (x0, x1) = (left + slot * 0.08, left + slot * 0.92);
                let centre = (x0 + x1) / 2.0;
                match value.filter(|&v| y.shows(v)) {
                    Some(v) => {
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(x0, y.low), (x1, y.to(v))],
                            colour.filled(),
                        )))?;
                        chart.draw_series(std::iter::once(Text::new(
                            format!("{}{}", short(v), bars.unit),
                            (centre, y.to(v)),
                            text(11.0, INK).pos(Pos::new(HPos::Center, VPos::Bottom)),
                        )))?;
                    }
                    None => {
                        chart.draw_series(std::iter::once(Text::new(
                            "n/a".to_owned(),
                            (centre, y.low),
                            text(11.0, MUTED).pos(Pos::new(HPos::Center, VPos::Bottom)),
                        )))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A text style in the chart's font.
fn text(size: f64, colour: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&colour)
}

/// Where values land on an axis: on a log axis the chart's coordinate is
/// the value's log10, and ticks sit at round numbers.
#[derive(Debug, Clone)]
struct Scale {
    log: bool,
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Scale {
    /// Fits the axis to `values` (those it can show). `from_zero`: a linear
    /// axis starts at zero, with headroom above the largest value.
    fn new(axis: &Axis, values: impl Iterator<Item = f64>, from_zero: bool) -> Scale {
        let shown: Vec<f64> = values
            .filter(|v| v.is_finite() && (!axis.log || *v > 0.0))
            .collect();
        let (mut min, mut max) = shown
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if shown.is_empty() {
            (min, max) = if axis.log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        for &tick in &axis.ticks {
            min = min.min(tick);
            max = max.max(tick);
        }
        if axis.log {
            // A little room around the data: for the dots, and above bars
            // for their values.
            // Bars grow from a round number below the smallest, so that
            // even the smallest bar has a height.
            let low = if from_zero {
                (min.log10() - 0.3).floor()
            } else {
                min.log10() - 0.1
            };
            let high = max.log10() + if from_zero { 0.3 } else { 0.1 };
            let (low, high) = (low.min(high - 1.0), high);
            let ticks = if axis.ticks.is_empty() {
                log_ticks(low, high)
            } else {
                axis.ticks.iter().map(|t| t.log10()).collect()
            };
            // Bars grow from the lowest tick, so one is at the bottom.
            let low = if from_zero {
                ticks.first().copied().unwrap_or(low).min(low)
            } else {
                low
            };
            Scale {
                log: true,
                low,
                high,
                ticks,
            }
        } else {
            let low = if from_zero || min >= 0.0 && min < max * 0.5 {
                0.0
            } else {
                min
            };
            let step = nice_step((max - low).max(f64::MIN_POSITIVE) / 5.0);
            let top = (max / step).ceil() * step;
            let high = if from_zero {
                top.max(max * 1.12)
            } else {
                top.max(low + step)
            };
            let ticks = if axis.ticks.is_empty() {
                let mut ticks = Vec::new();
                let mut t = (low / step).floor() * step;
                while t <= high + step * 1e-9 {
                    ticks.push(t);
                    t += step;
                }
                ticks
            } else {
                axis.ticks.clone()
            };
            Scale {
                log: false,
                low,
                high,
                ticks,
            }
        }
    }

    /// The axis for plotters.
    fn ranged(&self) -> Ticked {
        Ticked {
            low: self.low,
            high: self.high,
            ticks: self.ticks.clone(),
        }
    }

    /// The chart coordinate of a value.
    fn to(&self, value: f64) -> f64 {
        if self.log { value.log10() } else { value }
    }

    /// Whether the axis can show the value.
    fn shows(&self, value: f64) -> bool {
        value.is_finite() && (!self.log || value > 0.0)
    }

    /// A tick's label: the value, in round words.
    fn label(&self, coordinate: f64) -> String {
        short(if self.log {
            10f64.powf(coordinate)
        } else {
            coordinate
        })
    }
}

/// Ticks on a log axis from `low` to `high` (as log10): the decades, and
/// 2 and 5 times them when there are too few decades to read values by.
fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let decades: Vec<i32> = (low.floor() as i32..=high.ceil() as i32).collect();
    let within = |t: &f64| *t >= low - 1e-9 && *t <= high + 1e-9;
    let mut ticks: Vec<f64> = decades
        .iter()
        .map(|&d| f64::from(d))
        .filter(within)
        .collect();
    if ticks.len() < 3 {
        ticks = decades
            .iter()
            .flat_map(|&d| [1.0, 2.0, 5.0].map(|m| (m * 10f64.powi(d)).log10()))
            .filter(within)
            .collect();
    }
    if ticks.is_empty() {
        ticks.push(low.ceil().min(high));
    }
    ticks
}

/// A linear coordinate with ticks exactly where asked (plotters picks its
/// own otherwise): the log axes' decades, the bars' group centres.
#[derive(Debug, Clone)]
struct Ticked {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = (self.high - self.low).max(f64::MIN_POSITIVE);
        let fraction = (value - self.low) / span;
        limit.0 + (fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        let slack = (self.high - self.low) * 1e-9;
        self.ticks
            .iter()
            .copied()
            .filter(|t| *t >= self.low - slack && *t <= self.high + slack)
            .collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.low..self.high
    }
}

/// 1, 2 or 5 times a power of ten, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * power)
}

/// A number in few characters: 950, 1.2k, 35k, 1.5M, 0.25.
pub fn short(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = match magnitude {
        m if m >= 1e9 => (value / 1e9, "G"),
        m if m >= 1e6 => (value / 1e6, "M"),
        m if m >= 1e4 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    let digits = match scaled.abs() {
        0.0 => 0,
        s if s >= 100.0 => 0,
        s if s >= 10.0 => usize::from(!whole(scaled) && suffix.is_empty()),
        s if s >= 1.0 => usize::from(!whole(scaled)),
        s if s >= 0.1 => 2,
        _ => 3,
    };
    let mut out = String::new();
    let _ = write!(out, "{scaled:.digits$}{suffix}");
    out
}

/// Whether a number is whole, give or take what log10 and powf lose.
fn whole(value: f64) -> bool {
    (value - value.round()).abs() < 0.05
}

/// The machine and the moment, for the chart's footer: "2 cores, load
/// average 3.1, Linux 6.1 · 2026-12-03 16:05 UTC".
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .map_or_else(String::new, |load| format!(", load average {load}"));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| {
            let release = release.trim();
            // "6.1.0-18-amd64" -> "6.1"
            let short: Vec<&str> = release.split(['.', '-']).take(2).collect();
            format!(", Linux {}", short.join("."))
        })
        .unwrap_or_default();
    format!("{cores} cores{load}{kernel} · {}", utc_now())
}

/// Now, as "YYYY-MM-DD HH:MM UTC" (no date crate for one line of text).
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Gives plotters' SVG a `<title>` (what screen readers say) and
/// `role="img"`.
fn accessible(svg: &str, title: &str) -> String {
    let Some(open_end) = svg.find('>') else {
        return svg.to_owned();
    };
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "{} role=\"img\"><title>{title}</title>{}",
        &svg[..open_end],
        &svg[open_end + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(950.0), "950");
        assert_eq!(short(12_345.0), "12k");
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(0.0), "0");
    }

    #[test]
    fn dates_are_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }

    #[test]
    fn log_ticks_sit_on_decades() {
        let scale = Scale::new(&Axis::log("µs"), [3.0, 40_000.0].into_iter(), false);
        assert_eq!(scale.ticks, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(scale.label(3.0), "1000");
        assert_eq!(scale.label(8f64.log10()), "8");
        assert_eq!(scale.label(64f64.log10()), "64");
        // Less than a decade: 2 and 5 times too.
        let scale = Scale::new(&Axis::log("µs"), [3.0, 7.0].into_iter(), false);
        let labels: Vec<String> = scale.ticks.iter().map(|&t| scale.label(t)).collect();
        assert_eq!(labels, ["1", "2", "5"]);
    }
}
