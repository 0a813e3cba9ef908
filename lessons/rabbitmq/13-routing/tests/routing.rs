//! Lesson 13 against a real broker: each receiver gets exactly the messages
//! its bindings select, by routing key (direct) and by headers (all / any).
//! The tables are checked against the broker itself, message by message.

use lapin::ExchangeKind;
use lapin::types::ShortString;
use lesson_13_routing::{
    Header, XMatch, header_table, headers_binding, headers_match, severity_bindings,
};
use support::amqp::Session;
use support::testkit::{Probe, Program, route, run, shared_rabbitmq, unique_name};

const EMIT_DIRECT: &str = env!("CARGO_BIN_EXE_emit-log-direct");
const RECEIVE_DIRECT: &str = env!("CARGO_BIN_EXE_receive-logs-direct");
const EMIT_HEADERS: &str = env!("CARGO_BIN_EXE_emit-log-headers");
const RECEIVE_HEADERS: &str = env!("CARGO_BIN_EXE_receive-logs-headers");

/// Declares an exchange with the lesson's own function.
fn declare(url: &str, exchange: &str, kind: ExchangeKind) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let session = Session::open(url).await.unwrap();
            lesson_13_routing::declare_exchange(&session.channel, &exchange.into(), kind)
                .await
                .unwrap();
            session.close().await.unwrap();
        });
}

fn headers(text: &str) -> Vec<Header> {
    text.split_whitespace()
        .map(|h| h.parse().unwrap())
        .collect()
}

/// Which routing keys each set of severities receives. A mark per queue:
/// `X` received, `.` not.
#[test]
fn a_direct_exchange_delivers_to_the_queues_bound_with_the_same_key() {
    let rabbit = shared_rabbitmq();
    let exchange = unique_name("direct_logs");
    declare(&rabbit.url(), &exchange, ExchangeKind::Direct);

    let queues: [&[&str]; 4] = [
        &["error"],
        &["info", "warning", "error"],
        &["info"],
        &["debug"],
    ];
    #[rustfmt::skip]
    let table = [
        // key        error  info,warning,error  info  debug
        ("error",     "X     X                   .     ."),
        ("info",      ".     X                   X     ."),
        ("warning",   ".     X                   .     ."),
        ("critical",  ".     .                   .     ."),
        ("Error",     ".     .                   .     ."), // keys are compared exactly
        ("",          ".     .                   .     ."),
    ];
    let bindings: Vec<_> = queues
        .iter()
        .map(|keys| {
            let keys: Vec<ShortString> = keys.iter().map(|k| (*k).into()).collect();
            severity_bindings(&keys)
        })
        .collect();
    let probes: Vec<Probe> = table
        .iter()
        .map(|(key, _)| Probe {
            routing_key: (*key).into(),
            body: format!("key {key:?}"),
            ..Probe::default()
        })
        .collect();

    let got = route(&rabbit.url(), &exchange, &bindings, &probes);
    for (column, keys) in queues.iter().enumerate() {
        let expected: Vec<String> = table
            .iter()
            .zip(&probes)
            .filter(|((_, marks), _)| marks.split_whitespace().nth(column) == Some("X"))
            .map(|(_, probe)| probe.body.clone())
            .collect();
        assert_eq!(got[column], expected, "queue bound with {keys:?}");
    }
}

/// Headers bindings, all and any, against messages with various headers:
/// the broker, the table and the lesson's `headers_match` must all agree.
#[test]
fn a_headers_exchange_matches_all_or_any_of_the_headers() {
    let rabbit = shared_rabbitmq();
    let exchange = unique_name("headers_logs");
    declare(&rabbit.url(), &exchange, ExchangeKind::Headers);

    // ANCHOR: headers_table
    let bindings = [
        (XMatch::All, headers("format=pdf type=report")),
        (XMatch::Any, headers("format=pdf type=report")),
        (XMatch::All, headers("format=zip")),
        (XMatch::Any, headers("format=zip type=log")),
    ];
    #[rustfmt::skip]
    let table = [
        // message headers                   all:pdf,report  any:pdf,report  all:zip  any:zip,log
        ("format=pdf type=report",           "X               X               .        ."),
        ("type=report format=pdf year=2024", "X               X               .        ."),
        ("format=pdf type=log",              ".               X               .        X"),
        ("format=pdf",                       ".               X               .        ."),
        ("type=report",                      ".               X               .        ."),
        ("format=zip type=log",              ".               .               X        X"),
        ("format=PDF type=REPORT",           ".               .               .        ."), // values are compared exactly
        ("",                                 ".               .               .        ."),
    ];
    // ANCHOR_END: headers_table
    let probes: Vec<Probe> = table
        .iter()
        .map(|(message, _)| Probe {
            headers: header_table(&headers(message)),
            body: format!("{{{message}}}"),
            ..Probe::default()
        })
        .collect();
    let broker_bindings: Vec<_> = bindings
        .iter()
        .map(|(x_match, wanted)| vec![headers_binding(*x_match, wanted)])
        .collect();
    let got = route(&rabbit.url(), &exchange, &broker_bindings, &probes);

    for (column, (x_match, wanted)) in bindings.iter().enumerate() {
        let expected: Vec<String> = table
            .iter()
            .zip(&probes)
            .filter(|((_, marks), _)| marks.split_whitespace().nth(column) == Some("X"))
            .map(|(_, probe)| probe.body.clone())
            .collect();
        assert_eq!(got[column], expected, "x-match {x_match:?} on {wanted:?}");
        for (message, _) in &table {
            let model = headers_match(*x_match, wanted, &headers(message));
            let broker = got[column].contains(&format!("{{{message}}}"));
            assert_eq!(
                model, broker,
                "headers_match({x_match:?}, {wanted:?}, {message:?})"
            );
        }
    }
}

