//! Lesson 15 against a real broker: correct results for a range of inputs;
//! concurrent calls, from one client and from several, each get their own
//! answer; bad requests get error replies and the server lives on; stale
//! replies are ignored; with no server, a client fails cleanly.

use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use lapin::BasicProperties;
use lapin::options::{BasicAckOptions, BasicPublishOptions};
use lapin::types::ShortString;
use lesson_15_rpc::{CallError, LARGEST_N, RpcClient, declare_request_queue};
use support::amqp::{Acks, Session, consume};
use support::testkit::{Program, run, shared_rabbitmq, unique_name};

const SERVER: &str = env!("CARGO_BIN_EXE_rpc-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_rpc-client");

/// Generous: a loaded CI machine may be slow, and only the timeout test
/// waits for it to pass.
const TIMEOUT: Duration = Duration::from_secs(60);

fn server(url: &str, queue: &str) -> Program {
    let mut server = Program::start(SERVER, ["--url", url, "--queue", queue]);
    server.expect_line("Awaiting RPC requests");
    server
}

/// Fibonacci numbers computed another way (u128, no overflow checks), to
/// check the server's answers against.
fn expected_fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u128, 1u128);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    u64::try_from(a).unwrap()
}

/// Every n from 0 to 93 at once, through one client: each call gets its
/// own number, whatever order the replies come in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_from_one_client_each_get_their_own_answer() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("rpc_queue");
    let _server = server(&rabbit.url(), &queue);
    let session = Session::open(&rabbit.url()).await.unwrap();
    let client = Arc::new(
        RpcClient::new(session.channel.clone(), queue.as_str().into())
            .await
            .unwrap(),
    );

    let calls: Vec<_> = (0..=LARGEST_N)
        .map(|n| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { (n, client.call(&n.to_string(), TIMEOUT).await) })
        })
        .collect();
    for call in calls {
        let (n, result) = call.await.unwrap();
        assert_eq!(result.unwrap(), expected_fib(n), "fib({n})");
    }
    assert_eq!(client.ignored_replies(), 0);
}

/// Two servers share the requests (prefetch 1); two client programs run at
/// the same time with many calls each: every answer is right, and both
/// servers answered some.
#[test]
fn several_servers_and_clients_at_once() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let queue = unique_name("rpc_queue");
    let servers = [server(&url, &queue), server(&url, &queue)];
    let numbers: Vec<String> = (0..40).map(|n| n.to_string()).collect();
    let client = || {
        let mut args = vec![
            "--url".to_string(),
            url.clone(),
            "--queue".into(),
            queue.clone(),
        ];
        args.extend(numbers.iter().cloned());
        Program::start(CLIENT, args)
    };
    let clients = [client(), client()];
    for client in clients {
        let finished = client.finish();
        assert!(finished.success(), "{finished:?}");
        for n in 0..40 {
            let line = format!(" [.] fib({n}) = {}\n", expected_fib(n));
            assert!(
                finished.stdout.contains(&line),
                "no {line:?} in {}",
                finished.stdout
            );
        }
    }
    // The requests were shared: each server printed a line for every
    // request it answered, and both answered some of the 80.
    let mut servers = servers;
    let mut served = [0usize; 2];
    let deadline = std::time::Instant::now() + support::testkit::PATIENCE;
    while served.iter().sum::<usize>() < 80 && std::time::Instant::now() < deadline {
        for (count, server) in served.iter_mut().zip(&mut servers) {
            while let Some(line) = server.next_line(Duration::from_millis(50)) {
                if line.starts_with(" [.] fib(") {
                    *count += 1;
                }
            }
        }
    }
    assert_eq!(served.iter().sum::<usize>(), 80, "{served:?}");
    assert!(
        served.iter().all(|&n| n > 0),
        "one server did it all: {served:?}"
    );
}

/// Requests without a Fibonacci number get an error reply, never a crash:
/// the server answers the next request as if nothing happened.
#[test]
fn bad_requests_get_error_replies_and_the_server_lives_on() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();
    let queue = unique_name("rpc_queue");
    let mut server = server(&url, &queue);
    let huge = "9".repeat(30);
    let finished = run(
        CLIENT,
        [
            "--url", &url, "--queue", &queue, "abc", "-5", "94", &huge, "", "10",
        ],
    );
    assert!(
        !finished.success(),
        "some calls failed, so the exit status says so"
    );
    let stdout = &finished.stdout;
    for expected in [
        r#" [!] fib(abc): the server answered with an error: "abc" is not a number"#,
        " [!] fib(-5): the server answered with an error: fib is not defined for negative numbers (-5)",
        " [!] fib(94): the server answered with an error: fib(94) does not fit in 64 bits: the largest n is 93",
        &format!(
            " [!] fib({huge}): the server answered with an error: fib({huge}) does not fit in 64 bits"
        ),
        r#" [!] fib(): the server answered with an error: "" is not a number"#,
        " [.] fib(10) = 55",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    assert!(
        finished.stderr.contains("5 of 6 calls failed"),
        "{}",
        finished.stderr
    );
    server.expect_line("fib(10) = 55");

    let again = run(CLIENT, ["--url", &url, "--queue", &queue, "30"]);
    assert!(again.success(), "{again:?}");
    assert_eq!(
        again.stdout,
        " [x] Requesting fib(30)\n [.] fib(30) = 832040\n"
    );
}

