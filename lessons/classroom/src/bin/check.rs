//! `just check NAME`: runs an exercise's acceptance checks.
//!
//! ```text
//! just check                      # list the exercises
//! just check greenlet             # check your starter crate
//! just check greenlet --solution  # check the lesson's own code
//! just check greenlet --crate DIR # check another crate with the same programs
//! just check NAME --KEY VALUE     # options a checker takes (e.g. --addr)
//! ```
//!
//! Exit codes: 0 every requirement checked and met; 1 some failed (or the
//! crate does not build); 2 a usage error; 3 none failed but some could not
//! be checked here (SKIP), which is not a pass.

use std::path::PathBuf;
use std::process::ExitCode;

use classroom::check::{self, Which};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, rest)) = args.split_first() else {
        print!("{}", check::listing());
        return ExitCode::SUCCESS;
    };
    let exercise = match check::find(name) {
        Ok(exercise) => exercise,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut which = Which::Starter;
    let mut options = Vec::new();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--solution" => which = Which::Solution,
            "--crate" => match rest.next() {
                Some(dir) => which = Which::Crate(PathBuf::from(dir)),
                None => return usage("--crate needs a folder"),
            },
            option if option.starts_with("--") => match rest.next() {
                Some(value) => options.push((option[2..].to_string(), value.clone())),
                None => return usage(&format!("{option} needs a value")),
            },
            other => return usage(&format!("unexpected argument `{other}`")),
        }
    }
    let root = course::workspace_root();
    // The report's own exit code: 0 when every requirement is met.
    let checked = check::build(exercise, &which, &root).map(|mut subject| {
        subject.options.extend(options);
        let verdicts = check::check(exercise, &subject);
        ExitCode::from(check::report(exercise, &verdicts).exit_code())
    });
    support::exit(checked)
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "error: {problem}\nusage: just check NAME [--solution | --crate DIR] [--KEY VALUE ...]"
    );
    ExitCode::from(2)
}
