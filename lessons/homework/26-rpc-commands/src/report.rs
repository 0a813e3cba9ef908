//! How tasks look on screen: what `run`, `check_task` and `tasks` print.
//!
//! Plain functions from data to text, so they are tested without brokers.
//!
//! Everything a command printed, and everything an agent said, is shown
//! through [`visible`]: terminal control characters are written out as
//! `cat -v` does (`^[` for ESC), so that output cannot move the cursor,
//! retitle the window or hide lines in the user's terminal.

use std::fmt::Write as _;
use std::time::Duration;

use crate::client::Submitted;
use crate::protocol::{Outcome, Output, Reply};
use crate::store::{Answer, Task};

// ANCHOR: state
/// Where one host of a task stands, as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState<'a> {
    /// No answer yet, and the deadline has not passed.
    Pending,
    /// RabbitMQ returned the command: nothing serves this host.
    NoAgent,
    /// The agent answered; `late` if after the deadline.
    Replied { reply: &'a Reply, late: bool },
    /// No answer, and the deadline has passed: the agent died mid-command,
    /// or the command waited too long for a busy agent and expired.
    Silent,
}

impl<'a> HostState<'a> {
    /// The state of a host with this answer, at time `now_ms`.
    pub fn of(answer: Option<&'a Answer>, deadline_ms: u64, now_ms: u64) -> Self {
        match answer {
            Some(Answer::NoAgent) => HostState::NoAgent,
            Some(Answer::Replied { reply, received_ms }) => HostState::Replied {
                reply,
                late: *received_ms > deadline_ms,
            },
            None if now_ms >= deadline_ms => HostState::Silent,
            None => HostState::Pending,
        }
    }

    /// One word (or two) for the state: pending, done, refused, timed out,
    /// no agent, or error.
    pub fn label(&self) -> &'static str {
        match self {
            HostState::Pending => "pending",
            HostState::NoAgent => "no agent",
            HostState::Silent => "timed out",
            HostState::Replied { reply, .. } => match reply.outcome {
                Outcome::Exited { .. } | Outcome::Signalled { .. } => "done",
                Outcome::TimedOut { .. } => "timed out",
                Outcome::Refused { .. } => "refused",
                Outcome::FailedToStart { .. } => "error",
            },
        }
    }
}
// ANCHOR_END: state

/// The order states are counted in.
const LABELS: &[&str] = &[
    "pending",
    "done",
    "refused",
    "timed out",
    "no agent",
    "error",
];

/// `exit 0 in 4 ms`, `killed after 1 s`, ...: one line about an outcome.
pub fn outcome_line(outcome: &Outcome, took: Duration) -> String {
    let took = duration(took.as_millis() as u64);
    match outcome {
        Outcome::Exited { code } => format!("exit {code} in {took}"),
        Outcome::Signalled { signal } => format!("killed by signal {signal} after {took}"),
        Outcome::TimedOut { after_ms } => {
            format!(
                "killed after its timeout of {}, with everything it started",
                duration(*after_ms)
            )
        }
        Outcome::Refused { reason } => reason.clone(),
        Outcome::FailedToStart { reason } => reason.clone(),
    }
}

// ANCHOR: visible
/// `text` with every control character written out, as `cat -v` shows them:
/// ESC is `^[`, DEL is `^?`, the C1 controls (U+0080 to U+009F, which some
/// terminals obey like ESC sequences) are `M-^[` and so on. Tabs stay. The
/// Unicode controls that reorder text (right-to-left overrides) are shown
/// as `<U+202E>`, so a line reads in the order its characters come.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = c as u32;
        match code {
            0x09 => out.push('\t'),
            0x00..=0x1f => {
                out.push('^');
                out.push(char::from(b'@' + code as u8));
            }
            0x7f => out.push_str("^?"),
            0x80..=0x9f => {
                out.push_str("M-^");
                out.push(char::from(b'@' + (code - 0x80) as u8));
            }
            0x202a..=0x202e | 0x2066..=0x2069 => {
                let _ = write!(out, "<U+{code:04X}>");
            }
            _ => out.push(c),
        }
    }
    out
}
// ANCHOR_END: visible

/// The note `check_task` adds when replies were dropped for failing the
/// checks: someone forged them, or an agent has another key.
pub fn dropped_note(count: u64, namespace: &crate::names::Namespace) -> String {
    format!(
        "note: {count} repl{} in namespace `{namespace}` failed the authenticity check and \
         {} dropped (forged, or signed with another key)",
        if count == 1 { "y" } else { "ies" },
        if count == 1 { "was" } else { "were" }
    )
}

