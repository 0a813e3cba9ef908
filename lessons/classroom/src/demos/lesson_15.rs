//! `just demo lesson-15`: an rpc-server answers Fibonacci requests; an
//! rpc-client sends several calls at once and gets each its own answer;
//! bad requests are answered with errors, and the server lives on; with no
//! server running, a call times out instead of hanging.

use super::rabbit::{PATIENCE, Scratch, argv, run_once, run_to_end, start, stop};
use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 15,
    about: "rpc-server and rpc-client: calls at once, bad requests answered with errors, a timeout",
    needs: Needs {
        rabbitmq: true,
        redis: false,
    },
    proves: &[
        ("rpc-server", " [.] fib(30) = 832040"),
        ("rpc-client", " [.] fib(30) = 832040"),
        ("rpc-client", " [.] fib(93) = 12200160415121876738"),
        ("rpc-server", " [!] bad request: \"ten\" is not a number"),
        (
            "rpc-client",
            " [!] fib(ten): the server answered with an error: \"ten\" is not a number",
        ),
        (
            "rpc-client",
            " [!] fib(94): the server answered with an error",
        ),
        ("rpc-client", " [!] fib(7): no reply within"),
    ],
    run,
};

fn run(stage: &mut Stage, brokers: &Brokers) -> Result<()> {
    stage.build(15, &["rpc-server", "rpc-client"])?;
    let url = brokers.amqp_url.as_str();
    let mut scratch = Scratch::new(url);
    let queue = scratch.queue("rpc_queue");
    let with_queue = argv(["--url", url, "--queue", &queue]);
    let client = (15, "rpc-client");

    stage.narrate(&format!(
        "the server takes requests from {queue} (the lesson's `rpc_queue`), one at a time"
    ));
    start(
        stage,
        "rpc-server",
        (15, "rpc-server"),
        &with_queue,
        "Awaiting RPC requests",
    )?;

    stage.narrate(
        "four calls at once from one client: each request carries reply_to (the client's \
         exclusive queue) and a correlation id, which brings each reply to its own call",
    );
    let mut calls = with_queue.clone();
    calls.extend(argv(["1", "10", "30", "93"]));
    run_once(stage, "rpc-client", client, &calls, "fib(93) =")?;

    stage.narrate(
        "bad requests: the server answers each with an error reply and carries on; \
         the client reports them and exits with an error",
    );
    let mut bad = with_queue.clone();
    bad.extend(argv(["ten", "94"]));
    let (_, status) = run_to_end(stage, "rpc-client", client, &bad, "calls failed")?;
    if status.success() {
        return Err("rpc-client succeeded with bad requests".into());
    }
    stage.wait_for("rpc-server", "bad request", PATIENCE)?;

    stage.narrate(
        "the server stops; a call now waits its --timeout (1 s here) and gives up, \
         instead of hanging",
    );
    stop(stage, "rpc-server")?;
    let mut lonely = with_queue;
    lonely.extend(argv(["--timeout", "1", "7"]));
    let (_, status) = run_to_end(stage, "rpc-client", client, &lonely, "calls failed")?;
    if status.success() {
        return Err("rpc-client got an answer with no server running".into());
    }
    Ok(())
}
