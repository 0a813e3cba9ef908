//! `rpc`: send commands to many hosts and read their results.
//!
//! ```text
//! just run lesson-26 rpc                                   # the >>: shell
//! just run lesson-26 rpc run "df -h" --hosts web-1 web-2   # prints task id: N
//! just run lesson-26 rpc check_task N
//! just run lesson-26 rpc tasks
//! ```

use std::process::ExitCode;

use clap::Parser;
use lesson_26_rpc_commands::auth::{Key, KeyArg};
use lesson_26_rpc_commands::client::Client;
use lesson_26_rpc_commands::cmd::{self, Verb};
use lesson_26_rpc_commands::names::NamespaceArg;
use lesson_26_rpc_commands::{AmqpUrl, RedisUrl, init_tracing, shell};

/// Runs commands on many hosts at once through their agents, over RabbitMQ,
/// and keeps tasks and results in Redis. Without a verb, opens the `>>:` shell.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpUrl,
    #[command(flatten)]
    redis: RedisUrl,
    #[command(flatten)]
    namespace: NamespaceArg,
    #[command(flatten)]
    key: KeyArg,
    #[command(subcommand)]
    verb: Option<Verb>,
}

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::try_parse().unwrap_or_else(|error| cmd::explain(error).exit());
    support::exit(run(args).await)
}

async fn run(args: Args) -> lesson_26_rpc_commands::Result<()> {
    let key = Key::load(&args.key, &args.namespace.namespace)?;
    let client = Client::connect(
        &args.amqp.amqp_url,
        &args.redis.redis_url,
        args.namespace.namespace,
        key,
    )
    .await?;
    let result = match args.verb {
        Some(verb) => verb.execute(&client).await,
        None => shell::interactive(&client).await,
    };
    // The verb's result is what counts; a failed goodbye is only noise.
    if let Err(error) = client.close().await {
        tracing::debug!("closing the connection: {error:#}");
    }
    result
}
// ANCHOR_END: main