/// What `run` prints: the task id first, then the hosts nobody serves.
pub fn submitted(submitted: &Submitted) -> String {
    let mut out = format!("task id: {}\n", submitted.id);
    for host in &submitted.no_agent {
        let _ = writeln!(out, "  {host}: no agent (nothing serves this host name)");
    }
    out
}

// ANCHOR: task
/// What `check_task` prints: a summary, then each host with its output.
pub fn task(task: &Task, now_ms: u64) -> String {
    let states = states_of(task, now_ms);
    let mut out = format!(
        "task {}: {}\nsent {} to {} host{}: {}\n",
        task.id,
        visible(&task.meta.command),
        age(task.meta.created_ms, now_ms),
        task.answers.len(),
        if task.answers.len() == 1 { "" } else { "s" },
        summary(&states)
    );
    let width = task
        .answers
        .iter()
        .map(|(host, _)| host.len())
        .max()
        .unwrap_or(0);
    for ((host, _), state) in task.answers.iter().zip(&states) {
        let detail = match state {
            HostState::Pending => {
                format!(
                    "deadline in {}",
                    duration(task.meta.deadline_ms.saturating_sub(now_ms))
                )
            }
            HostState::NoAgent => {
                format!("nothing serves this host: start one with `agent --host {host}`")
            }
            HostState::Silent => "no answer by the deadline (did its agent stop?)".to_string(),
            HostState::Replied { reply, late } => {
                let mut line =
                    outcome_line(&reply.outcome, Duration::from_millis(reply.duration_ms));
                if *late {
                    line.push_str(" (answered after the deadline)");
                }
                line
            }
        };
        let detail = visible(&detail);
        let _ = writeln!(out, "{host:<width$}  {:<9}  {detail}", state.label());
        if let HostState::Replied { reply, .. } = state {
            show_output(&mut out, "stdout", "|", &reply.stdout);
            show_output(&mut out, "stderr", "!", &reply.stderr);
        }
    }
    out
}

/// A command's output, indented, each line marked `|` (stdout) or `!`
/// (stderr), and a note if it was cut.
fn show_output(out: &mut String, name: &str, mark: &str, output: &Output) {
    for line in output.text.lines() {
        let _ = writeln!(out, "  {mark} {}", visible(line));
    }
    if output.truncated {
        let _ = writeln!(
            out,
            "  [{name} truncated: kept {} of {} bytes]",
            output.text.len(),
            output.bytes
        );
    }
}
// ANCHOR_END: task

/// What `tasks` prints: one line per task, newest first.
pub fn task_list(tasks: &[Task], now_ms: u64) -> String {
    if tasks.is_empty() {
        return "no tasks yet: try run \"uptime\" --hosts NAME\n".to_string();
    }
    let rows: Vec<[String; 5]> = tasks
        .iter()
        .map(|task| {
            [
                task.id.to_string(),
                age(task.meta.created_ms, now_ms),
                task.answers.len().to_string(),
                summary(&states_of(task, now_ms)),
                visible(&task.meta.command),
            ]
        })
        .collect();
    let header = ["id", "sent", "hosts", "state", "command"].map(String::from);
    let table = || std::iter::once(&header).chain(&rows);
    let width = |column: usize| table().map(|row| row[column].len()).max().unwrap_or(0);
    let (id, sent, hosts, state) = (width(0), width(1), width(2), width(3));
    let mut out = String::new();
    for [a, b, c, d, e] in table() {
        let _ = writeln!(out, "{a:>id$}  {b:<sent$}  {c:>hosts$}  {d:<state$}  {e}");
    }
    out
}

/// The state of each host of `task`, in order.
fn states_of(task: &Task, now_ms: u64) -> Vec<HostState<'_>> {
    task.answers
        .iter()
        .map(|(_, answer)| HostState::of(answer.as_ref(), task.meta.deadline_ms, now_ms))
        .collect()
}

/// `2 done, 1 no agent`.
fn summary(states: &[HostState]) -> String {
    let parts: Vec<String> = LABELS
        .iter()
        .filter_map(|label| {
            let n = states.iter().filter(|s| s.label() == *label).count();
            (n > 0).then(|| format!("{n} {label}"))
        })
        .collect();
    parts.join(", ")
}

/// `12 ms`, `1.5 s`, `2 min 3 s`.
fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => {
            let tenths = ms / 100;
            if tenths % 10 == 0 {
                format!("{} s", tenths / 10)
            } else {
                format!("{}.{} s", tenths / 10, tenths % 10)
            }
        }
        _ => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// `just now`, `4 s ago`, `3 min ago`, `2 h ago`.
