//! What every test file shares: a real `ftp-server` process on a free port
//! with its own root, killed when the test ends, and a raw control
//! connection for speaking the protocol by hand.

#![allow(dead_code)] // each test binary uses a different part of this

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::testkit::ServerProcess;

/// How long any single wait in a test may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `ftp-server` with a temporary root. `alice:secret` may write;
/// anonymous is read-only unless the test says otherwise.
///
/// The process is the test kit's [`ServerProcess`]: its address comes from
/// its first line, its output is drained and kept, and it is killed when the
/// test ends, however it ends.
pub struct Server {
    process: ServerProcess,
    pub addr: SocketAddr,
    /// The served directory.
    pub root: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts with extra flags (`--idle-timeout 0.3`, ...).
    pub fn start_with(args: &[&str]) -> Server {
        let root = tempfile::tempdir().expect("a temporary root");
        Server::start_in(root, args)
    }

    /// Starts on an existing root directory.
    pub fn start_in(root: tempfile::TempDir, args: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ftp-server"));
        command
            .arg("--root")
            .arg(root.path())
            .args(["--listen", "127.0.0.1:0", "--user", "alice:secret"])
            .args(args);
        let process = ServerProcess::start(command).expect("start ftp-server");
        Server {
            addr: process.addr(),
            process,
            root,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// A path inside the root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// What the server printed so far (its `listening on` line first),
    /// then anything it wrote to stderr.
    pub fn log(&self) -> String {
        let mut log = self.process.output();
        for line in self.process.stderr().lines() {
            log.push_str(&format!("stderr: {line}\n"));
        }
        log
    }

    /// The server's thread count, from /proc.
    pub fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("a Threads: line")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

/// Polls `condition` until it holds; fails the test after PATIENCE (the
/// test kit's bounded polling, with these tests' bound).
pub fn eventually(what: &str, condition: impl FnMut() -> bool) {
    support::testkit::eventually_within(what, PATIENCE, condition);
}

/// Files in the root (recursively) whose names mark an upload in progress.
pub fn part_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map_while(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".ftp-upload-")
            {
                found.push(path);
            }
        }
    }
    found
}

/// Bytes that differ from file to file: `seed` picks the sequence.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A control connection spoken by hand.
pub struct Control {
    reader: BufReader<TcpStream>,
}

impl Control {
    /// Connects and checks the 220 greeting.
    pub fn connect(server: &Server) -> Control {
        let mut control = Control::open(server.addr);
        let (code, text) = control.reply();
        assert_eq!(code, 220, "{text}");
        control
    }

    /// Connects without reading anything.
    pub fn open(addr: SocketAddr) -> Control {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        Control::from_stream(stream)
    }

    /// A control connection over a stream the caller connected (from a
    /// chosen local address, say), without reading anything.
    pub fn from_stream(stream: TcpStream) -> Control {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Control {
            reader: BufReader::new(stream),
        }
    }

    /// Connects and logs in.
    pub fn login(server: &Server, user: &str, password: &str) -> Control {
        let mut control = Control::connect(server);
        control.ok(&format!("USER {user}"), 331);
        control.ok(&format!("PASS {password}"), 230);
        control
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Sends a command line.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Reads one reply, all its lines: (code, text of the last line).
    pub fn reply(&mut self) -> (u16, String) {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("a reply line");
        assert!(n > 0, "the server closed the control connection");
        let code: u16 = line[..3]
            .parse()
            .unwrap_or_else(|_| panic!("bad reply {line:?}"));
        if line.as_bytes()[3] == b'-' {
            let end = format!("{code} ");
            loop {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
                if line.starts_with(&end) {
                    break;
                }
            }
        }
        (code, line.trim_end().to_string())
    }

    /// Sends a command and reads its reply.
    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line);
        self.reply()
    }

    /// Sends a command and checks the reply code.
    pub fn ok(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line);
        assert_eq!(got, code, "{line} -> {text}");
        text
    }

    /// EPSV, then connects the data connection.
    pub fn epsv(&mut self) -> TcpStream {
        let text = self.ok("EPSV", 229);
        let port: u16 = text
            .split("|||")
            .nth(1)
            .and_then(|rest| rest.split('|').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("bad EPSV reply {text}"));
        let addr = SocketAddr::new(self.reader.get_ref().peer_addr().unwrap().ip(), port);
        let data = TcpStream::connect(addr).unwrap();
        data.set_read_timeout(Some(PATIENCE)).unwrap();
        data
    }

    /// Downloads a whole file.
    pub fn retr(&mut self, path: &str) -> Vec<u8> {
        let mut data = self.epsv();
        self.ok(&format!("RETR {path}"), 150);
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).unwrap();
        assert_eq!(self.reply().0, 226);
        bytes
    }

    /// Whether the server has closed this connection (reads end of file).
    pub fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }
}
