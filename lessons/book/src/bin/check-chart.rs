//! `check-chart FILE [SERIES...]`: reads a benchmark's chart back as a
//! browser would (well-formed XML, an `<svg>` root) and checks that it names
//! every SERIES. `course bench --smoke` runs it on the chart each bench's
//! smoke run draws (`--plot`); it fails, saying why, when one is broken.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((file, series)) = args.split_first() else {
        eprintln!("usage: check-chart FILE [SERIES...]");
        return ExitCode::from(2);
    };
    let series: Vec<&str> = series.iter().map(String::as_str).collect();
    let checked = std::fs::read_to_string(file)
        .map_err(|error| format!("no chart at {file}: {error}"))
        .and_then(|text| book::check_chart(&text, &series).map_err(|e| format!("{file}: {e}")));
    match checked {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
