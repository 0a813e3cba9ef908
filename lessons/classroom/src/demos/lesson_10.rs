//! `just demo lesson-10`: `receive` waits on a queue, `send` puts "Hello
//! World!" in it, `receive` prints it. Then the queue's other half: a
//! message sent while nobody listens waits in the queue for the next
//! receiver.

use super::rabbit::{Scratch, argv, run_once, start, stop};
use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 10,
    about: "receive waits, send sends \"Hello World!\", receive prints it; a queue keeps messages until read",
    needs: Needs {
        rabbitmq: true,
        redis: false,
    },
    proves: &[
        ("send", " [x] Sent \"Hello World!\""),
        ("receive", " [x] Received \"Hello World!\""),
        ("send", " [x] Sent \"sent while nobody listened\""),
        ("receive", " [x] Received \"sent while nobody listened\""),
    ],
    run,
};

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(10, &["receive", "send"])?;
    let url = brokers.amqp_url.as_str();
    let mut scratch = Scratch::new(url);
    // The lesson's queue is `hello`; the demo's is its own.
    let queue = scratch.queue("hello");
    let receive = (10, "receive");
    let send = (10, "send");
    let with_queue = argv(["--url", url, "--queue", &queue]);

    stage.narrate(&format!(
        "receive declares the queue {queue} and waits for messages \
         (terminal 1 in the chapter; the lesson's queue is `hello`)"
    ));
    start(
        stage,
        "receive",
        receive,
        &with_queue,
        "Waiting for messages",
    )?;

    stage.narrate(
        "send publishes \"Hello World!\" to the default exchange with the queue's name \
         as routing key, and exits (terminal 2)",
    );
    run_once(stage, "send", send, &with_queue, "Sent")?;
    stage.wait_for(
        "receive",
        "Received \"Hello World!\"",
        super::rabbit::PATIENCE,
    )?;

    stage.narrate("Ctrl-C stops receive. The queue stays on the broker.");
    stop(stage, "receive")?;
    stage.narrate("send a message while nobody listens: it waits in the queue");
    let mut words = with_queue.clone();
    words.extend(argv(["sent", "while", "nobody", "listened"]));
    run_once(stage, "send", send, &words, "Sent")?;

    stage.narrate("a new receive takes it at once");
    start(
        stage,
        "receive",
        receive,
        &with_queue,
        "Waiting for messages",
    )?;
    stage.wait_for(
        "receive",
        "Received \"sent while nobody listened\"",
        super::rabbit::PATIENCE,
    )?;
    stop(stage, "receive")?;
    stage.narrate(&format!(
        "(the demo deletes its queue {queue}; the chapter's `hello` stays until you delete it)"
    ));
    Ok(())
}
