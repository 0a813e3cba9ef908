//! Prints the log messages whose routing key matches one of the patterns.
//!
//! ```text
//! just run lesson-14 receive-logs-topic "#"                       # everything
//! just run lesson-14 receive-logs-topic "kern.*" "*.critical"     # kernel, or critical
//! ```
//!
//! Quote the patterns: an unquoted `*` is expanded by the shell.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use lapin::types::ShortString;
use lesson_14_topics::{EXCHANGE, declare_exchange, literal_wildcards, subscribe, topic_matches};
use support::amqp::{AmqpArgs, for_each_delivery, short_string};

/// Print the messages of a topic exchange whose routing key matches one of
/// the given patterns (`*` is one word, `#` is zero or more words).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    amqp: AmqpArgs,
    /// The topic exchange.
    #[arg(long, default_value = EXCHANGE, value_parser = short_string)]
    exchange: ShortString,
    /// The binding patterns, e.g. "kern.*" "*.critical" (quote them).
    #[arg(required = true, value_parser = short_string)]
    patterns: Vec<ShortString>,
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run(Args::parse()).await)
}

// ANCHOR: run
async fn run(args: Args) -> anyhow::Result<()> {
    for pattern in args.patterns.iter().map(ShortString::as_str) {
        for word in literal_wildcards(pattern) {
            println!(
                " [!] In {pattern:?}, {word:?} is a literal word, not a wildcard: \
                 * and # match whole words only"
            );
        }
    }
    let session = args.amqp.session().await?;
    declare_exchange(&session.channel, &args.exchange).await?;
    let (queue, consumer) = subscribe(&session.channel, &args.exchange, &args.patterns)
        .await
        .context("binding a queue for each pattern")?;
    let patterns: Vec<&str> = args.patterns.iter().map(ShortString::as_str).collect();
    println!(
        " [*] Queue {queue} is bound to '{}' with patterns: {}",
        args.exchange,
        patterns.join(", ")
    );
    println!(" [*] Waiting for logs. To exit press CTRL+C");
    let patterns = &patterns;
    for_each_delivery(consumer, |delivery| async move {
        let message = String::from_utf8_lossy(&delivery.data);
        let key = delivery.routing_key.as_str();
        // Which of our patterns let it in: the broker does not say, so we
        // ask our own copy of its rule.
        let matched: Vec<&str> = patterns
            .iter()
            .copied()
            .filter(|pattern| topic_matches(pattern, key))
            .collect();
        println!(" [x] {key}: {message:?} (matched {})", matched.join(", "));
        Ok(())
    })
    .await?;
    session.close().await?;
    Ok(())
}
// ANCHOR_END: run
