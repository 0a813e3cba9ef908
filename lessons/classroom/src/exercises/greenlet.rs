//! Exercise 02, greenlet: the trampoline and `switch`.
//!
//! The checks run the student's `switch` program, as a user would, and read
//! its output: the numbers prove where each switch went.

use std::time::Duration;

use crate::Result;
use crate::check::{Exercise, Requirement, Subject, describe_failure, expect_text};

pub const EXERCISE: Exercise = Exercise {
    name: "greenlet",
    lesson: 2,
    starter: "greenlet",
    programs: &["switch"],
    requirements: &[
        Requirement {
            title: "the program runs to its end without panicking",
            hint: "replace both todo!()s in src/lib.rs: Switcher::switch and Greenlets::run",
            check: runs_to_the_end,
        },
        Requirement {
            title: "prints 12, 56, 34, 78 in that order",
            hint: "switch must yield Step::SwitchTo(to); run must resume the greenlet that was named, \
                   and stop when one returns Step::Finished",
            check: prints_the_four_numbers,
        },
        Requirement {
            title: "--trace shows every switch, then gr1 Suspended and gr2 Finished",
            hint: "set each greenlet's state in run (Suspended after a switch, Finished at the end) \
                   and print the trace lines exactly as the doc comment of run says",
            check: traces_every_switch,
        },
    ],
};

const TIMEOUT: Duration = Duration::from_secs(20);

fn stdout_of(subject: &Subject, args: &[&str]) -> Result<String> {
    let output = subject.run("switch", args, TIMEOUT)?;
    if !output.status.success() {
        return Err(describe_failure(&output));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn runs_to_the_end(subject: &Subject) -> Result<()> {
    stdout_of(subject, &[]).map(drop)
}

fn prints_the_four_numbers(subject: &Subject) -> Result<()> {
    expect_text("the output", &stdout_of(subject, &[])?, "12\n56\n34\n78\n")
}

fn traces_every_switch(subject: &Subject) -> Result<()> {
    let expected = "\
12
    (gr1 switches to gr2)
56
    (gr2 switches to gr1)
34
    (gr1 switches to gr2)
78
    (gr2 finished: back to main)
    gr1: Suspended
    gr2: Finished
";
    expect_text(
        "the --trace output",
        &stdout_of(subject, &["--trace"])?,
        expected,
    )
}
