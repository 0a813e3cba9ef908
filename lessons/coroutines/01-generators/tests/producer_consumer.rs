//! The lesson's whole point is the order in which the three coroutines run,
//! so the tests run the real program and compare its output line by line.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_producer-consumer"))
        .args(args)
        .output()
        .expect("run producer-consumer");
    (
        output.status.success(),
        String::from_utf8(output.stdout).expect("utf-8 output"),
    )
}

#[test]
fn consumers_start_then_eat_each_baozi_in_turn_then_stop() {
    let (ok, stdout) = run(&["--rounds", "2"]);
    assert!(ok);
    let expected = "\
[c1] ready for baozi
[c2] ready for baozi
[producer] made baozi 1
[c1] eating baozi 1
[c2] eating baozi 1
[producer] c1 has eaten 1, c2 has eaten 1
[producer] made baozi 2
[c1] eating baozi 2
[c2] eating baozi 2
[producer] c1 has eaten 2, c2 has eaten 2
[producer] 2 baozi made, closing the shop
[c1] no more baozi: I ate 2
[c2] no more baozi: I ate 2
[main] c1 returned Receipt { name: \"c1\", eaten: 2 }
[main] c2 returned Receipt { name: \"c2\", eaten: 2 }
";
    assert_eq!(stdout, expected);
}

#[test]
fn the_default_meal_is_five_baozi_for_two_consumers() {
    let (ok, stdout) = run(&[]);
    assert!(ok);
    assert!(stdout.contains("[producer] made baozi 5\n"));
    assert!(!stdout.contains("baozi 6"));
    assert!(stdout.contains("[c1] no more baozi: I ate 5\n"));
    assert!(stdout.contains("[c2] no more baozi: I ate 5\n"));
}

#[test]
fn any_number_of_consumers_take_turns() {
    let (ok, stdout) = run(&["--rounds", "1", "--consumers", "a", "b", "c"]);
    assert!(ok);
    let eating: Vec<&str> = stdout.lines().filter(|l| l.contains("eating")).collect();
    assert_eq!(
        eating,
        [
            "[a] eating baozi 1",
            "[b] eating baozi 1",
            "[c] eating baozi 1"
        ]
    );
}

/// The receipts prove that each consumer kept its own count between sends:
/// nothing outside the generator stores it.
#[test]
fn each_consumer_keeps_its_own_state_between_sends() {
    let mut consumers = vec![
        lesson_01_generators::consumer("x"),
        lesson_01_generators::consumer("y"),
    ];
    let receipts = lesson_01_generators::producer(&mut consumers, 3);
    let eaten: Vec<u32> = receipts.iter().map(|r| r.eaten).collect();
    assert_eq!(eaten, [3, 3]);
    assert!(consumers.iter().all(|c| c.is_done()));
}
