//! Exercise 26: the heart of the RPC command runner, written by you.
//!
//! Homework 26 is two programs: `agent --host web-1` runs the commands sent
//! to its host name; `rpc run "df -h" --hosts web-1 web-2` sends them and
//! prints `task id: N` at once; `rpc check_task N` shows the answers. This
//! crate has all the plumbing, and leaves the heart of each program to you,
//! five functions marked `todo!()`:
//!
//! | where                        | what you write                                                   |
//! |------------------------------|------------------------------------------------------------------|
//! | [`exec::run`]                | run a command: no shell, a timeout that kills its process group |
//! | [`exec::Capture::read_all`]  | read a pipe to its end, keeping at most `max_output` bytes       |
//! | [`agent::handle`]            | refuse or run one command, answer with its correlation id, ack  |
//! | [`rpc::Rpc::send`]           | publish one mandatory message per host; which came back?        |
//! | [`rpc::Rpc::collect`]        | store the answers waiting in the reply queue in Redis            |
//!
//! Write them in that order: the agent first (try it with lesson 26's
//! `rpc`, `just run lesson-26 rpc`), then the `rpc` side.
//!
//! Given, from lesson 26's crate (re-exported below, read them first):
//! [`names`] (every exchange, queue and key name), [`protocol`] (the
//! messages and the correlation id), [`store`] (tasks in Redis),
//! [`allow`] (the allow-list), [`report`] (what `check_task` prints).
//!
//! Try it in three terminals (start the brokers once with `just up`):
//!
//! ```text
//! cargo run -q --bin exercise-26-agent -- --host web-1
//! cargo run -q --bin exercise-26-agent -- --host web-2
//! cargo run -q --bin exercise-26-rpc -- run "df -h" --hosts web-1 web-2 db-9
//! cargo run -q --bin exercise-26-rpc -- check_task 1
//! ```
//!
//! and check it with `just check rpc-commands`.

pub mod agent;
pub mod exec;
pub mod rpc;

// ANCHOR: given
/// [`allow::Policy::check`]: `Ok(())` to run a command, or why it is refused.
pub use lesson_26_rpc_commands::allow;
/// [`auth::Key`]: the namespace's secret, which signs requests and replies.
pub use lesson_26_rpc_commands::auth;
/// The broker names of one namespace: `NS.commands` (the direct exchange
/// commands go to), `NS.agent.HOST` (an agent's queue), `NS.replies`.
pub use lesson_26_rpc_commands::names;
/// [`protocol::Request`], [`protocol::Reply`], [`protocol::Outcome`],
/// [`protocol::correlation_id`] (`42/web-1`) and its parser.
pub use lesson_26_rpc_commands::protocol;
/// What `run` and `check_task` print.
pub use lesson_26_rpc_commands::report;
/// [`store::Store`]: `create` a task, `save` one host's answer, `load` a task.
pub use lesson_26_rpc_commands::store;
/// `anyhow`'s result, so every error can say what was being done; and the
/// wall-clock time in milliseconds, as replies and tasks record it.
pub use lesson_26_rpc_commands::{Result, now_ms};
// ANCHOR_END: given
