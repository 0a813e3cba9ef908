//! Every published message reaches the subscriber, in order; patterns match
//! the channels they should and no others; a message published to nobody
//! is gone. Each test uses channel names of its own on the shared server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lesson_24_pubsub::{Message, RedisHelper, Subscription};
use support::testkit::{shared_redis, unique_name};

/// Bounds every wait for a message: a lost message fails the test instead
/// of hanging it.
async fn next(subscription: &mut Subscription) -> Message {
    tokio::time::timeout(Duration::from_secs(10), subscription.next_message())
        .await
        .expect("no message within 10 s")
        .expect("the subscription closed")
}

#[tokio::test]
async fn every_message_arrives_in_order() {
    let channel = unique_name("fm104.5");
    let mut helper = RedisHelper::connect(&shared_redis().url(), &channel)
        .await
        .unwrap();
    let mut subscription = helper.subscribe().await.unwrap();
    for i in 0..500 {
        let receivers = helper.publish(&format!("message {i}")).await.unwrap();
        assert_eq!(receivers, 1);
    }
    for i in 0..500 {
        let message = next(&mut subscription).await;
        assert_eq!(
            message,
            Message {
                channel: channel.clone(),
                pattern: None,
                payload: format!("message {i}"),
            }
        );
    }
}

#[tokio::test]
async fn a_pattern_matches_its_channels_and_no_others() {
    let station = unique_name("radio");
    let url = shared_redis().url();
    let helper = RedisHelper::connect(&url, "unused").await.unwrap();
    let pattern = format!("{station}.fm*");
    let mut subscription = helper.listen(&[], &[&pattern]).await.unwrap();

    let mut publisher = support::redis::connect_async(&url).await.unwrap();
    for (channel, payload) in [("fm104.5", "one"), ("am1", "not me"), ("fm99.1", "two")] {
        let channel = format!("{station}.{channel}");
        let _: usize = redis::AsyncCommands::publish(&mut publisher, &channel, payload)
            .await
            .unwrap();
    }
    let first = next(&mut subscription).await;
    let second = next(&mut subscription).await;
    assert_eq!(
        (
            first.channel,
            first.pattern.as_deref(),
            first.payload.as_str()
        ),
        (format!("{station}.fm104.5"), Some(&*pattern), "one")
    );
    // am1 was published in between and did not arrive: fm99.1 comes next.
    assert_eq!(
        (second.channel, second.payload.as_str()),
        (format!("{station}.fm99.1"), "two")
    );
}

#[tokio::test]
async fn a_message_nobody_listens_to_is_gone() {
    let channel = unique_name("empty");
    let mut helper = RedisHelper::connect(&shared_redis().url(), &channel)
        .await
        .unwrap();
    assert_eq!(helper.publish("into the void").await.unwrap(), 0);
    let mut subscription = helper.subscribe().await.unwrap();
    assert_eq!(helper.publish("after tuning in").await.unwrap(), 1);
    assert_eq!(next(&mut subscription).await.payload, "after tuning in");
}

/// Kills the subscriber if the test fails before it exits by itself.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The two programs, as a student runs them in two terminals.
#[test]
fn the_subscriber_program_prints_what_the_publisher_program_sends() {
    let url = shared_redis().url();
    let channel = unique_name("fm104.5");
    let mut subscriber = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_subscriber"))
            .args(["--url", &url, "--channel", &channel, "--count", "100"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the subscriber"),
    );
    let mut lines = BufReader::new(subscriber.0.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    assert_eq!(first, format!("subscribed to {channel} (Ctrl-C to stop)"));

    let published = Command::new(env!("CARGO_BIN_EXE_publisher"))
        .args(["--url", &url, "--channel", &channel, "--count", "100"])
        .output()
        .expect("run the publisher");
    assert!(published.status.success());
    let published = String::from_utf8_lossy(&published.stdout);
    assert_eq!(
        published
            .lines()
            .filter(|l| l.ends_with("-> delivered to 1 subscription(s)"))
            .count(),
        100,
        "{published}"
    );

    let received: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let mut expected: Vec<String> = (1..=100)
        .map(|i| format!("{channel}: message {i}"))
        .collect();
    expected.push("received 100 message(s)".into());
    assert_eq!(received, expected);
    assert!(subscriber.0.wait().unwrap().success());
}
