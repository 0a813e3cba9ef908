//! `just demo lesson-25`: the FTP server, and the client moving a folder
//! over several connections at once, both ways.
//!
//! The script makes three temporary folders: the server's root, a folder of
//! files to upload, and an empty one to download into. It starts the
//! server on a free port, uploads the folder with `ftp-client mirror-put`
//! over four connections at once, lists what arrived, downloads it all
//! again with `mirror-get`, compares every byte itself and says so. The
//! folders are removed at the end, however the demo ends.
//!
//! The client draws progress bars only on a terminal; here its output is a
//! pipe, so each finished file prints one line instead, and the run ends
//! with a summary line.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::testkit::unique_name;

use super::{Brokers, Demo, Needs};
use crate::Result;
use crate::stage::Stage;

pub const DEMO: Demo = Demo {
    lesson: 25,
    about: "FTP server on one event loop; the client moves a folder both ways, 4 files at a time",
    needs: Needs {
        rabbitmq: false,
        redis: false,
    },
    proves: &[
        ("server", "alice logged in"),
        ("upload", "put "),
        ("server", "STOR /incoming/big/archive-1.bin"),
        ("upload", "7 files,"),
        ("list", "readme.txt"),
        ("download", "get /incoming/"),
        ("server", "RETR /incoming/big/archive-1.bin"),
        ("download", "7 files,"),
        ("demo", "byte-identical"),
    ],
    run,
};

/// The files uploaded: (path in the folder, size in bytes).
const FILES: &[(&str, usize)] = &[
    ("readme.txt", 0), // text, written below
    ("big/archive-1.bin", 3_000_000),
    ("big/archive-2.bin", 2_500_000),
    ("big/archive-3.bin", 2_000_000),
    ("small/sample-1.bin", 300_000),
    ("small/sample-2.bin", 200_000),
    ("small/sample-3.bin", 100_000),
];

/// How many connections the client uses at once.
const PARALLEL: &str = "4";

/// The longest any one step may take.
const STEP: Duration = Duration::from_secs(30);

fn run(stage: &mut Stage, _brokers: &Brokers) -> Result<()> {
    stage.build(25, &["ftp-server", "ftp-client"])?;
    let scratch = Scratch::new().map_err(|e| format!("cannot make temporary folders: {e}"))?;
    let total = make_files(&scratch.upload())
        .map_err(|e| format!("cannot write the files to upload: {e}"))?;
    stage.narrate(&format!(
        "in {}: root/ is the server's, upload/ holds {} files ({total} bytes) to upload, \
         download/ is empty",
        scratch.dir.display(),
        FILES.len()
    ));

    stage.narrate("the server: one thread, one mio event loop; alice may write");
    let root = scratch.root().display().to_string();
    let args = [
        "--root",
        &root,
        "--listen",
        "127.0.0.1:0",
        "--user",
        "alice:secret",
    ];
    stage.spawn("server", 25, "ftp-server", &strings(&args))?;
    let line = stage.wait_for("server", "listening on", STEP)?;
    let addr = line.trim_start_matches("listening on ").trim().to_string();
    stage.wait_for("server", "anonymous logins", STEP)?;
    // The clients run in the scratch folder, so their lines show short
    // paths: upload/big/archive-1.bin.
    let client = |stage: &Stage, command: &[&str]| -> Result<Command> {
        let mut client = Command::new(stage.binary(25, "ftp-client")?);
        client
            .current_dir(&scratch.dir)
            .args(["--server", &addr, "--user", "alice", "--password", "secret"])
            .args(command);
        Ok(client)
    };

    stage.narrate(&format!(
        "upload the folder to /incoming, {PARALLEL} files at a time (mirror-put): {PARALLEL} \
         sessions at once, all served by the server's one thread"
    ));
    stage.narrate(
        "(no progress bars here: the client draws them only on a terminal; each finished file \
         prints a line instead)",
    );
    let put = client(
        stage,
        &["--parallel", PARALLEL, "mirror-put", "upload", "/incoming"],
    )?;
    stage.spawn_command("upload", put)?;
    finish(stage, "upload", "files,")?;
    stage.wait_for("server", "STOR /incoming/", STEP)?;

    stage.narrate("what the server holds now (ls)");
    let list = client(stage, &["ls", "/incoming"])?;
    stage.spawn_command("list", list)?;
    finish(stage, "list", "readme.txt")?;

    stage.narrate(&format!(
        "download /incoming into an empty folder, {PARALLEL} files at a time (mirror-get)"
    ));
    let get = client(
        stage,
        &[
            "--parallel",
            PARALLEL,
            "mirror-get",
            "/incoming",
            "download",
        ],
    )?;
    stage.spawn_command("download", get)?;
    finish(stage, "download", "files,")?;
    stage.wait_for("server", "RETR /incoming/", STEP)?;

    let compared = compare(&scratch.upload(), &scratch.download())?;
    compare(&scratch.upload(), &scratch.root().join("incoming"))
        .map_err(|e| format!("the server's root: {e}"))?;
    stage.narrate(&format!(
        "verified: all {} files came back byte-identical ({compared} bytes), and the server's \
         root holds exactly these files, no part file left over",
        FILES.len()
    ));
    stage.stop("server")?;
    Ok(())
}

