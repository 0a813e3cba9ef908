//! `tasks`: the recent tasks of this namespace, from any shell, newest first.

use crate::client::Client;

/// `tasks`
#[derive(Debug, clap::Args)]
pub struct Tasks {
    /// How many of the most recent tasks to show
    #[arg(long, default_value_t = 20)]
    pub last: usize,
}

impl Tasks {
    pub async fn execute(self, client: &Client) -> crate::Result<()> {
        client.catch_up().await?;
        let tasks = client.store().recent(self.last).await?;
        print!("{}", crate::report::task_list(&tasks, crate::now_ms()));
        Ok(())
    }
}
