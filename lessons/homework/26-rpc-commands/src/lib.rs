//! Homework 26: run commands on many hosts at once, over RabbitMQ, with task
//! ids and results in Redis.
//!
//! ```text
//!  rpc ──run──▶ exchange rpc.commands ──web-1──▶ queue rpc.agent.web-1 ──▶ agent --host web-1
//!   │          (direct, mandatory)   ──web-2──▶ queue rpc.agent.web-2 ──▶ agent --host web-2
//!   │                                 ──db-9───▶ (no queue: returned) ──▶ "no agent"
//!   │                                                                        │
//!   └── Redis ◀── collector ◀── queue rpc.replies ◀── reply + correlation id ─┘
//! ```
//!
//! Two programs share this library:
//!
//! - `agent --host web-1` ([`agent`]) consumes the commands meant for its
//!   name, checks them against an allow-list ([`allow`]), runs them without
//!   a shell, with a timeout and a cap on output ([`exec`]), and answers.
//! - `rpc` ([`client`], [`cmd`], [`shell`]) creates a task in Redis
//!   ([`store`]), publishes one command per host, and collects the answers
//!   into Redis, where `check_task` and `tasks` read them ([`report`]).
//!
//! What travels over the wire is in [`protocol`]; every broker name comes
//! from one namespace ([`names`]), so tests and classrooms can share brokers.
//!
//! Try it with three terminals:
//!
//! ```text
//! just run lesson-26 agent --host web-1
//! just run lesson-26 agent --host web-2
//! just run lesson-26 rpc
//! >>: run "df -h" --hosts web-1 web-2 db-9
//! ```

pub mod agent;
pub mod allow;
pub mod auth;
pub mod client;
pub mod cmd;
pub mod exec;
pub mod names;
pub mod protocol;
pub mod report;
pub mod shell;
pub mod store;

use std::time::{SystemTime, UNIX_EPOCH};

pub use support::amqp::DEFAULT_AMQP_URL;
pub use support::redis::DEFAULT_REDIS_URL;

/// The lesson's result type: `anyhow`, so every error can say what was
/// being done when it happened (`.context(...)`).
pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// Where RabbitMQ is. Both programs take it; it is not support's `--url`
/// because `rpc` needs a second broker and two `--url` flags would clash.
#[derive(Debug, Clone, clap::Args)]
pub struct AmqpUrl {
    /// RabbitMQ address: amqp://USER:PASSWORD@HOST:PORT/VHOST (vhost `/` is `%2f`)
    #[arg(long = "amqp-url", env = "AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub amqp_url: String,
}

/// Where Redis is. Only `rpc` needs it: agents never touch Redis.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisUrl {
    /// Redis address: redis://[:PASSWORD@]HOST:PORT/DB
    #[arg(long = "redis-url", env = "REDIS_URL", default_value = DEFAULT_REDIS_URL)]
    pub redis_url: String,
}

/// Milliseconds since the Unix epoch: the wall-clock time stored with tasks,
/// so that any `rpc` process, now or later, can say how old a task is.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        // A clock set before 1970 is not worth crashing over.
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Sets up `tracing` for the programs' diagnostics (`RUST_LOG=debug` for
/// more); what the lesson shows goes to stdout with `println!`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // lapin logs every returned message as a warning, and every
                // refused declaration as an error: both are normal here, and
                // reported by the programs themselves in plainer words.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=off")),
        )
        .with_writer(std::io::stderr)
        .init();
}
