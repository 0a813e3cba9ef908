//! Lesson 14 against a real broker: the table of routing keys × patterns,
//! where the notes' reading of the wildcards and the truth part ways, is
//! checked three ways: the table, the real broker, and `topic_matches`.

use lapin::types::ShortString;
use lesson_14_topics::topic_matches;
use support::amqp::{Binding, Session};
use support::testkit::{Probe, Program, route, run, shared_rabbitmq, unique_name};

const EMIT: &str = env!("CARGO_BIN_EXE_emit-log-topic");
const RECEIVE: &str = env!("CARGO_BIN_EXE_receive-logs-topic");

// ANCHOR: table
const PATTERNS: [&str; 9] = [
    "*.orange.*",
    "*.*.rabbit",
    "lazy.#",
    "#",
    "kern.*",
    "*.critical",
    "#.a",
    "*.a",
    "kern*",
];

/// `X`: a queue bound with the pattern above the column gets a message
/// with the key on the left. The rows marked "notes" are where reading the
/// wildcards as characters (as the notes do) gives the wrong answer.
#[rustfmt::skip]
const TABLE: &[(&str, &str)] = &[
    //                             *.orange.*  *.*.rabbit  lazy.#  #  kern.*  *.critical  #.a  *.a  kern*
    ("quick.orange.rabbit",       "X           X           .       X  .       .           .    .    ."),
    ("lazy.orange.elephant",      "X           .           X       X  .       .           .    .    ."),
    ("quick.orange.fox",          "X           .           .       X  .       .           .    .    ."),
    ("lazy.brown.fox",            ".           .           X       X  .       .           .    .    ."),
    ("lazy",                      ".           .           X       X  .       .           .    .    ."), // # takes zero words
    ("quick.orange.new.rabbit",   ".           .           .       X  .       .           .    .    ."), // * takes one word only
    ("orange",                    ".           .           .       X  .       .           .    .    ."),
    ("kern.critical",             ".           .           .       X  X       X           .    .    ."), // two bindings, one copy
    ("kern",                      ".           .           .       X  .       .           .    .    ."),
    ("kern.disk.full",            ".           .           .       X  .       .           .    .    ."),
    ("kernel.info",               ".           .           .       X  .       .           .    .    ."), // notes: kern* matches kernel
    ("kern*",                     ".           .           .       X  .       .           .    .    X"), // kern* is a literal word
    ("a",                         ".           .           .       X  .       .           X    .    ."), // notes: # needs a character
    ("a.a",                       ".           .           .       X  .       .           X    X    ."),
    ("aa.a",                      ".           .           .       X  .       .           X    X    ."), // notes: * is one character
    ("x.y.a",                     ".           .           .       X  .       .           X    .    ."), // notes: * is any run of characters
    ("ba",                        ".           .           .       X  .       .           .    .    ."), // the last word must be exactly a
];
// ANCHOR_END: table

fn expected(column: usize) -> Vec<String> {
    TABLE
        .iter()
        .filter(|(_, marks)| marks.split_whitespace().nth(column) == Some("X"))
        .map(|(key, _)| key.to_string())
        .collect()
}

#[test]
fn the_table_agrees_with_the_real_broker() {
    let rabbit = shared_rabbitmq();
    let exchange = unique_name("topic_logs");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let session = Session::open(&rabbit.url()).await.unwrap();
            lesson_14_topics::declare_exchange(&session.channel, &exchange.as_str().into())
                .await
                .unwrap();
            session.close().await.unwrap();
        });

    let queues: Vec<Vec<Binding>> = PATTERNS
        .iter()
        .map(|pattern| vec![Binding::key((*pattern).into())])
        .collect();
    let probes: Vec<Probe> = TABLE
        .iter()
        .map(|(key, _)| Probe {
            routing_key: (*key).into(),
            body: key.to_string(),
            ..Probe::default()
        })
        .collect();
    let got = route(&rabbit.url(), &exchange, &queues, &probes);
    for (column, pattern) in PATTERNS.iter().enumerate() {
        assert_eq!(
            got[column],
            expected(column),
            "the broker, for pattern {pattern:?}"
        );
    }
}