/// Waits for a client's line containing `last` (so it is in the
/// transcript), then for the client to exit successfully.
fn finish(stage: &mut Stage, actor: &str, last: &str) -> Result<()> {
    stage.wait_for(actor, last, STEP)?;
    let status = stage.wait_exit(actor, STEP)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{actor} failed ({status})"))
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// Writes the files to upload; returns their total size.
fn make_files(folder: &Path) -> io::Result<usize> {
    let mut total = 0;
    for (seed, (name, size)) in FILES.iter().enumerate() {
        let path = folder.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let content = match *size {
            0 => b"Files for the lesson-25 demo: uploaded, listed, downloaded.\n".to_vec(),
            size => noise(seed as u64 + 1, size),
        };
        total += content.len();
        fs::write(path, content)?;
    }
    Ok(total)
}

/// Checks that every file in `sent` came back the same in `got`, and that
/// `got` holds nothing else; returns the bytes compared.
fn compare(sent: &Path, got: &Path) -> Result<u64> {
    let sent_files = files_under(sent).map_err(|e| format!("reading {}: {e}", sent.display()))?;
    let got_files = files_under(got).map_err(|e| format!("reading {}: {e}", got.display()))?;
    if sent_files != got_files {
        return Err(format!(
            "the download holds {got_files:?}, the upload was {sent_files:?}"
        ));
    }
    let mut bytes = 0;
    for name in &sent_files {
        let original = fs::read(sent.join(name)).map_err(|e| format!("{name}: {e}"))?;
        let copy = fs::read(got.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if original != copy {
            return Err(format!("{name} came back different"));
        }
        bytes += original.len() as u64;
    }
    Ok(bytes)
}

/// The files under `dir`, as sorted relative paths.
fn files_under(dir: &Path) -> io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(here) = pending.pop() {
        for entry in fs::read_dir(&here)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Bytes that look random (xorshift), so no two files or chunks are alike.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// The demo's temporary folders, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> io::Result<Scratch> {
        let scratch = Scratch {
            dir: std::env::temp_dir().join(unique_name("demo-lesson-25")),
        };
        for folder in [scratch.root(), scratch.upload(), scratch.download()] {
            fs::create_dir_all(folder)?;
        }
        Ok(scratch)
    }

    /// The server's root.
    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// What the client uploads.
    fn upload(&self) -> PathBuf {
        self.dir.join("upload")
    }

    /// Where the client downloads to.
    fn download(&self) -> PathBuf {
        self.dir.join("download")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
