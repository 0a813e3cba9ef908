//! Ctrl-C in the middle of a run leaves nothing behind: the servers the
//! program started are gone, and so are their temporary folders.

use std::fs;

use support::testkit::{Program, eventually};

/// The processes whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // "pid (name) state ppid ...": the name may hold spaces.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if parent == Some(pid) {
            found.push(child);
        }
    }
    found
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// The kit's folders of process `pid`: `testkit-<what>-<pid>-XXXXXX`.
fn folders_of(pid: u32) -> Vec<String> {
    fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("testkit-") && name.contains(&format!("-{pid}-")))
        .collect()
}

#[test]
fn ctrl_c_stops_the_servers_and_removes_their_folders() {
    let mut program = Program::start(env!("CARGO_BIN_EXE_failover"), ["--wait", "0"]);
    // Three nodes and three Sentinels are up once they see each other.
    program.expect_line("# the Sentinels see 2 replicas");
    let pid = program.pid();
    let servers = children_of(pid);
    assert_eq!(servers.len(), 6, "{servers:?}");
    assert_eq!(folders_of(pid).len(), 6, "{:?}", folders_of(pid));

    program.interrupt();
    let done = program.finish();
    assert_eq!(done.status.code(), Some(130), "{}", done.stderr);
    assert!(done.stderr.contains("interrupted"), "{}", done.stderr);
    eventually("the servers to be gone", || {
        servers.iter().all(|server| !alive(*server))
    });
    assert!(folders_of(pid).is_empty(), "{:?}", folders_of(pid));
}
