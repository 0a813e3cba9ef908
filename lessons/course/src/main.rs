//! `course`: what `just list` and `just run lesson-NN` call.
//!
//! ```text
//! course list
//! course run lesson-05 server --port 8001
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
                Ok(plan) => run(&root, plan),
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(2)
                }
            }
        }
        _ => {
            eprintln!("usage: course list | course run lesson-NN [PROGRAM] [ARGS...]");
            ExitCode::from(2)
        }
    }
}

fn run(root: &std::path::Path, plan: course::Plan) -> ExitCode {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--package",
            &plan.package,
            "--bin",
            plan.bin,
            "--",
        ])
        .args(&plan.args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns if the exec failed.
        let error = cargo.exec();
        eprintln!("error: could not start cargo: {error}");
        ExitCode::FAILURE
    }
    #[cfg(not(unix))]
    match cargo.status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1) as u8),
        Err(error) => {
            eprintln!("error: could not start cargo: {error}");
            ExitCode::FAILURE
        }
    }
}
