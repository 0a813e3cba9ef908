//! Questions tests ask a real RabbitMQ directly, without a lesson program in
//! between: how long is this queue, and which messages does each binding
//! select.

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, ErrorKind};

use crate::amqp::{Binding, Session, exclusive_queue};

/// How many messages are ready in `queue`, or `None` if it does not exist.
/// Panics if the broker refuses to say for another reason.
pub fn queue_length(url: &str, queue: &str) -> Option<u32> {
    match ask_queue(url, queue) {
        Ok(length) => Some(length),
        Err(404) => None,
        Err(code) => panic!("the broker refused to tell the length of {queue}: reply code {code}"),
    }
}

/// Asks the broker about `queue` with a passive declare, which never creates
/// it: `Ok(ready messages)`, or `Err(reply code)` if the broker refuses,
/// such as 404 NOT_FOUND (no such queue) or 405 RESOURCE_LOCKED (an
/// exclusive queue of another connection).
pub fn ask_queue(url: &str, queue: &str) -> Result<u32, u16> {
    block_on(async {
        let session = Session::open(url)
            .await
            .expect("connect to the test broker");
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match session
            .channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
        {
            Ok(state) => Ok(state.message_count()),
            Err(error) => match error.kind() {
                ErrorKind::ProtocolError(amqp) => Err(amqp.get_id()),
                _ => panic!("asking the broker about {queue}: {error}"),
            },
        }
    })
}

/// A message to route through an exchange in [`route`].
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Its routing key (topic and direct exchanges look at it).
    pub routing_key: ShortString,
    /// Its headers (headers exchanges look at them).
    pub headers: FieldTable,
    /// What identifies it in [`route`]'s answer.
    pub body: String,
}

/// Asks the real broker which `probes` reach each of `queues`, through
/// `exchange` (which must exist). Each entry of `queues` is the list of
/// bindings of one queue (a queue receives a message once if any of its
/// bindings matches). Returns, for each queue, the bodies of the probes it
/// received, in the order they were published.
///
/// How it knows *exactly*, without waiting and hoping: it binds one
/// exclusive queue per entry, publishes every probe with publisher
/// confirms (a confirm comes only when the message is in every queue it was
/// routed to), and then empties each queue with `basic.get`, which says
/// "empty" instead of waiting.
pub fn route(
    url: &str,
    exchange: &str,
    queues: &[Vec<Binding>],
    probes: &[Probe],
) -> Vec<Vec<String>> {
    block_on(async {
        let session = Session::open(url)
            .await
            .expect("connect to the test broker");
        let channel = &session.channel;
        let mut names = Vec::new();
        for bindings in queues {
            let queue = exclusive_queue(channel).await.expect("declare a queue");
            for binding in bindings {
                channel
                    .queue_bind(
                        queue.clone(),
                        exchange.into(),
                        binding.key.clone(),
                        QueueBindOptions::default(),
                        binding.arguments.clone(),
                    )
                    .await
                    .unwrap_or_else(|error| panic!("bind {binding:?}: {error}"));
            }
            names.push(queue);
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("enable publisher confirms");
        for probe in probes {
            let properties = BasicProperties::default().with_headers(probe.headers.clone());
            channel
                .basic_publish(
                    exchange.into(),
                    probe.routing_key.clone(),
                    BasicPublishOptions::default(),
                    probe.body.as_bytes(),
                    properties,
                )
                .await
                .expect("publish a probe");
        }
        let returned = channel.wait_for_confirms().await.expect("confirms");
        assert!(returned.is_empty(), "no probe is mandatory");

        let mut received = Vec::new();
        for queue in names {
            let mut bodies = Vec::new();
            let options = BasicGetOptions { no_ack: true };
            while let Some(message) = channel
                .basic_get(queue.clone(), options)
                .await
                .expect("basic.get")
            {
                bodies.push(String::from_utf8_lossy(&message.delivery.data).into_owned());
            }
            received.push(bodies);
        }
        session.close().await.expect("close");
        received
    })
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}
