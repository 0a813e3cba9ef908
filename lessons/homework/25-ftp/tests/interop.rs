//! The clients people already have: curl, Python's ftplib and lftp upload
//! and download byte-identical files through the lesson's server.
//!
//! These need `curl`, `python3` and `lftp` installed (`.ci/run` installs
//! them on CI); a missing one fails with the command to install it.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Server, part_files, pattern};

/// Runs a client program to completion, its output captured.
fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): apt-get install {program}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn curl(args: &[&str]) -> Output {
    let mut all = vec!["--silent", "--show-error", "--max-time", "60"];
    all.extend_from_slice(args);
    run("curl", &all)
}

#[test]
fn curl_uploads_and_downloads_identical_files() {
    let server = Server::start();
    let local = tempfile::tempdir().unwrap();
    for (name, size) in [
        ("empty.bin", 0),
        ("one.bin", 1),
        ("several.bin", 4 * 1024 * 1024 + 7),
    ] {
        let data = pattern(size, size as u64);
        let source = local.path().join(name);
        fs::write(&source, &data).unwrap();
        let url = format!("ftp://127.0.0.1:{}/up/{name}", server.port());
        curl(&[
            "--user",
            "alice:secret",
            "--ftp-create-dirs",
            "-T",
            source.to_str().unwrap(),
            &url,
        ]);
        assert_eq!(
            fs::read(server.path(&format!("up/{name}"))).unwrap(),
            data,
            "{name} on the server"
        );
        let got = curl(&["--user", "alice:secret", &url]).stdout;
        assert_eq!(got, data, "{name} downloaded");
    }
    // Anonymous (curl's default login) may read.
    let url = format!("ftp://127.0.0.1:{}/up/one.bin", server.port());
    assert_eq!(curl(&[&url]).stdout.len(), 1);
    assert!(part_files(server.root.path()).is_empty());
}

#[test]
fn curl_resumes_a_download_with_rest() {
    let server = Server::start();
    let data = pattern(2_000_003, 9);
    fs::write(server.path("big.bin"), &data).unwrap();
    let local = tempfile::tempdir().unwrap();
    let target = local.path().join("big.bin");
    fs::write(&target, &data[..777_777]).unwrap();
    let url = format!("ftp://127.0.0.1:{}/big.bin", server.port());
    // `-C -`: continue from the local file's size (curl sends REST 777777).
    curl(&["-C", "-", "-o", target.to_str().unwrap(), &url]);
    assert_eq!(fs::read(&target).unwrap(), data);
    assert!(
        server.log().contains("RETR /big.bin from 777777"),
        "{}",
        server.log()
    );
}

#[test]
fn curl_lists_directories() {
    let server = Server::start();
    fs::write(server.path("a.txt"), "a").unwrap();
    fs::create_dir(server.path("dir")).unwrap();
    let url = format!("ftp://127.0.0.1:{}/", server.port());
    let list = String::from_utf8(curl(&[&url]).stdout).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        lines[0].starts_with("-rw") && lines[0].ends_with(" a.txt"),
        "{list}"
    );
    assert!(
        lines[1].starts_with("d") && lines[1].ends_with(" dir"),
        "{list}"
    );
    let names = String::from_utf8(curl(&["--list-only", &url]).stdout).unwrap();
    assert_eq!(names.lines().collect::<Vec<_>>(), ["a.txt", "dir"]);
}

#[test]
fn python_ftplib_round_trips_every_size() {
    let server = Server::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ftplib_roundtrip.py");
    let output = run(
        "python3",
        &[script.to_str().unwrap(), &server.port().to_string()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.ends_with("all ok\n"), "{stdout}");
    assert!(part_files(server.root.path()).is_empty());
}

#[test]
fn lftp_mirrors_a_tree_up_and_down() {
    let server = Server::start();
    let local = tempfile::tempdir().unwrap();
    let up = local.path().join("up");
    fs::create_dir_all(up.join("nested/deeper")).unwrap();
    let files = [
        ("top.bin", 300_001),
        ("nested/a.txt", 5),
        ("nested/deeper/b.bin", 1_000_000),
        ("empty", 0),
    ];
    for (name, size) in files {
        fs::write(up.join(name), pattern(size, size as u64 + 1)).unwrap();
    }
    let down = local.path().join("down");
    let script = format!(
        "set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; \
         mirror -R {} /tree; mirror /tree {}; bye",
        up.display(),
        down.display()
    );
    let port = server.port().to_string();
    run(
        "lftp",
        &[
            "-u",
            "alice,secret",
            "-p",
            &port,
            "-e",
            &script,
            "127.0.0.1",
        ],
    );
    for (name, _) in files {
        let original = fs::read(up.join(name)).unwrap();
        assert_eq!(
            fs::read(server.path(&format!("tree/{name}"))).unwrap(),
            original,
            "{name} up"
        );
        assert_eq!(fs::read(down.join(name)).unwrap(), original, "{name} down");
    }
}
