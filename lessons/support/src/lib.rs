//! What many lessons share, written once.
//!
//! Every RabbitMQ and Redis lesson needs the same three things, and none of
//! them is what the lesson is about:
//!
//! - **Where the broker is.** [`amqp::AmqpArgs`] and [`redis::RedisArgs`] give
//!   each binary a `--url` flag that falls back to `AMQP_URL` / `REDIS_URL` and
//!   then to the address `just up` starts the brokers on.
//! - **What to do when it is not there.** A broker that is not running is the
//!   most common failure in a classroom. [`amqp::connect`] and
//!   [`redis::connect`] turn it into a [`ConnectError`] that names the address
//!   that was tried (password hidden) and says how to start the brokers,
//!   instead of a panic trace.
//! - **A timeline printer** ([`timeline`]): lessons 03 and 06 record who ran
//!   when and who waited, and draw it as text, so the difference between
//!   running tasks one by one and at once is visible at a glance.
//! - **Throwaway brokers for tests** (feature `testkit`, for dev-dependencies
//!   only): real `redis-server` and `rabbitmq-server` processes on free ports,
//!   in temporary directories, stopped when the test ends. See [`testkit`].
//! - **Room for many sockets.** [`fdlimit`] raises the open-file limit for
//!   the lessons that hold thousands of connections (07–09, the echo arena),
//!   and [`net::bind`] gives their listeners a listen queue deep enough for
//!   a thousand clients arriving at once.
//!
//! - **Arguments checked when they are parsed** ([`cli`]): one `--listen`
//!   parser for every server, worker counts the open-file limit can hold,
//!   zero refused where it means nothing, a next step when a port is taken,
//!   and a quiet end when `program | head` closes the pipe.
//!
//! - **Charts of benchmark results** (feature `chart`): `--plot FILE` on
//!   every bench draws its numbers as SVG, all in one style. See [`chart`].
//!
//! Lessons put it in their `Cargo.toml` as `support.workspace = true`, and in
//! `[dev-dependencies]` with `features = ["testkit"]`.

pub mod amqp;
#[cfg(feature = "chart")]
pub mod chart;
pub mod cli;
mod error;
pub mod fdlimit;
pub mod net;
pub mod redis;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timeline;

pub use error::{ConnectError, redact};

/// The hint every connection error ends with: how to get brokers running.
pub const START_HINT: &str =
    "Start the course brokers with `just up` (check them with `just status`).";
