//! What the lesson's tests share: the servers, and reading numbers out of
//! what the programs printed.

#![allow(dead_code)] // each test binary uses its own part

use lesson_27_redis_replication::NODE_CONFIG;
use support::testkit::{RedisNode, Sentinel, unique_name};

/// A primary, two replicas and three Sentinels of the test's own, not yet
/// wired together: the program under test does that.
pub struct Group {
    pub password: String,
    pub nodes: Vec<RedisNode>,
    pub sentinels: Vec<Sentinel>,
}

impl Group {
    pub fn start(sentinels: usize) -> Group {
        let password = unique_name("pw27");
        let nodes = ["primary", "replica 1", "replica 2"]
            .iter()
            .map(|name| RedisNode::start(name, &password, NODE_CONFIG).expect("start a node"))
            .collect();
        let sentinels = (1..=sentinels)
            .map(|i| Sentinel::start(&format!("sentinel {i}")).expect("start a sentinel"))
            .collect();
        Group {
            password,
            nodes,
            sentinels,
        }
    }

    /// `--primary URL --replica URL --replica URL [--sentinel URL]...`
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["--primary".to_string(), self.nodes[0].url()];
        for replica in &self.nodes[1..] {
            args.extend(["--replica".to_string(), replica.url()]);
        }
        for sentinel in &self.sentinels {
            args.extend(["--sentinel".to_string(), sentinel.url()]);
        }
        args
    }
}

/// A connection of the test's own.
pub fn connect(url: &str) -> redis::Connection {
    support::redis::connect(url).expect("connect")
}

pub fn dbsize(url: &str) -> usize {
    redis::cmd("DBSIZE").query(&mut connect(url)).unwrap()
}

/// The value of `field:` in `INFO section`.
pub fn info(url: &str, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query(&mut connect(url))
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
        .trim()
        .to_string()
}

/// The numbers in the one line of `output` that starts with `start`.
pub fn numbers_on(output: &str, start: &str) -> Vec<usize> {
    let line = output
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{output}"));
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|word| !word.is_empty())
        .map(|word| word.parse().unwrap())
        .collect()
}

/// The process state letter in /proc (`T`: stopped).
pub fn process_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .unwrap_or('?')
}
