//! The interactive shell: a `>>:` prompt with line editing and history
//! (arrow keys, Ctrl-R), `help`, the verbs, and `exit`.
//!
//! Start it with `just run lesson-26 rpc` (no verb). It collects answers in
//! the background the whole time, so `check_task` shows them as soon as
//! they arrive. Bad input gets a message and the shell goes on.
//!
//! Reading a line blocks, which must not happen on the async runtime, so
//! lines are read on a thread of their own and handed over one at a time:
//! the reader waits until a line is handled before it prints the next prompt.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc as std_mpsc;

use clap::Parser;
use tokio::sync::mpsc;

use crate::client::Client;
use crate::cmd::Verb;

/// The prompt, as in the homework's description.
pub const PROMPT: &str = ">>: ";

// ANCHOR: line
/// One line typed at the prompt: a verb, or `exit`.
#[derive(Debug, Parser)]
#[command(
    name = ">>:",
    about = "Verbs: the same as `rpc VERB ...` on the command line, without `rpc`.",
    no_binary_name = true,
    disable_help_flag = true,
    after_help = "Examples:\n  run \"df -h\" --hosts web-1 web-2\n  check_task 1 --wait\n  tasks\n\n\
                  `help VERB` tells more about a verb. Arrow keys recall earlier lines."
)]
struct Line {
    #[command(subcommand)]
    command: ShellCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ShellCommand {
    #[command(flatten)]
    Verb(Verb),
    /// Leave the shell (Ctrl-D works too); tasks go on without it
    #[command(visible_alias = "quit")]
    Exit,
}
// ANCHOR_END: line

/// A line handed from the reader thread, with the way to say "handled;
/// `true` to read another".
type Handoff = (String, std_mpsc::Sender<bool>);

// ANCHOR: interactive
/// Runs the shell until `exit` or end of input.
pub async fn interactive(client: &Client) -> crate::Result<()> {
    client.ensure_collector().await?;
    println!(
        "rpc shell, namespace `{}`. Type `help` for the verbs, `exit` to leave.",
        client.namespace()
    );
    let (lines, mut incoming) = mpsc::channel::<Handoff>(1);
    std::thread::Builder::new()
        .name("rpc-shell-input".into())
        .spawn(move || read_lines(&lines))?;
    while let Some((line, handled)) = incoming.recv().await {
        let go_on = handle_line(client, &line).await;
        let _ = handled.send(go_on);
        if !go_on {
            break;
        }
    }
    Ok(())
}

/// Carries out one line. Returns `false` when the shell should end.
async fn handle_line(client: &Client, line: &str) -> bool {
    let Ok(words) = shell_words::split(line) else {
        eprintln!("error: unbalanced quotes: close every ' and \" (nothing was run)");
        return true;
    };
    if words.is_empty() {
        return true;
    }
    match Line::try_parse_from(&words) {
        // `help`, and every mistake clap finds (unknown verb, no --hosts,
        // a task id that is not a number): its message, then the next prompt.
        Err(error) => {
            let _ = crate::cmd::explain(error).print();
            true
        }
        Ok(Line {
            command: ShellCommand::Exit,
        }) => false,
        Ok(Line {
            command: ShellCommand::Verb(verb),
        }) => {
            if let Err(error) = verb.execute(client).await {
                eprintln!("error: {error:#}");
            }
            true
        }
    }
}
// ANCHOR_END: interactive

/// The reader thread: prompts, reads, hands the line over, waits.
fn read_lines(lines: &mpsc::Sender<Handoff>) {
    let mut input = Input::open();
    while let Some(line) = input.read_line() {
        let (handled, wait) = std_mpsc::channel();
        if lines.blocking_send((line, handled)).is_err() {
            return;
        }
        // Stop reading if the shell is done: in a terminal, rustyline would
        // otherwise leave it in raw mode at exit.
        if wait.recv() != Ok(true) {
            return;
        }
    }
}

/// Where lines come from: rustyline in a terminal (editing, history), or
/// plain lines from a pipe, with the prompt printed all the same so that a
/// transcript reads like a session.
enum Input {
    Terminal(Box<rustyline::DefaultEditor>),
    Pipe(std::io::StdinLock<'static>),
}

impl Input {
    fn open() -> Input {
        if std::io::stdin().is_terminal() {
            let config = rustyline::Config::builder().auto_add_history(true).build();
            if let Ok(editor) = rustyline::DefaultEditor::with_config(config) {
                return Input::Terminal(Box::new(editor));
            }
        }
        Input::Pipe(std::io::stdin().lock())
    }

    /// The next line, or `None` at the end of input (Ctrl-D).
    fn read_line(&mut self) -> Option<String> {
        match self {
            Input::Terminal(editor) => loop {
                match editor.readline(PROMPT) {
                    Ok(line) => return Some(line),
                    // Ctrl-C drops the line being typed, as in bash.
                    Err(rustyline::error::ReadlineError::Interrupted) => continue,
                    // Bytes that are not UTF-8: say so, and read on.
                    Err(rustyline::error::ReadlineError::Io(error))
                        if error.kind() == std::io::ErrorKind::InvalidData =>
                    {
                        eprintln!("error: that line is not UTF-8 text (nothing was run)");
                        continue;
                    }
                    Err(_) => return None,
                }
            },
            Input::Pipe(stdin) => loop {
                print!("{PROMPT}");
                let _ = std::io::stdout().flush();
                // Bytes, not a String: a line that is not UTF-8 must not end
                // the shell and lose every line after it.
                let mut bytes = Vec::new();
                match stdin.read_until(b'\n', &mut bytes) {
                    Ok(0) | Err(_) => {
                        println!();
                        return None;
                    }
                    Ok(_) => {
                        // Echo it: piped input is not shown by a terminal,
                        // and a transcript should read like a session.
                        let shown = String::from_utf8_lossy(&bytes);
                        print!("{shown}");
                        if !shown.ends_with('\n') {
                            println!();
                        }
                        match String::from_utf8(bytes) {
                            Ok(line) => return Some(line),
                            Err(_) => eprintln!(
                                "error: that line is not UTF-8 text (nothing was run); \
                                 undecodable bytes are shown as \u{FFFD}"
                            ),
                        }
                    }
                }
            },
        }
    }
}
