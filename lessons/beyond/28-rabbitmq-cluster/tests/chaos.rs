//! The lesson's claim, checked by running `chaos` as a student does: over
//! three kills of a quorum queue's leader (each seen by the cluster's own
//! tools to hand the lead to another node), no message the broker confirmed
//! is missing at the consumer; and a classic queue on a killed node is
//! unavailable while it is down, and loses what it confirmed meanwhile.
//!
//! One run of the program, one cluster (its own): three Erlang nodes are
//! heavy for a 2-core CI machine, so everything is asserted on that run.

use std::path::Path;
use std::time::Duration;

use support::testkit::{Program, eventually_within};

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");

/// The longest the program may go without printing a line.
const LINE_PATIENCE: Duration = Duration::from_secs(300);

/// The number after `label` in `line`: `"3 lost"` -> 3 for `" lost"`.
fn count_before(line: &str, label: &str) -> u64 {
    let end = line
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"));
    line[..end]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number before {label:?} in {line:?}"))
}

#[test]
fn no_confirmed_message_is_lost_over_three_leader_kills() {
    let mut program = Program::start(CHAOS, ["--kills", "3", "--between", "100", "--outage", "4"]);
    // A node restart takes 10-30 s on a loaded machine: lines come slowly,
    // so each gets minutes, and the program is then expected to have ended.
    while program.next_line(LINE_PATIENCE).is_some() {}
    let finished = program.finish();
    let out = &finished.stdout;
    assert!(
        finished.success(),
        "chaos failed:\n{out}\n{}",
        finished.stderr
    );

    // Three kills, each of the leader, each followed by another leader: the
    // names come from `rabbitmqctl list_queues name leader`, asked of the
    // cluster after the kill, not from the program's own bookkeeping.
    let kills: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("kill ") && l.contains("the leader"))
        .collect();
    assert_eq!(kills.len(), 3, "{out}");
    for kill in &kills {
        let killed = kill
            .split("kill -9 ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        let elected = kill
            .split("new leader ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert_ne!(killed, elected, "{kill}");
    }

    // Acknowledged vs recovered: every id the broker confirmed arrived.
    let quorum = out.lines().find(|l| l.starts_with("quorum: ")).expect(out);
    let acknowledged = count_before(quorum, " acknowledged");
    let recovered = count_before(quorum, " recovered");
    assert!(acknowledged > 0, "{quorum}");
    assert_eq!(count_before(quorum, " lost"), 0, "{out}");
    assert!(recovered >= acknowledged, "{quorum}");

    // The classic queue: its consumers were turned away while its node was
    // down, and what was confirmed meanwhile is gone.
    let classic = out.lines().find(|l| l.starts_with("classic: ")).expect(out);
    assert!(count_before(classic, " consumes refused") > 0, "{out}");
    assert!(count_before(classic, " lost") > 0, "{out}");

    // Nothing is left behind: the nodes' folder is gone, and so are they.
    let dir = out
        .lines()
        .find_map(|l| l.split("data and logs in ").nth(1))
        .map(|rest| rest.trim_end_matches(')').to_string())
        .expect(out);
    eventually_within(
        "the cluster's folder to be removed",
        Duration::from_secs(30),
        || !Path::new(&dir).exists(),
    );
    // Every node ran with its data folder on its command line: no process
    // that names the folder may remain.
    eventually_within("every node to be gone", Duration::from_secs(30), || {
        processes_naming(&dir).is_empty()
    });
}

/// The ids of the processes whose command line contains `text`.
fn processes_naming(text: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
        })
        .collect()
}
