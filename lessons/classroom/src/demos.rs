//! The scripted demos behind `just demo lesson-NN`.
//!
//! Every lesson whose point needs more than one process (a server and its
//! clients, a producer and its consumers) has a demo here: a short script
//! that starts the programs, drives them, and ends by itself, so a whole
//! scenario plays in one terminal, each program's lines in its own colour.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use support::testkit::{RabbitMq, RedisServer};

use crate::Result;
use crate::stage::Stage;

pub mod hosts;
mod lesson_05;
mod lesson_08;
mod lesson_10;
mod lesson_11;
mod lesson_12;
mod lesson_13;
mod lesson_14;
mod lesson_15;
mod lesson_24;
mod lesson_25;
mod lesson_26;
mod rabbit;

/// One lesson's demo.
pub struct Demo {
    pub lesson: u8,
    /// What the demo shows, in one line.
    pub about: &'static str,
    /// Which brokers it needs.
    pub needs: Needs,
    /// Lines that prove the scenario happened: (program, text its line
    /// contains). The tests play every demo and look for them.
    pub proves: &'static [(&'static str, &'static str)],
    /// The script.
    pub run: fn(&mut Stage, &Brokers) -> Result<()>,
}

/// The brokers a demo needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub rabbitmq: bool,
    pub redis: bool,
}

/// Every demo, by lesson.
#[rustfmt::skip]
pub const DEMOS: &[Demo] = &[
    lesson_05::DEMO,
    lesson_08::DEMO,
    lesson_10::DEMO,
    lesson_11::DEMO,
    lesson_12::DEMO,
    lesson_13::DEMO,
    lesson_14::DEMO,
    lesson_15::DEMO,
    lesson_24::DEMO,
    lesson_25::DEMO,
    lesson_26::DEMO,
];

/// Finds the demo of a lesson (`lesson-05`, `05` or `5`).
pub fn find(name: &str) -> Result<&'static Demo> {
    let lesson = course::find(name).map_err(|e| e.to_string())?;
    DEMOS
        .iter()
        .find(|demo| demo.lesson == lesson.number)
        .ok_or_else(|| {
            format!(
                "lesson-{:02} has no demo (it runs as one program: just run lesson-{:02}).\n{}",
                lesson.number,
                lesson.number,
                listing()
            )
        })
}

/// The list `just demo` prints with no lesson.
pub fn listing() -> String {
    if DEMOS.is_empty() {
        return "No demos are written yet.\n".to_string();
    }
    let mut out = String::from("Demos (run one with: just demo lesson-NN):\n");
    for demo in DEMOS {
        out.push_str(&format!("  lesson-{:02}  {}\n", demo.lesson, demo.about));
    }
    out.push_str(
        "  lesson-26 --hosts  the same, each agent on a host (network namespace) of its own: needs root\n",
    );
    out
}

/// Where the demo's brokers are: the student's own when they answer, or
/// throwaway ones started for the demo and stopped after it.
pub struct Brokers {
    pub amqp_url: String,
    pub redis_url: String,
    /// Throwaway servers, kept alive for the demo's duration.
    _rabbitmq: Option<RabbitMq>,
    _redis: Option<RedisServer>,
}

impl Brokers {
    /// Uses the brokers at `AMQP_URL` / `REDIS_URL` (or the defaults) when
    /// they answer; otherwise, or when `throwaway` is set, starts its own.
    /// Brokers that are already running at these addresses (tests pass
    /// their throwaway brokers here, so all demos share one of each).
    pub fn at(amqp_url: String, redis_url: String) -> Self {
        Brokers {
            amqp_url,
            redis_url,
            _rabbitmq: None,
            _redis: None,
        }
    }

    pub fn provide(needs: Needs, throwaway: bool, stage: &Stage) -> Result<Self> {
        let mut brokers = Brokers {
            amqp_url: std::env::var("AMQP_URL")
                .unwrap_or_else(|_| support::amqp::DEFAULT_AMQP_URL.into()),
            redis_url: std::env::var("REDIS_URL")
                .unwrap_or_else(|_| support::redis::DEFAULT_REDIS_URL.into()),
            _rabbitmq: None,
            _redis: None,
        };
        if needs.rabbitmq && (throwaway || !answers(&brokers.amqp_url)) {
            stage.narrate(if throwaway {
                "starting a throwaway RabbitMQ for this demo (a few seconds)"
            } else {
                "no RabbitMQ answers: starting a throwaway one for this demo (a few seconds)"
            });
            let rabbit = RabbitMq::start().map_err(|e| format!("could not start RabbitMQ: {e}"))?;
            brokers.amqp_url = rabbit.url();
            brokers._rabbitmq = Some(rabbit);
        }
        if needs.redis && (throwaway || !answers(&brokers.redis_url)) {
            stage.narrate(if throwaway {
                "starting a throwaway Redis for this demo"
            } else {
                "no Redis answers: starting a throwaway one for this demo"
            });
            let redis = RedisServer::start().map_err(|e| format!("could not start Redis: {e}"))?;
            brokers.redis_url = redis.url();
            brokers._redis = Some(redis);
        }
        Ok(brokers)
    }
}

/// Whether something accepts TCP connections at the URL's host and port.
fn answers(url: &str) -> bool {
    let Some(rest) = url.split("://").nth(1) else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let default_port = if url.starts_with("redis") { 6379 } else { 5672 };
    let with_port = if host_port
        .rsplit(':')
        .next()
        .is_some_and(|p| p.parse::<u16>().is_ok())
    {
        host_port.to_string()
    } else {
        format!("{host_port}:{default_port}")
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok())
}

/// Runs a demo from start to end on a fresh stage.
pub fn play(demo: &Demo, stage: &mut Stage, throwaway: bool) -> Result<()> {
    let brokers = Brokers::provide(demo.needs, throwaway, stage)?;
    (demo.run)(stage, &brokers)
}
