//! A throwaway RabbitMQ *cluster*: N nodes on this machine, joined into one
//! cluster, that a test (or lesson 28) can kill -9 and start again.
//!
//! Each node is a single throwaway node as [`super::RabbitMq`] makes them
//! (its own name, ports, data and log directory, config that ignores
//! /etc/rabbitmq), with what clustering adds:
//!
//! - **one `epmd` for all of them**, on a free port of its own: nodes find
//!   each other's distribution port through it, so they must share it (and
//!   no student's `epmd` on 4369 is touched);
//! - **one Erlang cookie**, written into every node's home: nodes (and
//!   `rabbitmqctl`) only talk to nodes that present the same cookie;
//! - **`join_cluster`**: nodes 2..N stop their app, join node 1, start again.
//!
//! Names are readable, `rabbit-1@localhost` to `rabbit-N@localhost`: the
//! `epmd` is private, so they cannot collide with any other node.
//!
//! A node that does not start (a port taken, a bad cookie) fails the whole
//! start with an error that names the node and its log, and nothing is left
//! running: every node started so far and the `epmd` are killed. The log's
//! folder is kept so the log can be read (the next test run sweeps it).
//!
//! ```no_run
//! let mut cluster = support::testkit::RabbitCluster::start(3).unwrap();
//! let urls = cluster.urls();
//! cluster.kill(0); // kill -9 rabbit-1
//! cluster.start_again(0).unwrap();
//! # let _ = urls;
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{
    Guarded, NodeSetup, at_exit, free_port, rabbitmq_binaries, retry_on_port_clash, spawn_epmd,
    tail, temp_dir, unique_name,
};

/// N RabbitMQ nodes clustered together, killed and removed when dropped.
pub struct RabbitCluster {
    /// The nodes, in order: index 0 is `rabbit-1`, the one the others join.
    nodes: Vec<ClusterNode>,
    /// The port mapper all the nodes (and `rabbitmqctl`) register with.
    epmd: Guarded,
    /// Holds every node's folder and the epmd log; removed on drop.
    dir: TempDir,
}

/// One node of the cluster.
struct ClusterNode {
    /// Name, ports, folder: what makes it the same node after a restart.
    setup: NodeSetup,
    /// The running node; `None` while it is killed.
    process: Option<Guarded>,
}

/// How to start a cluster: [`RabbitCluster::builder`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    size: usize,
    join: bool,
    amqp_ports: BTreeMap<usize, u16>,
    cookies: BTreeMap<usize, String>,
}

impl ClusterBuilder {
    /// Leaves the nodes unjoined: N clusters of one, for a lesson that shows
    /// [`RabbitCluster::join`] step by step.
    pub fn unjoined(mut self) -> Self {
        self.join = false;
        self
    }

    /// Gives node `index` this AMQP port instead of a free one (a test of a
    /// port that is already taken).
    pub fn amqp_port(mut self, index: usize, port: u16) -> Self {
        self.amqp_ports.insert(index, port);
        self
    }

    /// Gives node `index` another Erlang cookie than the others (a test of
    /// a node the cluster must refuse).
    pub fn cookie(mut self, index: usize, cookie: &str) -> Self {
        self.cookies.insert(index, cookie.to_string());
        self
    }

    /// Starts the nodes side by side, waits until each speaks AMQP, and
    /// joins them (unless [`ClusterBuilder::unjoined`]).
    pub fn start(self) -> io::Result<RabbitCluster> {
        // Ports the caller fixed are part of what is tested: no retry.
        if self.amqp_ports.is_empty() {
            retry_on_port_clash(|| self.try_start())
        } else {
            self.try_start()
        }
    }

