//! Exercise 26's `rpc`: send a command to many hosts, read the answers.
//!
//! ```text
//! cargo run -q --bin exercise-26-rpc                                  # the >>: shell
//! cargo run -q --bin exercise-26-rpc -- run "df -h" --hosts web-1 db-9
//! cargo run -q --bin exercise-26-rpc -- check_task 1
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exercise_26_rpc_commands::auth::{Key, KeyArg};
use exercise_26_rpc_commands::names::{HostName, NamespaceArg, parse_host};
use exercise_26_rpc_commands::rpc::{Rpc, Timing};
use lesson_26_rpc_commands::cmd::split_command;
use lesson_26_rpc_commands::{AmqpUrl, RedisUrl, init_tracing};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Runs commands on many hosts at once through their agents. Without a
/// verb, opens the `>>:` shell.
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

/// What `rpc` can do, on its command line and at the `>>:` prompt alike.
#[derive(clap::Subcommand)]
enum Verb {
    /// Run a command on some hosts; prints `task id: N` at once
    Run {
        /// The command, quoted: "df -h". Split into words, never given to a shell
        command: String,
        /// The host names to run it on
        #[arg(long, required = true, num_args = 1.., value_parser = parse_host)]
        hosts: Vec<HostName>,
        /// Seconds the command may run before its agent kills it
        #[arg(long, default_value_t = 10.0, value_name = "SECS")]
        timeout: f64,
        /// Seconds it may wait for a busy agent before it is dropped unrun
        #[arg(long, default_value_t = 5.0, value_name = "SECS")]
        queue_wait: f64,
    },
    /// Show each host's state and output for task N
    #[command(name = "check_task", visible_alias = "check-task")]
    CheckTask {
        /// The task id that `run` printed
        id: u64,
    },
}

/// A line typed at the `>>:` prompt.
#[derive(Parser)]
#[command(name = ">>:", no_binary_name = true, disable_help_flag = true)]
struct Line {
    #[command(subcommand)]
    command: ShellCommand,
}

#[derive(clap::Subcommand)]
enum ShellCommand {
    #[command(flatten)]
    Verb(Verb),
    /// Leave the shell (Ctrl-D works too)
    Exit,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    support::exit(run(args).await)
}

async fn run(args: Args) -> exercise_26_rpc_commands::Result<()> {
    let key = Key::load(&args.key, &args.namespace.namespace)?;
    let rpc = Rpc::connect(
        &args.amqp.amqp_url,
        &args.redis.redis_url,
        args.namespace.namespace,
        key,
    )
    .await?;
    let result = match args.verb {
        Some(verb) => execute(&rpc, verb).await,
        None => shell(&rpc).await,
    };
    let _ = rpc.close().await;
    result
}

async fn execute(rpc: &Rpc, verb: Verb) -> exercise_26_rpc_commands::Result<()> {
    match verb {
        Verb::Run {
            command,
            hosts,
            timeout,
            queue_wait,
        } => {
            let timing = Timing {
                timeout: seconds(timeout)?,
                queue_wait: seconds(queue_wait)?,
            };
            let submitted = rpc.run(split_command(&command)?, &hosts, timing).await?;
            print!(
                "{}",
                exercise_26_rpc_commands::report::submitted(&submitted)
            );
        }
        Verb::CheckTask { id } => print!("{}", rpc.check_task(id).await?),
    }
    Ok(())
}

/// The `>>:` shell: one verb per line until `exit` or the end of input.
/// (Lesson 26's shell adds line editing, history and a collector that
/// stores answers as they arrive.)
async fn shell(rpc: &Rpc) -> exercise_26_rpc_commands::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    loop {
        stdout.write_all(b">>: ").await?;
        stdout.flush().await?;
        let Some(line) = lines.next_line().await? else {
            println!();
            return Ok(());
        };
        let Ok(words) = shell_words::split(&line) else {
            eprintln!("error: unbalanced quotes: close every ' and \"");
            continue;
        };
        if words.is_empty() {
            continue;
        }
        match Line::try_parse_from(&words) {
            Err(error) => {
                let _ = error.print();
            }
            Ok(Line {
                command: ShellCommand::Exit,
            }) => return Ok(()),
            Ok(Line {
                command: ShellCommand::Verb(verb),
            }) => {
                if let Err(error) = execute(rpc, verb).await {
                    eprintln!("error: {error:#}");
                }
            }
        }
    }
}

/// Seconds as a `Duration`: at least a millisecond, at most a day.
fn seconds(value: f64) -> exercise_26_rpc_commands::Result<Duration> {
    anyhow::ensure!(
        (0.001..=86_400.0).contains(&value),
        "{value} s is out of range: give 0.001 to 86400 seconds"
    );
    Ok(Duration::from_secs_f64(value))
}
