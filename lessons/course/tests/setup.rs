//! `just setup` (scripts/setup) on a machine that lacks everything and may
//! not install anything: it must list what to install, exit non-zero, and
//! install nothing. The "machine" is a PATH of our own: the few tools the
//! script needs, and stand-ins for `apt-get`, `dpkg`, `cargo` and `id` that
//! record being called (`id -u` says 1000: not root), with no `sudo`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh folder under the system's temp folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("course-setup-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn stub(bin: &Path, name: &str, body: &str) {
    let path = bin.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn find(tool: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(tool))
        .find(|path| path.is_file())
}

#[cfg(target_os = "linux")]
#[test]
fn without_root_or_sudo_setup_lists_what_to_install_and_installs_nothing() {
    let scratch = Scratch::new();
    let bin = scratch.0.join("bin");
    let log = scratch.0.join("calls.log");
    for tool in ["bash", "env", "sed", "grep", "uname", "dirname", "sh"] {
        let Some(path) = find(tool) else {
            eprintln!("skipped: {tool} is not in /usr/bin or /bin here");
            return;
        };
        symlink(path, bin.join(tool)).unwrap();
    }
    let record = format!("echo \"$0 $*\" >> '{}'", log.display());
    stub(&bin, "apt-get", &record);
    stub(&bin, "dpkg", &record);
    stub(&bin, "cargo", &record);
    stub(&bin, "id", "[ \"$1\" = -u ] && echo 1000 || echo nobody");

    let output = Command::new(bin.join("bash"))
        .arg(course::workspace_root().join("scripts/setup"))
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", &scratch.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    // Each item is listed, the missing ones as missing.
    assert!(stdout.contains("  missing    redis-server"), "{stdout}");
    assert!(stdout.contains("  missing    memcached"), "{stdout}");
    assert!(stdout.contains("  missing    lftp"), "{stdout}");
    assert!(stdout.contains("  missing    mdbook"), "{stdout}");
    // The exact commands, for someone who may install.
    assert!(stderr.contains("not root and no sudo"), "{stderr}");
    assert!(
        stderr.contains("apt-get install redis-server redis-tools memcached"),
        "{stderr}"
    );
    assert!(stderr.contains("cargo install --locked mdbook"), "{stderr}");
    // And nothing was run that installs anything.
    let calls = fs::read_to_string(&log).unwrap_or_default();
    assert!(!calls.contains("apt-get"), "{calls}");
    assert!(!calls.contains("cargo install"), "{calls}");
}
