//! Lesson 10 against a real broker: what `send` puts in a queue, `receive`
//! prints; a user made with rabbitmqctl can connect; a wrong password or a
//! broker that is down is a clear error and a non-zero exit, not a panic.

use futures_lite::StreamExt;
use lapin::types::ShortString;
use lesson_10_hello_world::bulk::send_many;
use lesson_10_hello_world::{declare_queue, receive};
use support::amqp::Session;
use support::testkit::{Program, queue_length, run, shared_rabbitmq, unique_name};

const SEND: &str = env!("CARGO_BIN_EXE_send");
const RECEIVE: &str = env!("CARGO_BIN_EXE_receive");

#[test]
fn what_send_sends_receive_prints() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("hello");
    let mut receiver = Program::start(RECEIVE, ["--url", &rabbit.url(), "--queue", &queue]);
    receiver.expect_line("Waiting for messages");

    let sent = run(SEND, ["--url", &rabbit.url(), "--queue", &queue]);
    assert!(sent.success(), "{sent:?}");
    assert_eq!(sent.stdout, " [x] Sent \"Hello World!\"\n");
    assert_eq!(
        receiver.expect_line("Received"),
        " [x] Received \"Hello World!\""
    );

    let sent = run(
        SEND,
        ["--url", &rabbit.url(), "--queue", &queue, "good", "morning"],
    );
    assert!(sent.success(), "{sent:?}");
    assert_eq!(
        receiver.expect_line("Received"),
        " [x] Received \"good morning\""
    );
}

/// A queue is a buffer: messages sent while nobody listens wait for the
/// first receiver, in the order they were sent.
#[test]
fn messages_wait_in_the_queue_until_someone_receives_them() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("hello");
    for word in ["one", "two", "three"] {
        let sent = run(SEND, ["--url", &rabbit.url(), "--queue", &queue, word]);
        assert!(sent.success(), "{sent:?}");
    }
    let mut receiver = Program::start(RECEIVE, ["--url", &rabbit.url(), "--queue", &queue]);
    for word in ["one", "two", "three"] {
        assert_eq!(
            receiver.expect_line("Received"),
            format!(" [x] Received \"{word}\"")
        );
    }
}

/// `send_many` keeps many publishes in flight, yet the queue gets them in
/// the order given.
#[tokio::test]
async fn send_many_keeps_the_order() {
    let rabbit = shared_rabbitmq();
    let queue: ShortString = unique_name("hello").as_str().into();
    let session = Session::open(&rabbit.url()).await.unwrap();
    declare_queue(&session.channel, &queue).await.unwrap();
    let bodies: Vec<String> = (0..2000).map(|n| n.to_string()).collect();
    send_many(
        &session.channel,
        &queue,
        bodies.iter().map(|b| b.as_bytes()),
    )
    .await
    .unwrap();

    let mut consumer = receive(&session.channel, &queue).await.unwrap();
    for expected in &bodies {
        let delivery = consumer.next().await.unwrap().unwrap();
        assert_eq!(String::from_utf8_lossy(&delivery.data), *expected);
    }
}

/// The chapter's recipe: `rabbitmqctl add_user`, then `set_permissions`,
/// then connect with that user's name and password in the URL.
#[test]
fn a_user_made_with_rabbitmqctl_can_send_and_receive() {
    let rabbit = shared_rabbitmq();
    let user = unique_name("hhh");
    rabbit.ctl(&["add_user", &user, "hhh1234"]).unwrap();
    rabbit
        .ctl(&["set_permissions", "-p", "/", &user, ".*", ".*", ".*"])
        .unwrap();
    let url = rabbit.url_for(&user, "hhh1234");
    let queue = unique_name("hello");

    let sent = run(SEND, ["--url", &url, "--queue", &queue, "from", &user]);
    assert!(sent.success(), "{sent:?}");
    let mut receiver = Program::start(RECEIVE, ["--url", &url, "--queue", &queue]);
    assert!(receiver.expect_line("Received").contains(&user));
}

