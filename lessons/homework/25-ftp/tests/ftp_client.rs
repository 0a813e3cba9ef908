//! `ftp-client` against `ftp-server`: trees copied both ways over several
//! connections, interrupted transfers resumed, and failures reported with
//! the server's reason and a non-zero exit.

mod common;

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Server, eventually, pattern};

fn client(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ftp-client"))
        .args(["--server", &server.addr.to_string(), "--timeout", "20"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ftp-client")
}

fn as_alice(server: &Server, args: &[&str]) -> Output {
    let mut all = vec!["--user", "alice", "--password", "secret"];
    all.extend_from_slice(args);
    client(server, &all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file under `dir`, as (relative path, contents), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(current) = dirs.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((name, fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn mirror_put_and_mirror_get_copy_a_tree_over_parallel_connections() {
    let server = Server::start();
    let local = tempfile::tempdir().unwrap();
    let source = local.path().join("source");
    for (index, name) in [
        "a.bin",
        "b.txt",
        "docs/c.bin",
        "docs/d.bin",
        "docs/more/e.bin",
        "empty",
    ]
    .iter()
    .enumerate()
    {
        let path = source.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let size = if *name == "empty" {
            0
        } else {
            100_000 * index + 1
        };
        fs::write(path, pattern(size, index as u64)).unwrap();
    }
    let up = as_alice(
        &server,
        &[
            "--parallel",
            "3",
            "mirror-put",
            source.to_str().unwrap(),
            "/copy",
        ],
    );
    assert!(up.status.success(), "{}", stderr(&up));
    assert!(stdout(&up).contains("put "), "{}", stdout(&up));
    assert!(
        stdout(&up).ends_with(")\n") && stdout(&up).contains("6 files"),
        "{}",
        stdout(&up)
    );
    assert_eq!(tree(&server.path("copy")), tree(&source));

    let back = local.path().join("back");
    let down = client(
        &server,
        &["-j", "4", "mirror-get", "/copy", back.to_str().unwrap()],
    );
    assert!(down.status.success(), "{}", stderr(&down));
    assert_eq!(tree(&back), tree(&source));
    // The transfers overlapped: the server's log shows, for the upload and
    // for the download, two or more of the sessions that moved files open
    // at the same moment. (A client that used its connections one after
    // the other would show one at a time.)
    eventually("every session closed in the log", || {
        let log = server.log();
        log.matches(" connected\n").count() == log.matches("] closed (").count()
    });
    let log = server.log();
    for (command, what) in [("STOR", "upload"), ("RETR", "download")] {
        let peak = most_open_at_once(&log, command);
        assert!(
            peak >= 2,
            "the {what}'s sessions were open {peak} at a time:\n{log}"
        );
    }
}

/// The most sessions open at the same moment, among those that ran
/// `command` (STOR, RETR), replaying the server's log: sessions are numbered
/// (`[#7]`), and the log says when each connected and closed.
fn most_open_at_once(log: &str, command: &str) -> usize {
    let session = |line: &str| -> Option<String> {
        let rest = line.strip_prefix("[#")?;
        Some(rest[..rest.find(']')?].to_string())
    };
    let movers: HashSet<String> = log
        .lines()
        .filter(|line| line.contains(&format!("] {command} ")))
        .filter_map(session)
        .collect();
    let (mut open, mut peak) = (HashSet::new(), 0);
    for line in log.lines() {
        let Some(id) = session(line).filter(|id| movers.contains(id)) else {
            continue;
        };
        if line.ends_with(" connected") {
            open.insert(id);
            peak = peak.max(open.len());
        } else if line.contains("] closed (") {
            open.remove(&id);
        }
    }
    peak
}

#[test]
fn get_and_put_resume_with_continue() {
    let server = Server::start();
    let data = pattern(1_500_000, 5);
    fs::write(server.path("big.bin"), &data).unwrap();
    let local = tempfile::tempdir().unwrap();
    let target = local.path().join("big.bin");
    fs::write(&target, &data[..600_000]).unwrap();

    let get = client(
        &server,
        &[
            "--continue",
            "get",
            "big.bin",
            "--to",
            local.path().to_str().unwrap(),
        ],
    );
    assert!(get.status.success(), "{}", stderr(&get));
    assert!(stdout(&get).contains("(900000 bytes"), "{}", stdout(&get));
    assert_eq!(fs::read(&target).unwrap(), data);
    // Again: nothing left to do.
    let again = client(
        &server,
        &[
            "-c",
            "get",
            "big.bin",
            "--to",
            local.path().to_str().unwrap(),
        ],
    );
    assert!(
        stdout(&again).contains("already complete"),
        "{}",
        stdout(&again)
    );

    // Upload: the server has the first 250,000 bytes of it.
    fs::write(server.path("up.bin"), &data[..250_000]).unwrap();
    let source = local.path().join("up.bin");
    fs::write(&source, &data).unwrap();
    let put = as_alice(&server, &["--continue", "put", source.to_str().unwrap()]);
    assert!(put.status.success(), "{}", stderr(&put));
    assert!(stdout(&put).contains("(1250000 bytes"), "{}", stdout(&put));
    assert_eq!(fs::read(server.path("up.bin")).unwrap(), data);
}

#[test]
fn ls_lists_a_directory() {
    let server = Server::start();
    fs::write(server.path("hello.txt"), "hello").unwrap();
    let ls = client(&server, &["ls"]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert!(stdout(&ls).contains(" hello.txt"), "{}", stdout(&ls));
}

#[test]
fn failures_exit_non_zero_with_the_servers_reason() {
    let server = Server::start();
    fs::write(server.path("there.txt"), "x").unwrap();
    let local = tempfile::tempdir().unwrap();

    let missing = client(
        &server,
        &["get", "nope.txt", "--to", local.path().to_str().unwrap()],
    );
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("nope.txt: no such file"),
        "{}",
        stderr(&missing)
    );

    // Anonymous is read-only: the server's 550 reaches the user.
    let source = local.path().join("x.txt");
    fs::write(&source, "x").unwrap();
    let refused = client(&server, &["put", source.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("550 Permission denied"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stdout(&refused).contains("1 failed"),
        "{}",
        stdout(&refused)
    );

    let wrong = client(&server, &["--user", "alice", "--password", "nope", "ls"]);
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("530"), "{}", stderr(&wrong));

    // No server at all: say where we tried and how to start one.
    let dead = Command::new(env!("CARGO_BIN_EXE_ftp-client"))
        .args(["--server", "127.0.0.1:1", "ls"])
        .output()
        .unwrap();
    assert!(!dead.status.success());
    assert!(stderr(&dead).contains("127.0.0.1:1"), "{}", stderr(&dead));
    assert!(stderr(&dead).contains("ftp-server"), "{}", stderr(&dead));
}