/// A reply that comes after its call gave up must not be taken for the
/// answer to the next call. The test plays a slow server by hand: it holds
/// the first request until the client has timed out, then answers it
/// wrongly, then answers the second request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_reply_is_ignored_not_given_to_the_next_call() {
    let rabbit = shared_rabbitmq();
    let queue: ShortString = unique_name("rpc_queue").as_str().into();
    let server_session = Session::open(&rabbit.url()).await.unwrap();
    let server_channel = &server_session.channel;
    declare_request_queue(server_channel, &queue).await.unwrap();
    let mut requests = consume(server_channel, &queue, Acks::Manual).await.unwrap();

    let session = Session::open(&rabbit.url()).await.unwrap();
    let client = RpcClient::new(session.channel.clone(), queue.clone())
        .await
        .unwrap();

    let first = client.call("7", Duration::from_millis(200)).await;
    assert!(matches!(first, Err(CallError::Timeout(_))), "{first:?}");

    let second = client.call("1", TIMEOUT);
    let slow_server = async {
        for answer in ["999", "1"] {
            let request = requests.next().await.unwrap().unwrap();
            let properties = request.properties.clone();
            server_channel
                .basic_publish(
                    "".into(),
                    properties.reply_to().clone().unwrap(),
                    BasicPublishOptions::default(),
                    answer.as_bytes(),
                    BasicProperties::default()
                        .with_correlation_id(properties.correlation_id().clone().unwrap()),
                )
                .await
                .unwrap();
            request.ack(BasicAckOptions::default()).await.unwrap();
        }
    };
    let (second, ()) = futures_lite::future::zip(second, slow_server).await;
    assert_eq!(second.unwrap(), 1, "the second call got its own answer");
    assert_eq!(client.ignored_replies(), 1, "the late answer was dropped");
}

/// A reply with a correlation id the client never used is dropped too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_with_an_unknown_correlation_id_is_ignored() {
    let rabbit = shared_rabbitmq();
    let queue = unique_name("rpc_queue");
    let _server = server(&rabbit.url(), &queue);
    let session = Session::open(&rabbit.url()).await.unwrap();
    let client = RpcClient::new(session.channel.clone(), queue.as_str().into())
        .await
        .unwrap();

    session
        .channel
        .basic_publish(
            "".into(),
            client.reply_queue().clone(),
            BasicPublishOptions::default(),
            b"666",
            BasicProperties::default().with_correlation_id("not-one-of-ours".into()),
        )
        .await
        .unwrap();
    assert_eq!(client.call("12", TIMEOUT).await.unwrap(), 144);
    assert_eq!(client.ignored_replies(), 1);
}

/// With no server, a client does not hang: if the request queue exists
/// (a server ran once) it times out; if it does not, it says so at once.
#[test]
fn without_a_server_the_client_fails_cleanly() {
    let rabbit = shared_rabbitmq();
    let url = rabbit.url();

    let never_served = unique_name("rpc_queue");
    let finished = run(CLIENT, ["--url", &url, "--queue", &never_served, "5"]);
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished
            .stdout
            .contains(&format!("there is no queue `{never_served}`")),
        "{finished:?}"
    );

    let abandoned = unique_name("rpc_queue");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let session = Session::open(&url).await.unwrap();
        declare_request_queue(&session.channel, &abandoned.as_str().into())
            .await
            .unwrap();
        session.close().await.unwrap();
    });
    let finished = run(
        CLIENT,
        [
            "--url",
            &url,
            "--queue",
            &abandoned,
            "--timeout",
            "0.3",
            "5",
        ],
    );
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished
            .stdout
            .contains("no reply within 300ms: is an rpc-server running?"),
        "{finished:?}"
    );
    assert!(!finished.stderr.contains("panicked"), "{}", finished.stderr);
}

#[test]
fn a_timeout_must_be_a_positive_number_of_seconds() {
    for bad in ["0", "-1", "soon", "NaN"] {
        let refused = run(CLIENT, ["--timeout", bad, "5"]);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "--timeout {bad}: {refused:?}"
        );
    }
}