/// The lesson's `topic_matches` is the same rule as the broker's (the test
/// above ties the table to the broker).
#[test]
fn the_table_agrees_with_topic_matches() {
    for (column, pattern) in PATTERNS.iter().enumerate() {
        let model: Vec<String> = TABLE
            .iter()
            .filter(|(key, _)| topic_matches(pattern, key))
            .map(|(key, _)| key.to_string())
            .collect();
        assert_eq!(
            model,
            expected(column),
            "topic_matches for pattern {pattern:?}"
        );
    }
}

#[test]
fn receivers_print_what_their_patterns_select() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let exchange = unique_name("topic_logs");
    let receiver = |patterns: &[&str]| {
        let mut args = vec!["--url", &url, "--exchange", &exchange];
        args.extend_from_slice(patterns);
        let mut program = Program::start(RECEIVE, args);
        program.expect_line("Waiting for logs");
        program
    };
    let mut kernel_or_critical = receiver(&["kern.*", "*.critical"]);
    let mut everything = receiver(&["#"]);

    for (key, message) in [
        ("cron.info", "tick"),
        ("kern.disk.full", "no space"),
        ("kern.critical", "A critical kernel error"),
    ] {
        let sent = run(EMIT, ["--url", &url, "--exchange", &exchange, key, message]);
        assert!(sent.success(), "{sent:?}");
        assert_eq!(sent.stdout, format!(" [x] Sent {key}: {message:?}\n"));
    }
    assert_eq!(
        kernel_or_critical.expect_line("[x]"),
        r#" [x] kern.critical: "A critical kernel error" (matched kern.*, *.critical)"#
    );
    assert_eq!(
        everything.expect_line("[x]"),
        r#" [x] cron.info: "tick" (matched #)"#
    );
    assert_eq!(
        everything.expect_line("[x]"),
        r#" [x] kern.disk.full: "no space" (matched #)"#
    );
    assert!(everything.expect_line("[x]").contains("kern.critical"));
}

/// `kern*` is the notes' mistake: the receiver says it is a literal word,
/// and indeed gets nothing from `kernel.info`.
#[test]
fn a_wildcard_inside_a_word_is_pointed_out() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let exchange = unique_name("topic_logs");
    let mut receiver = Program::start(RECEIVE, ["--url", &url, "--exchange", &exchange, "kern*"]);
    let warning = receiver.expect_line("[!]");
    assert!(
        warning.contains(r#""kern*" is a literal word"#),
        "{warning}"
    );
    receiver.expect_line("Waiting for logs");
    for key in ["kernel.info", "kern*"] {
        let sent = run(EMIT, ["--url", &url, "--exchange", &exchange, key, "hi"]);
        assert!(sent.success(), "{sent:?}");
    }
    assert_eq!(
        receiver.expect_line("[x]"),
        r#" [x] kern*: "hi" (matched kern*)"#
    );
}

#[test]
fn a_receiver_refuses_an_empty_list_of_patterns() {
    let refused = run(RECEIVE, ["--url", "amqp://127.0.0.1:1/%2f"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(refused.stderr.contains("Usage:"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("<PATTERNS>..."),
        "{}",
        refused.stderr
    );
}

/// Routing keys are short strings: longer than 255 bytes is a usage error,
/// not a panic.
#[test]
fn an_overlong_routing_key_is_refused_cleanly() {
    let key: ShortString = "k".repeat(255).into();
    let refused = run(
        EMIT,
        ["--url", "amqp://127.0.0.1:1/%2f", &format!("{key}x")],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        refused.stderr.contains("at most 255 bytes"),
        "{}",
        refused.stderr
    );
}