fn age(then_ms: u64, now_ms: u64) -> String {
    let s = now_ms.saturating_sub(then_ms) / 1000;
    match s {
        0 => "just now".to_string(),
        1..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TaskMeta;

    fn reply(outcome: Outcome, stdout: &str) -> Reply {
        Reply {
            agent: "web-1".into(),
            outcome,
            stdout: Output {
                text: stdout.into(),
                bytes: stdout.len() as u64,
                truncated: false,
            },
            stderr: Output::default(),
            started_ms: 1_000,
            duration_ms: 4,
        }
    }

    fn sample() -> Task {
        Task {
            id: 7,
            meta: TaskMeta {
                command: "df -h".into(),
                hosts: vec!["web-1".into(), "web-2".into(), "db-9".into(), "db-1".into()],
                created_ms: 1_000,
                deadline_ms: 17_000,
                timeout_ms: 10_000,
            },
            answers: vec![
                (
                    "web-1".into(),
                    Some(Answer::Replied {
                        reply: reply(Outcome::Exited { code: 0 }, "Filesystem\n/dev/sda1\n"),
                        received_ms: 1_010,
                    }),
                ),
                (
                    "web-2".into(),
                    Some(Answer::Replied {
                        reply: reply(
                            Outcome::Refused {
                                reason: "not allowed".into(),
                            },
                            "",
                        ),
                        received_ms: 1_010,
                    }),
                ),
                ("db-9".into(), Some(Answer::NoAgent)),
                ("db-1".into(), None),
            ],
        }
    }

    #[test]
    fn check_task_shows_every_host_and_its_output() {
        let text = task(&sample(), 5_000);
        let expected = "\
task 7: df -h
sent 4 s ago to 4 hosts: 1 pending, 1 done, 1 refused, 1 no agent
web-1  done       exit 0 in 4 ms
  | Filesystem
  | /dev/sda1
web-2  refused    not allowed
db-9   no agent   nothing serves this host: start one with `agent --host db-9`
db-1   pending    deadline in 12 s
";
        assert_eq!(text, expected);
    }

    #[test]
    fn after_the_deadline_silence_is_a_timeout() {
        let text = task(&sample(), 20_000);
        assert!(
            text.contains("db-1   timed out  no answer by the deadline"),
            "{text}"
        );
        assert!(
            text.contains("1 done, 1 refused, 1 timed out, 1 no agent"),
            "{text}"
        );
    }

    #[test]
    fn truncated_output_is_flagged() {
        let mut t = sample();
        if let Some(Answer::Replied { reply, .. }) = &mut t.answers[0].1 {
            reply.stdout.truncated = true;
            reply.stdout.bytes = 48_894;
        }
        let text = task(&t, 5_000);
        assert!(
            text.contains("[stdout truncated: kept 21 of 48894 bytes]"),
            "{text}"
        );
    }

    #[test]
    fn escape_sequences_in_output_are_shown_not_obeyed() {
        let mut t = sample();
        if let Some(Answer::Replied { reply, .. }) = &mut t.answers[0].1 {
            // Clear the screen, set the window title, a C1 CSI, a bell.
            reply.stdout.text = "\x1b[2J\x1b]0;owned\x07\u{9b}31mred\x7f\tok\n".into();
        }
        let text = task(&t, 5_000);
        assert!(
            text.contains("  | ^[[2J^[]0;owned^GM-^[31mred^?\tok\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b') && !text.contains('\u{9b}'), "{text}");
        assert_eq!(visible("abc \u{202e}cba 武"), "abc <U+202E>cba 武");
    }

    #[test]
    fn durations_and_ages_read_naturally() {
        assert_eq!(duration(12), "12 ms");
        assert_eq!(duration(1_000), "1 s");
        assert_eq!(duration(1_540), "1.5 s");
        assert_eq!(duration(123_000), "2 min 3 s");
        assert_eq!(age(0, 500), "just now");
        assert_eq!(age(0, 4_000), "4 s ago");
        assert_eq!(age(0, 7_200_000), "2 h ago");
    }

    #[test]
    fn the_task_list_has_one_line_per_task() {
        let text = task_list(&[sample()], 5_000);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].contains("1 pending, 1 done"), "{text}");
        assert!(lines[1].ends_with("df -h"), "{text}");
        assert!(task_list(&[], 0).starts_with("no tasks yet"));
    }
}
