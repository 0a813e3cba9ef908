//! Connection errors point the right way: each hint names what to check on
//! the broker that actually answered, against real brokers.

use support::ConnectError;
use support::testkit::{RedisServer, shared_rabbitmq};

/// A Redis password is the server's `requirepass`, not a RabbitMQ user:
/// the hint must not send the student to `rabbitmqctl add_user`.
#[test]
fn a_wrong_redis_password_points_at_requirepass() {
    let redis = RedisServer::start().expect("start redis-server");
    let mut admin = support::redis::connect(&redis.url()).expect("connect");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("right-one")
        .query(&mut admin)
        .expect("set a password");

    let url = format!("redis://:wrong-one@127.0.0.1:{}/", redis.port());
    let error = support::redis::connect(&url).err().expect("refused");
    let message = error.to_string();
    assert!(
        matches!(error, ConnectError::AuthRefused { .. }),
        "{message}"
    );
    assert!(message.contains("requirepass"), "{message}");
    assert!(!message.contains("rabbitmqctl"), "{message}");
    assert!(
        !message.contains("wrong-one"),
        "the password leaked: {message}"
    );
}

/// The classic slip: REDIS_URL with RabbitMQ's port. The message says the
/// port answers another protocol, instead of a raw parse error.
#[test]
fn a_redis_url_at_the_amqp_port_says_the_port_is_wrong() {
    let rabbit = shared_rabbitmq();
    let url = format!("redis://127.0.0.1:{}/", rabbit.port());
    let error = support::redis::connect(&url).err().expect("not redis");
    let message = error.to_string();
    assert!(
        matches!(error, ConnectError::WrongProtocol { .. }),
        "{message}"
    );
    assert!(
        message.contains("does not speak the Redis protocol"),
        "{message}"
    );
    assert!(message.contains("6379"), "{message}");
}
