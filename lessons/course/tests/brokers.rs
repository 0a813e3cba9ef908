//! `just run`'s broker probe against real servers: it must recognise each
//! broker (Redis with the course's password, as `just up` starts it) and
//! not mistake one broker for another.

use course::brokers::{Probe, Service, probe};
use support::testkit::{shared_memcached, shared_rabbitmq, shared_redis};

#[test]
fn each_broker_is_recognised_in_its_own_protocol() {
    assert_eq!(probe(Service::Redis, shared_redis().port()), Probe::Broker);
    assert_eq!(
        probe(Service::Memcached, shared_memcached().port()),
        Probe::Broker
    );
    assert_eq!(
        probe(Service::RabbitMq, shared_rabbitmq().port()),
        Probe::Broker
    );
}

#[test]
fn one_broker_on_another_brokers_port_is_not_taken_for_it() {
    let redis = shared_redis().port();
    let Probe::Other { said, .. } = probe(Service::Memcached, redis) else {
        panic!("Redis was taken for Memcached");
    };
    // What Redis says to "version": an error (unknown command, or NOAUTH).
    assert!(said.starts_with("\"-"), "{said}");
    assert!(matches!(
        probe(Service::RabbitMq, shared_memcached().port()),
        Probe::Other { .. }
    ));
}