/// The programs themselves: the receiver bound with `error` sees only the
/// error, the one bound with all three sees everything, in order.
#[test]
fn direct_receivers_print_only_their_severities() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let exchange = unique_name("direct_logs");
    let mut errors = Program::start(
        RECEIVE_DIRECT,
        ["--url", &url, "--exchange", &exchange, "error"],
    );
    let mut all = Program::start(
        RECEIVE_DIRECT,
        [
            "--url",
            &url,
            "--exchange",
            &exchange,
            "info",
            "warning",
            "error",
        ],
    );
    errors.expect_line("Waiting for logs");
    all.expect_line("Waiting for logs");

    for (severity, message) in [("info", "fyi"), ("warning", "hmm"), ("error", "boom")] {
        let sent = run(
            EMIT_DIRECT,
            ["--url", &url, "--exchange", &exchange, severity, message],
        );
        assert!(sent.success(), "{sent:?}");
        assert_eq!(sent.stdout, format!(" [x] Sent {severity}: {message:?}\n"));
    }
    // The error came last: had `errors` been sent the others, they would
    // have come first.
    assert_eq!(errors.expect_line("[x]"), r#" [x] error: "boom""#);
    assert_eq!(all.expect_line("[x]"), r#" [x] info: "fyi""#);
    assert_eq!(all.expect_line("[x]"), r#" [x] warning: "hmm""#);
    assert_eq!(all.expect_line("[x]"), r#" [x] error: "boom""#);
}

#[test]
fn headers_receivers_print_only_what_matches() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let exchange = unique_name("headers_logs");
    let receiver = |x_match: &str| {
        let mut program = Program::start(
            RECEIVE_HEADERS,
            [
                "--url",
                &url,
                "--exchange",
                &exchange,
                "--match",
                x_match,
                "format=pdf",
                "type=report",
            ],
        );
        program.expect_line("Waiting for logs");
        program
    };
    let mut all = receiver("all");
    let mut any = receiver("any");

    for (headers, message) in [
        (["-H", "type=report"], "some report"),
        (["-H", "format=pdf"], "a pdf"),
    ] {
        let sent = run(
            EMIT_HEADERS,
            [
                "--url",
                &url,
                "--exchange",
                &exchange,
                headers[0],
                headers[1],
                message,
            ],
        );
        assert!(sent.success(), "{sent:?}");
    }
    let sent = run(
        EMIT_HEADERS,
        [
            "--url",
            &url,
            "--exchange",
            &exchange,
            "-H",
            "format=pdf",
            "-H",
            "type=report",
            "the pdf report",
        ],
    );
    assert!(sent.success(), "{sent:?}");
    assert_eq!(
        sent.stdout,
        " [x] Sent {format=pdf, type=report}: \"the pdf report\"\n"
    );

    assert_eq!(
        all.expect_line("[x]"),
        r#" [x] {format=pdf, type=report}: "the pdf report""#
    );
    assert_eq!(
        any.expect_line("[x]"),
        r#" [x] {type=report}: "some report""#
    );
    assert_eq!(any.expect_line("[x]"), r#" [x] {format=pdf}: "a pdf""#);
    assert_eq!(
        any.expect_line("[x]"),
        r#" [x] {format=pdf, type=report}: "the pdf report""#
    );
}

/// A receiver with nothing to bind would receive nothing: it says how to
/// use it instead, and exits with clap's usage status, 2.
#[test]
fn receivers_refuse_an_empty_list_of_bindings() {
    for program in [RECEIVE_DIRECT, RECEIVE_HEADERS] {
        let refused = run(program, ["--url", "amqp://127.0.0.1:1/%2f"]);
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        assert!(refused.stderr.contains("Usage:"), "{}", refused.stderr);
    }
    let bad = run(RECEIVE_HEADERS, ["format"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stderr.contains("expected NAME=VALUE"), "{}", bad.stderr);
}
