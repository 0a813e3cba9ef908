//! The throwaway brokers are real, answer on ports of their own, and the
//! connection helpers explain failures instead of panicking.

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use support::ConnectError;
use support::testkit::{
    MemcachedServer, RabbitMq, RedisServer, shared_memcached, shared_rabbitmq, shared_redis,
    unique_name,
};

#[test]
fn redis_set_then_get() {
    let redis = shared_redis();
    let mut connection = support::redis::connect(&redis.url()).expect("connect");
    let key = unique_name("smoke");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("baozi")
        .query(&mut connection)
        .unwrap();
    let value: String = redis::cmd("GET").arg(&key).query(&mut connection).unwrap();
    assert_eq!(value, "baozi");
}

// ANCHOR: shared
#[tokio::test]
async fn rabbitmq_publish_then_consume() {
    let rabbit = shared_rabbitmq();
    let connection = support::amqp::connect(&rabbit.url())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.unwrap();
    let queue = unique_name("smoke");
    declare(&channel, &queue, false).await;
    publish(&channel, &queue, b"hello", false).await;
    assert_eq!(consume_one(&channel, &queue).await, b"hello");
}
// ANCHOR_END: shared

/// What lesson 11 relies on: a durable queue and a persistent message come
/// back after a graceful restart; after a kill, clients get a clear error.
#[tokio::test]
async fn rabbitmq_keeps_durable_data_across_a_restart() {
    let mut rabbit = RabbitMq::start().expect("start a private node");
    let url = rabbit.url();
    {
        let connection = support::amqp::connect(&url).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        declare(&channel, "task_queue", true).await;
        publish(&channel, "task_queue", b"survive me", true).await;
        connection.close(200, "bye".into()).await.unwrap();
    }
    rabbit.restart().expect("restart");
    let connection = support::amqp::connect(&url).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    declare(&channel, "task_queue", true).await;
    assert_eq!(consume_one(&channel, "task_queue").await, b"survive me");

    rabbit.kill();
    assert!(!rabbit.is_running());
    let error = support::amqp::connect(&url).await.unwrap_err();
    assert!(matches!(error, ConnectError::Unreachable { .. }), "{error}");
    rabbit.start_again().expect("start after a kill");
    support::amqp::connect(&url)
        .await
        .expect("connect after restart");
}

#[tokio::test]
async fn a_wrong_password_is_reported_as_such() {
    let rabbit = shared_rabbitmq();
    let error = support::amqp::connect(&rabbit.url_for("guest", "wrong"))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ConnectError::AuthRefused { .. }),
        "{message}"
    );
    assert!(message.contains("guest:***@127.0.0.1"), "{message}");
    assert!(!message.contains("wrong"), "the password leaked: {message}");
}

#[test]
fn a_user_made_with_rabbitmqctl_can_connect() {
    let rabbit = shared_rabbitmq();
    let user = unique_name("hhh");
    rabbit.ctl(&["add_user", &user, "hhh1234"]).unwrap();
    rabbit
        .ctl(&["set_permissions", "-p", "/", &user, ".*", ".*", ".*"])
        .unwrap();
    let url = rabbit.url_for(&user, "hhh1234");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(support::amqp::connect(&url))
        .expect("the new user connects");
}

#[test]
fn throwaway_brokers_stay_off_the_default_ports() {
    assert_ne!(shared_redis().port(), 6379);
    assert_ne!(shared_rabbitmq().port(), 5672);
    assert_ne!(shared_memcached().port(), 11211);
}

/// The test kit's Redis has a password, as the course's has: a URL without
/// it is refused, the kit's own URL gets in.
#[test]
fn the_throwaway_redis_wants_its_password() {
    let server = shared_redis();
    let password = server.password().expect("a password");
    assert!(server.url().contains(&format!(":{password}@")));
    let bare = format!("redis://127.0.0.1:{}/", server.port());
    let error = support::redis::connect(&bare).err().expect("refused");
    assert!(matches!(error, ConnectError::AuthRefused { .. }), "{error}");
    support::redis::connect(&server.url()).expect("the kit's URL gets in");
}

/// A student's own Redis without a password, met with the course's default
/// URL (which carries one): the error says exactly what to set.
#[test]
fn a_redis_without_a_password_says_what_to_set() {
    let open = RedisServer::start_open().unwrap();
    let url = format!(
        "redis://:{}@127.0.0.1:{}/",
        support::redis::COURSE_REDIS_PASSWORD,
        open.port()
    );
    let error = support::redis::connect(&url).err().expect("AUTH refused");
    let message = error.to_string();
    assert!(
        matches!(error, ConnectError::NoPasswordOnServer { .. }),
        "{message}"
    );
    let without = format!("redis://127.0.0.1:{}/", open.port());
    assert!(
        message.contains(&format!("export REDIS_URL={without}")),
        "{message}"
    );
    assert!(
        message.contains("CONFIG SET requirepass course-redis"),
        "{message}"
    );
    // And the advice works: that URL connects.
    support::redis::connect(&without).expect("the URL without a password connects");
}

/// A throwaway memcached answers the text protocol on its own port.
#[test]
fn memcached_set_then_get() {
    use std::io::{BufRead, BufReader, Write};
    let server = MemcachedServer::start().unwrap();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"set greeting 0 0 5\r\nhello\r\nget greeting\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    assert_eq!(lines, ["STORED", "VALUE greeting 0 5", "hello", "END"]);
}

/// The classroom's most common failure: the broker is not running. The
/// message must say where we looked and how to start it.
#[tokio::test]
async fn nothing_listening_gives_the_address_and_the_hint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // the listener is dropped here: nothing listens on `port`
    let amqp = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let message = support::amqp::connect(&amqp).await.unwrap_err().to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("just up"), "{message}");

    let redis = format!("redis://127.0.0.1:{port}/");
    let message = support::redis::connect(&redis).err().unwrap().to_string();
    assert!(message.contains(&redis), "{message}");
    assert!(message.contains("just up"), "{message}");
}

#[tokio::test]
async fn a_malformed_url_is_a_typo_not_an_outage() {
    let error = support::amqp::connect("amqp://127.0.0.1:notaport")
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::BadUrl { .. }), "{error}");
    let error = support::redis::connect("http://127.0.0.1/").err().unwrap();
    assert!(matches!(error, ConnectError::BadUrl { .. }), "{error}");
}

async fn declare(channel: &Channel, queue: &str, durable: bool) {
    let options = QueueDeclareOptions {
        durable,
        ..Default::default()
    };
    channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await
        .unwrap();
}

async fn publish(channel: &Channel, queue: &str, body: &[u8], persistent: bool) {
    let properties = if persistent {
        BasicProperties::default().with_delivery_mode(2)
    } else {
        BasicProperties::default()
    };
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn consume_one(channel: &Channel, queue: &str) -> Vec<u8> {
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let delivery = consumer.next().await.expect("a delivery").unwrap();
    delivery.ack(BasicAckOptions::default()).await.unwrap();
    delivery.data
}
