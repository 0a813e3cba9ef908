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
