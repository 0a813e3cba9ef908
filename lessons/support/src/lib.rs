//! What many lessons share, written once.
//!
//! Nine things many lessons need, none of them what a lesson is about:
//!
//! - **Where the broker is.** [`amqp::AmqpArgs`] and [`redis::RedisArgs`] give
//!   each binary a `--url` flag that falls back to `AMQP_URL` / `REDIS_URL` and
//!   then to the address `just up` starts the brokers on.
//! - **What to do when it is not there.** A broker that is not running is the
//!   most common failure in a classroom. [`amqp::connect`] and
//!   [`redis::connect`] turn it into a [`ConnectError`] that names the address
//!   that was tried (password hidden) and says how to start the brokers,
//!   instead of a panic trace.
//! - **What every broker program repeats.** A RabbitMQ [`amqp::Session`]
//!   and consumer loop ([`amqp::for_each_delivery`]); for Redis, a
//!   [`redis::KeySpace`] per run and [`redis::run_lesson`], which cleans up
//!   after a lesson even when it fails.
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
//! - **Arguments checked when they are parsed** ([`cli`]): one `--listen`
//!   parser for every server, worker counts the open-file limit can hold,
//!   zero refused where it means nothing, a next step when a port is taken,
//!   a quiet end when `program | head` closes the pipe, and a server's
//!   `--verbose` ([`cli::show_events`]).
//! - **One way to end `main`** ([`exit`]): every program hands its result
//!   over, and an error is printed the same way everywhere, each cause on a
//!   line and a hint when a broker refused something.
//! - **Percentiles and medians** ([`stats`]) for the lessons and benchmarks
//!   that summarise what they measured.
//!
//! - **Charts of benchmark results** (feature `chart`): `--plot FILE` on
//!   every bench draws its numbers as SVG, all in one style. See [`chart`].
//!
//! Lessons put it in their `Cargo.toml` as `support.workspace = true`, with
//! `features = ["amqp"]` or `["redis"]` for the broker they use (so a lesson
//! builds only its own broker's client: lessons 03-09 and 25 build neither),
//! and in `[dev-dependencies]` with `features = ["testkit"]`.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "chart")]
pub mod chart;
pub mod cli;
mod error;
mod exit;
pub mod fdlimit;
pub mod net;
#[cfg(feature = "redis")]
pub mod redis;
pub mod stats;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timeline;

pub use error::{ConnectError, redact};
pub use exit::{describe, exit, hint};

/// The hint every connection error ends with: how to get brokers running.
pub const START_HINT: &str =
    "Start the course brokers with `just up` (check them with `just status`).";

/// The password `just up` (and `just run`, when it starts Redis for a
/// lesson, and docker-compose.yml) gives the course's Redis.
///
/// A Redis without a password lets every local program read and rewrite
/// every key: lesson 26 keeps its task results there, so an open Redis is an
/// open task store. This one is no secret (it is written here), but it makes
/// every lesson go through `AUTH`, as it must against any real server.
pub const COURSE_REDIS_PASSWORD: &str = "course-redis";