    fn try_start(&self) -> io::Result<RabbitCluster> {
        let (server_bin, ctl_bin, epmd_bin) = rabbitmq_binaries()?;
        let dir = temp_dir("cluster")?;
        let epmd_port = free_port()?;
        let epmd = spawn_epmd(&epmd_bin, epmd_port, dir.path())?;
        // The same secret for every node, unless a test asks otherwise.
        let cookie = unique_name("cookie").replace('-', "");
        let mut nodes = Vec::with_capacity(self.size);
        for index in 0..self.size {
            let node_dir = dir.path().join(format!("rabbit-{}", index + 1));
            fs::create_dir_all(&node_dir)?;
            let setup = NodeSetup {
                dir: node_dir,
                node_name: node_name(index),
                amqp_port: match self.amqp_ports.get(&index) {
                    Some(port) => *port,
                    None => free_port()?,
                },
                dist_port: free_port()?,
                epmd_port,
                server_bin: server_bin.clone(),
                ctl_bin: ctl_bin.clone(),
            };
            setup.write_files()?;
            write_cookie(&setup.dir, self.cookies.get(&index).unwrap_or(&cookie))?;
            nodes.push(ClusterNode {
                setup,
                process: None,
            });
        }
        let mut cluster = RabbitCluster { nodes, epmd, dir };
        match cluster.boot(self.join) {
            Ok(()) => Ok(cluster),
            Err(error) => {
                // Dropping the cluster kills every process it started; its
                // folder stays, so that the log the error names exists.
                cluster.dir.disable_cleanup(true);
                Err(error)
            }
        }
    }
}

impl RabbitCluster {
    /// `size` nodes, clustered, each answering AMQP.
    pub fn start(size: usize) -> io::Result<Self> {
        Self::builder(size).start()
    }

    /// A cluster with settings of its own: see [`ClusterBuilder`].
    pub fn builder(size: usize) -> ClusterBuilder {
        ClusterBuilder {
            size,
            join: true,
            amqp_ports: BTreeMap::new(),
            cookies: BTreeMap::new(),
        }
    }

    /// How many nodes it has (running or not).
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// `rabbit-<index + 1>@localhost`.
    pub fn node_name(&self, index: usize) -> &str {
        &self.nodes[index].setup.node_name
    }

