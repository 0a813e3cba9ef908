//! `course`: what `just list` and `just run lesson-NN` call.
//!
//! ```text
//! course list
//! course run lesson-05 server --port 8001
//! course bench coroutines
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
        Some((cmd, [name, rest @ ..])) if cmd == "bench" => match course::find_bench(name) {
            Ok(bench) => {
                let package = bench.lesson().package();
                let mut cargo = cargo(&root);
                cargo
                    .args(["bench", "--quiet", "--package", &package])
                    .args(["--bench", bench.target, "--"])
                    .args(rest);
                hand_over(cargo)
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!(
                "usage: course list | course run lesson-NN [PROGRAM] [ARGS...] | course bench [NAME [ARGS...]]"
            );
            ExitCode::from(2)
        }
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
