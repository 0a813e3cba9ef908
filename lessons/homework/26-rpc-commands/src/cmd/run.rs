//! `run "CMD" --hosts H1 H2 ...`: send a command, print the task id, return.

use std::time::Duration;

use crate::client::{Client, Timing};
use crate::names::{HostName, parse_host};

// ANCHOR: args
/// `run "df -h" --hosts web-1 web-2`
#[derive(Debug, clap::Args)]
pub struct Run {
    /// The command, quoted: "df -h". It is split into words as a shell would
    /// split them, but no shell runs it: `;`, `|` and `$(...)` are plain text
    #[arg(value_name = "CMD")]
    pub command: String,
    /// The host names to run it on (names agents were started with)
    #[arg(long, required = true, num_args = 1.., value_name = "HOST", value_parser = parse_host)]
    pub hosts: Vec<HostName>,
    /// Seconds the command may run before its agent kills it
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Seconds it may wait for a busy agent before it is dropped unrun
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = parse_seconds)]
    pub queue_wait: Duration,
}
// ANCHOR_END: args

impl Run {
    pub async fn execute(self, client: &Client) -> crate::Result<()> {
        let argv = split_command(&self.command)?;
        let timing = Timing {
            timeout: self.timeout,
            queue_wait: self.queue_wait,
        };
        let submitted = client.run(argv, &self.hosts, timing).await?;
        print!("{}", crate::report::submitted(&submitted));
        Ok(())
    }
}

/// Splits a command into words with the shell's quoting rules, and says
/// clearly what is wrong when it cannot.
pub fn split_command(command: &str) -> crate::Result<Vec<String>> {
    let words = shell_words::split(command).map_err(|_| {
        anyhow::anyhow!("unbalanced quotes in the command `{command}`: close every ' and \"")
    })?;
    anyhow::ensure!(
        !words.is_empty(),
        "the command is empty: run \"uptime\" --hosts NAME"
    );
    Ok(words)
}

/// `1.5` → 1.5 s; at least a millisecond, at most a day.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.001..=86_400.0).contains(&seconds) {
        return Err(format!(
            "{text} s is out of range: give 0.001 to 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell_but_stay_words() {
        assert_eq!(split_command("df -h").unwrap(), ["df", "-h"]);
        assert_eq!(split_command("echo 'a b' c").unwrap(), ["echo", "a b", "c"]);
        assert_eq!(
            split_command("df -h; rm -rf x").unwrap(),
            ["df", "-h;", "rm", "-rf", "x"]
        );
        let error = split_command("echo 'oops").unwrap_err().to_string();
        assert!(error.contains("unbalanced quotes"), "{error}");
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn seconds_may_be_fractions() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("soon").is_err());
    }
}
