//! `--plot FILE`: every benchmark can draw its results as an SVG chart, and
//! `course bench --smoke` checks that each one still does.
//!
//! The smoke run passes each bench `--plot` with a file in a temporary
//! folder, then has the book's `check-chart` program read the file back as a
//! browser would (well-formed XML, an `<svg>` root) and look for each series
//! the chart must show in its legend. The bench drew it; another program
//! reads it. (The course map itself depends on nothing, so that `just run`
//! starts at once: the XML parser lives in `lessons/book`.)

use std::path::{Path, PathBuf};

/// The flag that asks a benchmark (or lesson 07's `compare`) for a chart.
pub const PLOT: &str = "--plot";

/// The series each benchmark's chart names in its legend, even in a smoke
/// run (a contestant that could not run is still named, its values "n/a").
#[rustfmt::skip]
pub const CHART_SERIES: &[(&str, &[&str])] = &[
    ("coroutines", &["OS threads", "may coroutines", "tokio tasks"]),
    ("echo", &["redis-server", "lesson 05 (may)", "lesson 08 (select)", "lesson 09 (mio)"]),
    ("rabbitmq", &["Rust (lapin)", "pika (Python)"]),
    ("redis", &["lesson 23", "redis-benchmark"]),
    ("ftp", &["lesson-25"]),
    ("rpc", &["one after another", "burst"]),
];

/// The series `bench`'s chart must show.
pub fn expected_series(bench: &str) -> &'static [&'static str] {
    CHART_SERIES
        .iter()
        .find(|(name, _)| *name == bench)
        .map_or(&[], |(_, series)| series)
}

/// `args` with the file after `--plot` (or in `--plot=FILE`) made absolute
/// against `here`: cargo runs a benchmark in its crate's folder, so a
/// relative path would land there instead of where the student typed it.
pub fn absolute_plot_args(args: &[String], here: &Path) -> Vec<String> {
    let absolute = |file: &str| -> String {
        let path = PathBuf::from(file);
        if path.is_absolute() {
            file.to_owned()
        } else {
            here.join(path).display().to_string()
        }
    };
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_file = false;
    for arg in args {
        if next_is_file {
            out.push(absolute(arg));
            next_is_file = false;
        } else if arg == PLOT {
            out.push(arg.clone());
            next_is_file = true;
        } else if let Some(file) = arg.strip_prefix("--plot=") {
            out.push(format!("{PLOT}={}", absolute(file)));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bench_says_what_its_chart_shows() {
        for bench in crate::BENCHES {
            assert!(
                !expected_series(bench.name).is_empty(),
                "{}: no entry in CHART_SERIES",
                bench.name
            );
        }
    }

    #[test]
    fn relative_plot_files_are_made_absolute_where_the_student_is() {
        let here = Path::new("/home/student/course");
        let args: Vec<String> = ["--rounds", "3", "--plot", "redis.svg", "--plot=/tmp/a.svg"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            absolute_plot_args(&args, here),
            [
                "--rounds",
                "3",
                "--plot",
                "/home/student/course/redis.svg",
                "--plot=/tmp/a.svg"
            ]
        );
        let relative = ["--plot=out/c.svg".to_string()];
        assert_eq!(
            absolute_plot_args(&relative, here),
            ["--plot=/home/student/course/out/c.svg"]
        );
    }
}
