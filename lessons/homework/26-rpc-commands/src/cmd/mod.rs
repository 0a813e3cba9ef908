//! The verbs of `rpc`, one file each, the same in the interactive shell and
//! as one-shot subcommands:
//!
//! ```text
//! rpc run "df -h" --hosts web-1 web-2      >>: run "df -h" --hosts web-1 web-2
//! rpc check_task 42                         >>: check_task 42
//! rpc tasks                                 >>: tasks
//! ```
//!
//! clap parses both: the shell splits a typed line into words (with the
//! shell's quoting rules) and hands them to the same parser, so a verb
//! cannot behave differently in the two places.

mod check_task;
mod run;
mod tasks;

pub use check_task::CheckTask;
pub use run::{Run, split_command};
pub use tasks::Tasks;

use crate::client::Client;

// ANCHOR: verb
/// What `rpc` can be asked to do.
#[derive(Debug, clap::Subcommand)]
pub enum Verb {
    /// Run a command on some hosts; prints `task id: N` at once
    // clap would show `--hosts <HOST>... <CMD>`, an order that cannot work.
    #[command(override_usage = "rpc run <CMD> --hosts <HOST>... [OPTIONS]")]
    Run(Run),
    /// Show each host's state and output for task N
    #[command(name = "check_task", visible_alias = "check-task")]
    CheckTask(CheckTask),
    /// List recent tasks and their state
    Tasks(Tasks),
}

impl Verb {
    /// Carries out the verb, printing what it has to say to stdout.
    pub async fn execute(self, client: &Client) -> crate::Result<()> {
        match self {
            Verb::Run(verb) => verb.execute(client).await,
            Verb::CheckTask(verb) => verb.execute(client).await,
            Verb::Tasks(verb) => verb.execute(client).await,
        }
    }
}
// ANCHOR_END: verb

/// Adds the way out to clap's "CMD is missing" error. `--hosts` takes every
/// word after it, so in `run --hosts web-1 df` the command became a host
/// name: the fix is to put the command first, or to end the hosts with `--`.
pub fn explain(mut error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let cmd_missing = error.kind() == ErrorKind::MissingRequiredArgument
        && matches!(error.get(ContextKind::InvalidArg),
            Some(ContextValue::Strings(missing)) if missing.iter().any(|arg| arg == "<CMD>"));
    if cmd_missing {
        error.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![
                "--hosts takes every word after it as a host name: put the command first, \
                 `run \"df -h\" --hosts web-1 web-2`, or end the host names with --, \
                 `run --hosts web-1 web-2 -- \"df -h\"`"
                    .into(),
            ]),
        );
    }
    error
}