    /// Which node is called `name`, if any.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.setup.node_name == name)
    }

    /// The AMQP URL of node `index` (guest, vhost `/`).
    pub fn url(&self, index: usize) -> String {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f",
            self.nodes[index].setup.amqp_port
        )
    }

    /// Every node's URL, in order: what a client that fails over is given.
    pub fn urls(&self) -> Vec<String> {
        (0..self.size()).map(|index| self.url(index)).collect()
    }

    /// The AMQP port of node `index`.
    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].setup.amqp_port
    }

    /// The file node `index` writes its output to.
    pub fn log(&self, index: usize) -> PathBuf {
        self.nodes[index].setup.log()
    }

    /// The folder that holds every node's data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The operating-system process id of node `index`, while it runs.
    pub fn pid(&self, index: usize) -> Option<u32> {
        self.nodes[index].process.as_ref().map(|p| p.pid as u32)
    }

    /// Whether node `index` is running.
    pub fn is_running(&mut self, index: usize) -> bool {
        self.nodes[index]
            .process
            .as_mut()
            .is_some_and(Guarded::is_alive)
    }

    /// The indexes of the nodes that run.
    pub fn running(&mut self) -> Vec<usize> {
        (0..self.size()).filter(|&i| self.is_running(i)).collect()
    }

    /// Runs `rabbitmqctl -n <node index> args...` and returns its output.
    pub fn ctl(&self, index: usize, args: &[&str]) -> io::Result<String> {
        self.nodes[index].setup.ctl(args)
    }

    /// Runs `rabbitmq-queues -n <node index> args...` (quorum queues'
    /// status, members, leaders) and returns its output.
    pub fn queues(&self, index: usize, args: &[&str]) -> io::Result<String> {
        self.nodes[index].setup.run_tool("rabbitmq-queues", args)
    }

    /// Makes node `index` a member of `to`'s cluster: `stop_app`,
    /// `join_cluster`, `start_app`, the three commands an operator types.
    pub fn join(&mut self, index: usize, to: usize) -> io::Result<()> {
        let target = self.node_name(to).to_string();
        let node = &self.nodes[index];
        let step = |args: &[&str]| node.setup.ctl(args).map_err(|e| node.failed(e));
        step(&["stop_app"])?;
        step(&["join_cluster", &target])?;
        step(&["start_app"])?;
        Ok(())
    }

    /// Kills node `index` at once (SIGKILL), as a power cut would: no
    /// goodbye to the other nodes, no flush to disk.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut process) = self.nodes[index].process.take() {
            process.kill();
        }
    }

    /// Starts node `index` again as the same node (name, ports, data), and
    /// waits until it speaks AMQP: it rejoins the cluster by itself.
    pub fn start_again(&mut self, index: usize) -> io::Result<()> {
        if self.nodes[index].process.is_some() {
            return Ok(());
        }
        let node = &mut self.nodes[index];
        let process = node.setup.spawn_node().map_err(|e| node.failed(e))?;
        node.process = Some(process);
        self.wait_until_up(index)
    }

    /// Keeps the nodes running until the process exits, for a cluster that
    /// lives in a `static` (Rust never drops those): an exit handler kills
    /// them and removes their folder, as for the shared single brokers.
    pub fn stop_at_exit(&self) {
        for node in &self.nodes {
            if let Some(process) = &node.process {
                at_exit(process.pid, self.dir.path());
            }
        }
        at_exit(self.epmd.pid, self.dir.path());
    }

    /// Starts every node side by side, waits until each speaks AMQP, and
    /// joins nodes 2..N to node 1.
    fn boot(&mut self, join: bool) -> io::Result<()> {
        // Side by side: three Erlang VMs booting at once take about as
        // long as one on two cores, and far less than three in a row.
        for node in &mut self.nodes {
            let process = node.setup.spawn_node().map_err(|e| node.failed(e))?;
            node.process = Some(process);
        }
        for index in 0..self.size() {
            self.wait_until_up(index)?;
        }
        if join {
            for index in 1..self.size() {
                self.join(index, 0)?;
            }
        }
        Ok(())
    }

    fn wait_until_up(&mut self, index: usize) -> io::Result<()> {
        let node = &mut self.nodes[index];
        let Some(process) = node.process.as_mut() else {
            return Err(node.failed(io::Error::other("it is not running")));
        };
        let outcome = node.setup.wait_for_amqp(process);
        outcome.map_err(|e| node.failed(e))
    }
}

impl ClusterNode {
    /// The error for a node that failed: its name and its log, named.
    fn failed(&self, error: io::Error) -> io::Error {
        let log = self.setup.log();
        let text = error.to_string();
        // wait_until already quotes the log's last lines.
        let quoted = if text.contains("Its log") {
            String::new()
        } else {
            format!("\nIts last lines:\n{}", tail(&log))
        };
        io::Error::other(format!(
            "RabbitMQ node {} (AMQP port {}) failed: {text}\nIts log: {}{quoted}",
            self.setup.node_name,
            self.setup.amqp_port,
            log.display(),
        ))
    }
}

impl Drop for RabbitCluster {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        for node in &mut self.nodes {
            if let Some(mut process) = node.process.take() {
                process.kill();
            }
        }
        self.epmd.kill();
        // A test that fails keeps nothing running, but the logs may say why.
        if failed {
            eprintln!("cluster logs: {}", self.dir.path().display());
        }
    }
}

/// `rabbit-1@localhost` for index 0.
fn node_name(index: usize) -> String {
    format!("rabbit-{}@localhost", index + 1)
}

/// Erlang reads the cookie from `$HOME/.erlang.cookie` and refuses one that
/// others may read.
fn write_cookie(home: &Path, cookie: &str) -> io::Result<()> {
    let path = home.join(".erlang.cookie");
    fs::write(&path, cookie)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400))?;
    }
    Ok(())
}
