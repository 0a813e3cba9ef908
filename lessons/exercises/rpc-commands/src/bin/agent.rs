//! Exercise 26's agent: runs the commands `rpc` sends to its host name.
//!
//! ```text
//! cargo run -q --bin exercise-26-agent -- --host web-1
//! cargo run -q --bin exercise-26-agent -- --host db-1 --allow 'sleep *' --allow 'ls *'
//! ```
//!
//! Its first line says it is ready (the checker waits for it); then, once
//! you have written `agent::handle`, a line or two per command.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exercise_26_rpc_commands::agent::{Agent, Config};
use exercise_26_rpc_commands::allow::Policy;
use exercise_26_rpc_commands::auth::{Key, KeyArg, broker_user};
use exercise_26_rpc_commands::names::{HostName, NamespaceArg, parse_host};
use lesson_26_rpc_commands::{AmqpUrl, init_tracing};

/// Runs the commands `rpc` sends to this host name, if they are allowed,
/// without a shell, with a timeout and a cap on output.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// This agent's host name: `rpc run ... --hosts NAME` reaches it
    #[arg(long, value_parser = parse_host)]
    host: HostName,
    #[command(flatten)]
    amqp: AmqpUrl,
    #[command(flatten)]
    namespace: NamespaceArg,
    #[command(flatten)]
    key: KeyArg,
    /// Allow a command: a program and its exact arguments, where a final `*`
    /// allows any further ones ('df *'). Repeat it; replaces the default list
    #[arg(long = "allow", value_name = "RULE")]
    allow: Vec<String>,
    /// Run ANY command sent to this host: only on a machine you own
    #[arg(long, conflicts_with = "allow")]
    allow_any: bool,
    /// How many commands may run at the same time
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// The longest a command may run, whatever timeout it asks for
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    max_timeout: u64,
    /// Bytes of stdout, and of stderr, sent back; the rest is counted and flagged
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    max_output: usize,
}

// One thread: the agent mostly waits. It also keeps the thread that spawns
// commands alive as long as the process, should you use PR_SET_PDEATHSIG.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    support::exit(run(args).await)
}

async fn run(args: Args) -> exercise_26_rpc_commands::Result<()> {
    let config = Config {
        key: Key::load(&args.key, &args.namespace.namespace)?,
        user: broker_user(&args.amqp.amqp_url)?,
        host: args.host,
        namespace: args.namespace.namespace,
        policy: Policy::from_flags(args.allow_any, &args.allow, None)?,
        parallel: args.parallel,
        max_timeout: Duration::from_secs(args.max_timeout),
        max_output: args.max_output,
    };
    let connection = support::amqp::connect(&args.amqp.amqp_url).await?;
    let agent = Agent::start(&connection, config.clone()).await?;
    println!(
        "agent {} ready: namespace `{}`, up to {} commands at once",
        config.host, config.namespace, config.parallel
    );
    println!("[{}] allowed: {}", config.host, config.policy.describe());
    tokio::select! {
        result = agent.serve() => result,
        _ = tokio::signal::ctrl_c() => {
            println!("[{}] stopping", config.host);
            // Closing the connection deletes this agent's queue: from now
            // on, commands for this host come back as "no agent".
            connection.close(200, "agent stopped".into()).await?;
            Ok(())
        }
    }
}