#[test]
fn a_wrong_password_is_a_clear_error() {
    let rabbit = shared_rabbitmq();
    let user = unique_name("hhh");
    rabbit.ctl(&["add_user", &user, "hhh1234"]).unwrap();
    let sent = run(SEND, ["--url", &rabbit.url_for(&user, "wrong-password")]);
    assert!(!sent.success());
    assert_clear_error(&sent.stderr, "refused the login");
    assert!(
        sent.stderr.contains(&format!("{user}:***@")),
        "{}",
        sent.stderr
    );
    assert!(
        !sent.stderr.contains("wrong-password"),
        "the password leaked"
    );
}

/// `add_user` alone is not enough: without `set_permissions` the user may
/// not use the virtual host `/`.
#[test]
fn a_user_without_permissions_is_told_so() {
    let rabbit = shared_rabbitmq();
    let user = unique_name("nobody");
    rabbit.ctl(&["add_user", &user, "pw"]).unwrap();
    let sent = run(SEND, ["--url", &rabbit.url_for(&user, "pw")]);
    assert!(!sent.success());
    assert_clear_error(&sent.stderr, "set_permissions");
}

#[test]
fn a_broker_that_is_down_is_a_clear_error() {
    // A port nothing listens on: bound, read, and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    for program in [SEND, RECEIVE] {
        let finished = run(program, ["--url", &url]);
        assert!(!finished.success());
        assert_clear_error(&finished.stderr, &format!("127.0.0.1:{port}"));
        assert!(finished.stderr.contains("just up"), "{}", finished.stderr);
    }
}

/// One line that starts with `error:`, says `what`, and no panic.
fn assert_clear_error(stderr: &str, what: &str) {
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(what), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Exercise 3, on a real broker: `set_permissions USER CONFIGURE WRITE
/// READ`. Both programs declare their queue, which needs *configure*, so a
/// user with read rights alone ("" "" "^hello") can run neither. With
/// configure and read on `hello...` queues but no write ("^hello" ""
/// "^hello"), `receive` works; `send` still says "Sent", but the broker
/// refused the publish (writing to the default exchange), closing the
/// channel after `send` had written the message: the queue stays empty.
/// Without publisher confirms (lesson 11), `send` cannot know.
#[test]
fn exercise_3_configure_and_read_let_receive_work_and_send_lose_its_message() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("hello");

    let reader = unique_name("reader");
    rabbit.ctl(&["add_user", &reader, "pw"]).unwrap();
    rabbit
        .ctl(&["set_permissions", "-p", "/", &reader, "", "", "^hello"])
        .unwrap();
    let url = rabbit.url_for(&reader, "pw");
    for program in [SEND, RECEIVE] {
        let refused = run(program, ["--url", &url, "--queue", &queue]);
        assert!(!refused.success(), "{refused:?}");
        assert_clear_error(&refused.stderr, "ACCESS_REFUSED");
        assert!(refused.stderr.contains("access to queue"), "{refused:?}");
    }

    let consumer = unique_name("consumer");
    rabbit.ctl(&["add_user", &consumer, "pw"]).unwrap();
    rabbit
        .ctl(&[
            "set_permissions",
            "-p",
            "/",
            &consumer,
            "^hello",
            "",
            "^hello",
        ])
        .unwrap();
    let url = rabbit.url_for(&consumer, "pw");
    let mut receiver = Program::start(RECEIVE, ["--url", &url, "--queue", &queue]);
    receiver.expect_line("Waiting for messages");
    receiver.kill(); // the queue stays, with nobody consuming it

    let sent = run(SEND, ["--url", &url, "--queue", &queue]);
    assert!(sent.success(), "{sent:?}");
    assert_eq!(sent.stdout, " [x] Sent \"Hello World!\"\n");
    assert_eq!(queue_length(&rabbit.url(), &queue), Some(0), "refused");
    // The same send by a user who may write does land in the queue.
    let sent = run(SEND, ["--url", &rabbit.url(), "--queue", &queue]);
    assert!(sent.success(), "{sent:?}");
    assert_eq!(queue_length(&rabbit.url(), &queue), Some(1));
}
