//! Lesson 12 against a real broker: a fanout exchange gives every
//! subscriber every message; a message nobody is subscribed for is dropped;
//! a subscriber's queue is its own and goes away with it.

use support::testkit::{Program, ask_queue, eventually, run, shared_rabbitmq, unique_name};

const EMIT: &str = env!("CARGO_BIN_EXE_emit-log");
const RECEIVE: &str = env!("CARGO_BIN_EXE_receive-logs");

fn receiver(url: &str, exchange: &str) -> Program {
    let mut receiver = Program::start(RECEIVE, ["--url", url, "--exchange", exchange]);
    receiver.expect_line("Waiting for logs");
    receiver
}

fn emit(url: &str, exchange: &str, message: &str) {
    let sent = run(EMIT, ["--url", url, "--exchange", exchange, message]);
    assert!(sent.success(), "{sent:?}");
    assert_eq!(sent.stdout, format!(" [x] Sent {message:?}\n"));
}

#[test]
fn every_subscriber_gets_every_message() {
    let rabbit = shared_rabbitmq();
    let exchange = unique_name("logs");
    let mut first = receiver(&rabbit.url(), &exchange);
    let mut second = receiver(&rabbit.url(), &exchange);

    emit(&rabbit.url(), &exchange, "info: one");
    emit(&rabbit.url(), &exchange, "error: two");
    for receiver in [&mut first, &mut second] {
        assert_eq!(receiver.expect_line("[x]"), r#" [x] "info: one""#);
        assert_eq!(receiver.expect_line("[x]"), r#" [x] "error: two""#);
    }
}

/// An exchange stores nothing: what is published while no queue is bound
/// is dropped, and a subscriber sees only what comes after it subscribed.
#[test]
fn messages_published_before_anyone_subscribed_are_lost() {
    let rabbit = shared_rabbitmq();
    let exchange = unique_name("logs");
    emit(&rabbit.url(), &exchange, "nobody hears this");
    let mut late = receiver(&rabbit.url(), &exchange);
    emit(&rabbit.url(), &exchange, "after");
    // Queues are first in, first out: had the first message been kept,
    // it would come before this one.
    assert_eq!(late.expect_line("[x]"), r#" [x] "after""#);
}

/// The receiver's queue has a name the broker made up, and exists only as
/// long as the receiver's connection: killed, it leaves nothing behind.
#[test]
fn a_subscribers_queue_is_its_own_and_goes_away_with_it() {
    let rabbit = shared_rabbitmq();
    let exchange = unique_name("logs");
    let mut receiver = Program::start(RECEIVE, ["--url", &rabbit.url(), "--exchange", &exchange]);
    let line = receiver.expect_line("Queue");
    let queue = line
        .split_whitespace()
        .find(|word| word.starts_with("amq.gen-"))
        .unwrap_or_else(|| panic!("no server-named queue in {line:?}"))
        .to_string();
    receiver.expect_line("Waiting for logs");
    // Exclusive: another connection may not even look at it.
    assert_eq!(
        ask_queue(&rabbit.url(), &queue),
        Err(405),
        "RESOURCE_LOCKED"
    );

    receiver.kill();
    // The broker deletes it as soon as it notices the connection is gone.
    eventually(&format!("{queue} to go with its receiver"), || {
        ask_queue(&rabbit.url(), &queue) == Err(404)
    });
}
