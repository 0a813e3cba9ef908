//! The agent: runs the commands sent to its host name and answers them.
//!
//! ```text
//! just run lesson-26 agent --host web-1
//! just run lesson-26 agent --host db-1 --allow 'sleep *' --allow 'ls *'
//! ```
//!
//! Its first line says it is ready; then one line per command it handles.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lesson_26_rpc_commands::agent::{Agent, Config};
use lesson_26_rpc_commands::allow::Policy;
use lesson_26_rpc_commands::auth::{Key, KeyArg, broker_user};
use lesson_26_rpc_commands::names::{HostName, NamespaceArg, parse_host};
use lesson_26_rpc_commands::protocol::MAX_OUTPUT_LIMIT;
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
    /// Read rules from a file, one per line (`#` starts a comment)
    #[arg(long, value_name = "FILE")]
    allow_file: Option<PathBuf>,
    /// Run ANY command sent to this host. Only on a machine you own, on a
    /// broker only you can publish to
    #[arg(long, conflicts_with_all = ["allow", "allow_file"])]
    allow_any: bool,
    /// How many commands may run at the same time
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// The longest a command may run, whatever timeout it asks for: a
    /// request cannot hold one of the --parallel slots for longer
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    max_timeout: u64,
    /// Bytes of stdout, and of stderr, sent back (at most 1 MiB); the rest
    /// is counted and flagged
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES", value_parser = parse_max_output)]
    max_output: usize,
}

// ANCHOR: main
// One thread is plenty: the agent mostly waits (for messages, for its
// commands), and tokio runs all of that on one thread. It also makes the
// thread that spawns commands the main thread, which lives as long as the
// process: PR_SET_PDEATHSIG fires when that *thread* ends.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    support::exit(run(args).await)
}

async fn run(args: Args) -> lesson_26_rpc_commands::Result<()> {
    let policy = Policy::from_flags(args.allow_any, &args.allow, args.allow_file.as_deref())?;
    let namespace = args.namespace.namespace.clone();
    let config = Config {
        host: args.host.clone(),
        namespace: args.namespace.namespace.clone(),
        policy,
        parallel: args.parallel,
        max_timeout: Duration::from_secs(args.max_timeout),
        max_output: args.max_output,
        key: Key::load(&args.key, &namespace)?,
        user: broker_user(&args.amqp.amqp_url)?,
    };
    let connection = Arc::new(support::amqp::connect(&args.amqp.amqp_url).await?);
    let agent = Agent::start(Arc::clone(&connection), config.clone()).await?;
    // The first line: tests and scripts wait for it.
    println!(
        "agent {} ready: namespace `{}`, queue {}, up to {} commands at once",
        config.host,
        config.namespace,
        agent.queue(),
        config.parallel
    );
    println!("[{}] allowed: {}", config.host, config.policy.describe());
    println!(
        "[{}] obeys only requests from broker user `{}` signed with the key from {}",
        config.host,
        config.user,
        config.key.origin()
    );
    tokio::select! {
        result = agent.serve() => result,
        _ = tokio::signal::ctrl_c() => {
            println!("[{}] stopping", config.host);
            // Closing the connection deletes this agent's queue: from now
            // on, commands for this host come back as "no agent".
            // A channel still closing (the reply channel, say) can make
            // lapin report an error here; the connection ends all the same
            // when the process does, so that is only worth a debug line.
            if let Err(error) = connection.close(200, "agent stopped".into()).await {
                tracing::debug!("closing the connection: {error}");
            }
            Ok(())
        }
    }
}
// ANCHOR_END: main

/// `--max-output`: up to [`MAX_OUTPUT_LIMIT`], so that a reply always fits.
fn parse_max_output(text: &str) -> Result<usize, String> {
    let bytes: usize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of bytes"))?;
    if bytes > MAX_OUTPUT_LIMIT {
        return Err(format!(
            "{bytes} bytes is more than a reply may carry: give at most {MAX_OUTPUT_LIMIT}"
        ));
    }
    Ok(bytes)
}
