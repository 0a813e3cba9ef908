//! Exercise 02, greenlet: the trampoline and `switch`.
//!
//! The first checks run the student's `switch` program, as a user would,
//! and read its output. Output alone proves little (a `run` that prints the
//! four numbers itself would match it), so the last two drive the student's
//! `Greenlets` and `switch` with greenlets of the checker's own: a probe
//! program (`lessons/classroom/probes/greenlet.rs`) built against the
//! student's library, whose greenlets print a line at every step. Only a
//! trampoline that resumes the greenlet each switch names prints them in
//! the expected order.

use std::time::Duration;

use crate::Result;
use crate::check::{Exercise, Requirement, Subject, describe_failure, expect_text};

pub const EXERCISE: Exercise = Exercise {
    name: "greenlet",
    lesson: 2,
    starter: "greenlet",
    programs: &["switch"],
    probe: Some(include_str!("../../probes/greenlet.rs")),
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
        Requirement {
            title: "greenlets the checker writes run in the order their switches say, \
                    a switch from nested calls included",
            hint: "run must resume the greenlet that each Step::SwitchTo names (coroutine.resume()), \
                   never print or assume what test1 and test2 do; switch must yield \
                   Step::SwitchTo(to) from wherever it is called; set Suspended after a switch \
                   and Finished when one returns, and return to main then",
            check: drives_the_checkers_greenlets,
        },
        Requirement {
            title: "a switch to a name no greenlet has ends run with UnknownGreenlet { from, to }",
            hint: "in run, look every name up with self.find(from, to)? (from is \"main\" for the \
                   first one): its error names both greenlets",
            check: unknown_names_are_errors,
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

fn probe_stdout(subject: &Subject, scenario: &str) -> Result<String> {
    let output = subject.run_probe(&[scenario], TIMEOUT)?;
    if !output.status.success() {
        return Err(format!(
            "the checker's greenlets, run by your Greenlets: {}",
            describe_failure(&output)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The probe's four greenlets: a, c, b, a (from three calls deep), c, a,
/// b, which finishes; d never runs.
fn drives_the_checkers_greenlets(subject: &Subject) -> Result<()> {
    let expected = "\
a1
c1
b1
a2
c2
a3 back at depth 3, local 30
b2
run: Ok
a: Suspended
b: Finished
c: Suspended
d: NotStarted
";
    expect_text(
        "greenlets a, b, c, d (a switches to c, c to b, b to a, a to c from a nested call, \
         c back to a, a to b, b returns)",
        &probe_stdout(subject, "order")?,
        expected,
    )
}

fn unknown_names_are_errors(subject: &Subject) -> Result<()> {
    let expected = "\
run(missing): Err main -> missing
x1
run(x): Err x -> nobody
";
    expect_text(
        "run(\"missing\"), then greenlet x switching to \"nobody\"",
        &probe_stdout(subject, "unknown")?,
        expected,
    )
}
