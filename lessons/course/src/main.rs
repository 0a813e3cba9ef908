//! `course`: what `just list` and `just run lesson-NN` call.
//!
//! ```text
//! course list
//! course run lesson-05 server --port 8001
//! course bench coroutines
//! course bench echo --smoke
//! course bench --smoke
//! course exercises [--check | --force]
//! course bench redis --plot redis.svg
//! ```
//!
//! `run` hands over to `cargo run` for the lesson's program, replacing this
//! process, so the program gets the terminal, Ctrl-C and the exit code
//! directly.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = course::workspace_root();
    match args.split_first() {
        Some((cmd, [])) if cmd == "list" => {
            print!("{}", course::listing(&root));
            ExitCode::SUCCESS
        }
        Some((cmd, [lesson, rest @ ..])) if cmd == "run" => {
            match course::plan(&root, lesson, rest) {
                Ok(plan) => {
                    // A broker lesson gets its broker (see `brokers`).
                    let number = course::find(lesson).map(|l| l.number).unwrap_or(0);
                    if let Err(error) =
                        course::brokers::ensure(&root, number, &plan.bin, &plan.args)
                    {
                        eprintln!("error: {error}");
                        return ExitCode::FAILURE;
                    }
                    run(&root, plan)
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Some((cmd, [])) if cmd == "bench" => {
            print!("{}", course::bench_listing());
            ExitCode::SUCCESS
        }
        Some((cmd, [smoke])) if cmd == "bench" && smoke == course::SMOKE => smoke_all(&root),
        Some((cmd, [name, rest @ ..])) if cmd == "bench" => match course::find_bench(name) {
            Ok(bench) => {
                // `--plot FILE` means FILE where the student is, not in the
                // lesson's folder where cargo runs the bench.
                let here = std::env::current_dir().unwrap_or_else(|_| root.clone());
                let args = course::charts::absolute_plot_args(rest, &here);
                hand_over(bench_command(&root, bench, &args))
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Some((cmd, rest)) if cmd == "exercises" => exercises(&root, rest),
        _ => {
            eprintln!(
                "usage: course list | course run lesson-NN [PROGRAM] [ARGS...] | course bench [NAME [ARGS...]] | course bench [NAME] --smoke | course exercises [--check | --force]"
            );
            ExitCode::from(2)
        }
    }
}

/// The cargo command that runs a benchmark. A full run is `cargo bench`
/// (optimised: the numbers mean something). A smoke run (`--smoke`) only
/// proves that the benchmark still works, so it is built like the tests
/// (`cargo test --bench`), reusing what `cargo test` has built already.
fn bench_command(root: &std::path::Path, bench: course::Bench, args: &[String]) -> Command {
    let package = bench.lesson().package();
    let mut cargo = cargo(root);
    if args.iter().any(|arg| arg == course::SMOKE) {
        cargo.args(["test", "--quiet", "--package", &package]);
    } else {
        cargo.args(["bench", "--quiet", "--package", &package]);
    }
    cargo.args(["--bench", bench.target, "--"]).args(args);
    cargo
}

/// `course bench --smoke`: every benchmark's smoke run, one after another,
/// each also drawing its chart (`--plot`) into a temporary folder, where it
/// is read back and checked; fails if any of them failed, after running
/// them all.
fn smoke_all(root: &std::path::Path) -> ExitCode {
    let charts = std::env::temp_dir().join(format!("course-bench-charts-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&charts) {
        eprintln!("error: cannot make {}: {error}", charts.display());
        return ExitCode::FAILURE;
    }
    let mut failed = Vec::new();
    for bench in course::BENCHES {
        println!("== just bench {} --smoke", bench.name);
        let started = std::time::Instant::now();
        let chart = charts.join(format!("{}.svg", bench.name));
        let args = [
            course::SMOKE.to_string(),
            course::charts::PLOT.to_string(),
            chart.display().to_string(),
        ];
        let status = bench_command(root, *bench, &args).status();
        let seconds = started.elapsed().as_secs_f64();
        let drawn = check_chart(root, &chart, course::charts::expected_series(bench.name));
        match status {
            Ok(status) if status.success() => match drawn {
                Ok(()) => println!(
                    "== {}: smoke run passed in {seconds:.1} s, and its chart parses",
                    bench.name
                ),
                Err(error) => {
                    println!(
                        "== {}: smoke run passed, but its chart: {error}",
                        bench.name
                    );
                    failed.push(bench.name);
                }
            },
            Ok(status) => {
                println!("== {}: smoke run FAILED ({status})", bench.name);
                failed.push(bench.name);
            }
            Err(error) => {
                println!("== {}: could not start cargo: {error}", bench.name);
                failed.push(bench.name);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&charts);
    if failed.is_empty() {
        println!("every benchmark's smoke run passed, and every chart parses");
        ExitCode::SUCCESS
    } else {
        eprintln!("error: smoke runs failed: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// `course exercises`: writes the exercise starters from their lessons
/// (see `course::exercises`); `--check` only says which are out of date,
/// `--force` overwrites starters that hold a student's work.
fn exercises(root: &std::path::Path, args: &[String]) -> ExitCode {
    let result = match args {
        [] => course::exercises::write_all(root, false),
        [force] if force == "--force" => course::exercises::write_all(root, true),
        [check] if check == "--check" => match course::exercises::stale(root) {
            Ok(stale) if stale.is_empty() => Ok(vec![]),
            Ok(stale) => {
                for path in stale {
                    eprintln!("out of date: {} (run: just exercises)", path.display());
                }
                return ExitCode::FAILURE;
            }
            Err(error) => Err(error),
        },
        _ => {
            eprintln!("usage: course exercises [--check | --force]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(lines) => {
            for line in &lines {
                println!("{line}");
            }
            let count = course::exercises::STARTERS.len();
            if lines.is_empty() {
                println!("every starter ({count}) matches its lesson");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Has the book's `check-chart` program read a chart back as a browser
/// would and look for `series` in it; says what is wrong, if anything.
fn check_chart(
    root: &std::path::Path,
    chart: &std::path::Path,
    series: &[&str],
) -> Result<(), String> {
    let output = cargo(root)
        .args([
            "run",
            "--quiet",
            "--package",
            "book",
            "--bin",
            "check-chart",
            "--",
        ])
        .arg(chart)
        .args(series)
        .output()
        .map_err(|error| format!("could not start cargo: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

fn run(root: &std::path::Path, plan: course::Plan) -> ExitCode {
    let mut cargo = cargo(root);
    // The program runs in the folder the student typed `just run` in (the
    // recipe is [no-cd]), so relative paths such as `ftp-client get a.txt`
    // or `--root share` resolve there; --manifest-path finds the workspace.
    if let Ok(here) = std::env::current_dir() {
        cargo.current_dir(here);
    }
    cargo
        .arg("run")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args([
            "--quiet",
            "--package",
            &plan.package,
            "--bin",
            &plan.bin,
            "--",
        ])
        .args(&plan.args);
    hand_over(cargo)
}

/// `cargo`, run from the workspace root: the one that invoked us, if any.
fn cargo(root: &std::path::Path) -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(root);
    cargo
}

/// Replaces this process with `command`, so it gets the terminal, Ctrl-C and
/// the exit code directly.
fn hand_over(mut command: Command) -> ExitCode {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns if the exec failed.
        let error = command.exec();
        eprintln!("error: could not start cargo: {error}");
        ExitCode::FAILURE
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1) as u8),
        Err(error) => {
            eprintln!("error: could not start cargo: {error}");
            ExitCode::FAILURE
        }
    }
}
