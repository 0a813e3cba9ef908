//! The order of the output is the lesson: every line is proof of a switch.

use std::process::Command;

use lesson_02_greenlet::{Greenlets, State, Switcher, UnknownGreenlet};

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_switch"))
        .args(args)
        .output()
        .expect("run switch");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn prints_12_56_34_78_in_that_order() {
    assert_eq!(run(&[]), "12\n56\n34\n78\n");
}

#[test]
fn trace_shows_every_switch_and_leaves_gr1_suspended() {
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
    assert_eq!(run(&["--trace"]), expected);
}

#[test]
fn a_greenlet_that_is_never_switched_to_never_runs() {
    let mut greenlets = Greenlets::new();
    greenlets.spawn("gr1", lesson_02_greenlet::test1);
    greenlets.spawn("gr2", lesson_02_greenlet::test2);
    greenlets.spawn("idle", |_me| unreachable!("idle is never switched to"));
    greenlets.run("gr1").unwrap();
    assert_eq!(
        greenlets.states(),
        [
            ("gr1", State::Suspended),
            ("gr2", State::Finished),
            ("idle", State::NotStarted)
        ]
    );
}

#[test]
fn switching_to_a_name_that_does_not_exist_is_an_error() {
    fn lost(me: &mut Switcher) {
        me.switch("gr3");
    }
    let mut greenlets = Greenlets::new();
    greenlets.spawn("gr1", lost);
    assert_eq!(
        greenlets.run("gr1"),
        Err(UnknownGreenlet {
            from: "gr1",
            to: "gr3"
        })
    );
    assert!(greenlets.run("nobody").is_err());
}
