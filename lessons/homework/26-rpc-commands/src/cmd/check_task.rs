//! `check_task N`: each host's state, exit code and output for task N.

use crate::client::Client;

/// `check_task 42`
#[derive(Debug, clap::Args)]
pub struct CheckTask {
    /// The task id that `run` printed
    #[arg(value_name = "ID")]
    pub id: u64,
    /// Wait until every host has answered or the deadline has passed
    #[arg(long)]
    pub wait: bool,
}

impl CheckTask {
    // ANCHOR: execute
    pub async fn execute(self, client: &Client) -> crate::Result<()> {
        let task = if self.wait {
            client.wait_for(self.id).await?
        } else {
            // Answers may be waiting in the reply queue: store them first.
            client.catch_up().await?;
            client.store().load(self.id).await?
        };
        let Some(task) = task else {
            anyhow::bail!(
                "no task {} in namespace `{}`: it was never created, or it expired \
                 (tasks are kept {} h). `tasks` lists the recent ones.",
                self.id,
                client.namespace(),
                crate::store::KEEP_FOR.as_secs() / 3600
            );
        };
        print!("{}", crate::report::task(&task, crate::now_ms()));
        let dropped = client.store().dropped().await?;
        if dropped > 0 {
            println!(
                "{}",
                crate::report::dropped_note(dropped, client.namespace())
            );
        }
        Ok(())
    }
    // ANCHOR_END: execute
}
