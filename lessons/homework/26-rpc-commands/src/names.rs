//! Every name the runner uses on the brokers, derived from one namespace.
//!
//! Agents and shells find each other only by names: the exchange commands go
//! to, the queue each agent reads, the queue replies come back on, the Redis
//! keys of tasks. Deriving them all from one prefix (`--namespace`, default
//! `rpc`) means two classes, or two tests, can share one RabbitMQ and one
//! Redis without ever seeing each other's commands.

use std::fmt;

// ANCHOR: names
/// The namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "rpc";

/// A validated prefix for every exchange, queue and key of one runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// The direct exchange every command is published to, routed by host name.
    pub fn exchange(&self) -> String {
        format!("{}.commands", self.0)
    }

    /// The queue the agent for `host` reads. Exclusive to that agent's
    /// connection: it exists only while the agent is connected.
    pub fn agent_queue(&self, host: &HostName) -> String {
        format!("{}.agent.{}", self.0, host.0)
    }

    /// The queue agents send their answers to (the request's `reply_to`).
    /// Shared by every `rpc` process, and kept when they exit.
    pub fn replies_queue(&self) -> String {
        format!("{}.replies", self.0)
    }

    /// The Redis counter task ids come from (`INCR`).
    pub fn next_id_key(&self) -> String {
        format!("{}:next-task-id", self.0)
    }

    /// The Redis hash that holds task `id`: what was asked, and each host's answer.
    pub fn task_key(&self, id: u64) -> String {
        format!("{}:task:{id}", self.0)
    }

    /// The Redis list of recent task ids, newest first, for `tasks`.
    pub fn recent_key(&self) -> String {
        format!("{}:recent", self.0)
    }

    /// The Redis counter of replies dropped for failing the checks.
    pub fn dropped_key(&self) -> String {
        format!("{}:dropped-replies", self.0)
    }
}
// ANCHOR_END: names

impl Namespace {
    /// Checks `name`: 1 to 64 letters, digits, `-`, `_` or `.`.
    pub fn new(name: &str) -> Result<Self, String> {
        check_name("namespace", name)?;
        Ok(Namespace(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a host, as agents are started with (`agent --host web-1`).
///
/// A name, never an address: it is the routing key of the commands for that
/// host, so it must be a plain word. Two agents on one machine are two names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

impl HostName {
    /// Checks `name`: 1 to 64 letters, digits, `-`, `_` or `.`.
    pub fn new(name: &str) -> Result<Self, String> {
        check_name("host name", name)?;
        Ok(HostName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// For clap: `#[arg(value_parser = parse_host)]`.
pub fn parse_host(name: &str) -> Result<HostName, String> {
    HostName::new(name)
}

/// For clap: `#[arg(value_parser = parse_namespace)]`.
pub fn parse_namespace(name: &str) -> Result<Namespace, String> {
    Namespace::new(name)
}

/// The `--namespace` flag both programs take.
#[derive(Debug, Clone, clap::Args)]
pub struct NamespaceArg {
    /// Prefix of every exchange, queue and Redis key: agents and shells see
    /// each other only within one namespace
    #[arg(long, env = "RPC_NAMESPACE", default_value = DEFAULT_NAMESPACE, value_parser = parse_namespace)]
    pub namespace: Namespace,
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "a {what} has 1 to 64 characters, not {}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "`{name}` is not a valid {what}: {bad:?} is not allowed (use letters, digits, `-`, `_` and `.`, like web-1)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_words() {
        assert!(HostName::new("web-1").is_ok());
        assert!(HostName::new("db_2.east").is_ok());
        assert!(HostName::new("").is_err());
        assert!(HostName::new("web 1").is_err());
        assert!(HostName::new("a/b").is_err());
        assert!(HostName::new(&"x".repeat(65)).is_err());
    }

    #[test]
    fn every_broker_name_starts_with_the_namespace() {
        let ns = Namespace::new("class-a").unwrap();
        let host = HostName::new("web-1").unwrap();
        assert_eq!(ns.exchange(), "class-a.commands");
        assert_eq!(ns.agent_queue(&host), "class-a.agent.web-1");
        assert_eq!(ns.replies_queue(), "class-a.replies");
        assert_eq!(ns.task_key(7), "class-a:task:7");
        assert_eq!(ns.next_id_key(), "class-a:next-task-id");
        assert_eq!(ns.recent_key(), "class-a:recent");
        assert_eq!(ns.dropped_key(), "class-a:dropped-replies");
    }
}
