//! Exercise 25, ftp: the server's path jail, all-or-nothing uploads and
//! core commands.
//!
//! The checks speak FTP over TCP with a small client of their own (below),
//! so they work against any FTP server, not only the exercise's:
//!
//! - By default each requirement starts the student's `ftp-server` on a
//!   fresh temporary root, `--root DIR --listen 127.0.0.1:0 --user
//!   alice:secret`, reads the port from its `listening on ADDR` line, and
//!   removes the root at the end. Knowing the root, it can also plant
//!   symbolic links in it and look at what an aborted upload left behind.
//! - `just check ftp --addr HOST:PORT [--user NAME --password PW]` checks a
//!   server that is already running (logging in as alice/secret unless
//!   told otherwise). The two checks that must look inside the root are
//!   then skipped (SKIP, and `just check` exits with 3, not 0), as is CWD
//!   into a directory if the server has no MKD to make one; files the checks upload are named
//!   `check-ftp-*` and deleted at the end if the server implements DELE.
//!
//! Data connections go to the control connection's own IP address and the
//! port the server names (the address in a PASV reply is ignored, as curl
//! does by default), so a check never connects anywhere else.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::testkit::{ServerProcess, unique_name};

use crate::Result;
use crate::check::{Exercise, Requirement, Subject};

pub const EXERCISE: Exercise = Exercise {
    name: "ftp",
    lesson: 25,
    starter: "ftp",
    programs: &["ftp-server"],
    probe: None,
    requirements: &[
        Requirement {
            title: "logs in with USER and PASS (331, 230); refuses a wrong password and commands before login (530)",
            hint: "commands::execute (the login check first, then the dispatch), then commands::user and commands::pass",
            check: logs_in,
        },
        Requirement {
            title: "PWD shows \"/\"; CWD into a directory and back (250) moves PWD along; CWD to nowhere is 550",
            hint: "commands::pwd and commands::cwd; cwd needs jail::join and Jail::resolve",
            check: pwd_and_cwd,
        },
        Requirement {
            title: "a file uploaded with STOR (over PASV) downloads byte-identical with RETR (over EPSV)",
            hint: "commands::pasv and commands::epsv, then commands::stor (Jail::entry, PartFile::create, \
                   PartFile::commit) and commands::retr",
            check: upload_then_download,
        },
        Requirement {
            title: "LIST shows a file with its size",
            hint: "commands::list: join, resolve, listing::render, then session.send_listing",
            check: list_shows_the_file,
        },
        Requirement {
            title: "paths that climb out with `..` and absolute paths stay inside the root: refused with 550",
            hint: "jail::join must refuse a `..` above `/` (not clamp it), and read `/etc/passwd` as a path \
                   in the client's tree, ROOT/etc/passwd",
            check: refuses_escapes,
        },
        Requirement {
            title: "symbolic links that lead out of the root are refused with 550; links inside still work \
                    (needs the checker to start the server)",
            hint: "Jail::resolve and Jail::entry: canonicalize, then compare with Jail::root() (an existing \
                   link passed to STOR must lead inside too)",
            check: refuses_links_out,
        },
        Requirement {
            title: "two clients at once: a stalled download does not hold up a second client",
            hint: "no handler may wait for a client: start transfers with session.send_file / receive_file \
                   and let the event loop move the bytes",
            check: two_clients_at_once,
        },
        Requirement {
            title: "an upload cut off half way leaves nothing behind, and is never visible under its name \
                    (needs the checker to start the server)",
            hint: "PartFile: create writes a hidden part file next to the target, commit renames it, and \
                   Drop deletes it unless committed",
            check: aborted_upload_leaves_nothing,
        },
    ],
};

/// How long any one reply, connection or transfer may take.
const WAIT: Duration = Duration::from_secs(5);

/// The account the checker's own server gets, and the default login.
const USER: &str = "alice";
const PASSWORD: &str = "secret";

// ---------------------------------------------------------------------------
// The requirements
// ---------------------------------------------------------------------------

fn logs_in(subject: &Subject) -> Result<()> {
    Target::check(subject, Setup::none(), |target| {
        let mut ftp = Ftp::connect(target.addr)?;
        ftp.expect("PWD", &[530])
            .map_err(|e| format!("a command before logging in must be refused: {e}"))?;
        ftp.expect(&format!("USER {}", target.user), &[331])?;
        ftp.expect(&format!("PASS {}-wrong", target.password), &[530])
            .map_err(|e| format!("a wrong password must be refused: {e}"))?;
        ftp.expect(&format!("USER {}", target.user), &[331])?;
        ftp.expect(&format!("PASS {}", target.password), &[230])?;
        ftp.quit()
    })
}

fn pwd_and_cwd(subject: &Subject) -> Result<()> {
    Target::check(subject, Setup::none().dir("docs"), |target| {
        let mut ftp = target.login()?;
        expect_pwd(&mut ftp, "/")?;
        // Under --addr there may be no directory to go into: make one.
        let dir = match target.own {
            Some(_) => "docs".to_string(),
            None => {
                let name = target.name("dir");
                let mkd = ftp.command(&format!("MKD {name}"))?;
                if mkd.code != 257 {
                    // What can be checked still is (a failure there is a
                    // FAIL), but the heart of the requirement is not: a
                    // SKIP, never a PASS.
                    ftp.expect("CWD /", &[250])?;
                    ftp.expect(&format!("CWD {}", target.name("nowhere")), &[550])?;
                    ftp.quit()?;
                    return crate::check::skip(format!(
                        "the server at --addr has no MKD (it answered {}), so there is no \
                         directory to CWD into: CWD / and CWD to nowhere answered rightly, \
                         CWD into a directory and back is not checked",
                        mkd.code
                    ));
                }
                name
            }
        };
        ftp.expect(&format!("CWD {dir}"), &[250])?;
        expect_pwd(&mut ftp, &format!("/{dir}"))?;
        ftp.expect("CWD ..", &[250])?;
        expect_pwd(&mut ftp, "/")?;
        ftp.expect("CWD no-such-directory", &[550])?;
        expect_pwd(&mut ftp, "/")?;
        if target.own.is_none() {
            let _ = ftp.command(&format!("RMD {dir}"));
        }
        ftp.quit()
    })
}

fn upload_then_download(subject: &Subject) -> Result<()> {
    Target::check(subject, Setup::none(), |target| {
        let mut ftp = target.login()?;
        let name = target.name("roundtrip.bin");
        // An odd size, a little over a few chunks of any usual size.
        let sent = pattern(1, 3 * 256 * 1024 + 77);
        ftp.upload(&name, &sent, Passive::Pasv)?;
        let got = ftp.download(&name, Passive::Epsv)?;
        same_bytes(&format!("RETR {name}"), &got, &sent)?;
        if let Some(own) = &target.own {
            let on_disk = fs::read(own.root().join(&name)).map_err(|e| {
                format!("the upload succeeded, but {name} is not in the server's root: {e}")
            })?;
            same_bytes(&format!("{name} on disk"), &on_disk, &sent)?;
        }
        target.clean_up(&mut ftp, &name);
        ftp.quit()
    })
}

fn list_shows_the_file(subject: &Subject) -> Result<()> {
    let content = pattern(2, 1234);
    let setup = Setup::none().file("listed.txt", &content);
    Target::check(subject, setup, |target| {
        let mut ftp = target.login()?;
        let name = match target.own {
            Some(_) => "listed.txt".to_string(),
            None => {
                let name = target.name("listed.txt");
                ftp.upload(&name, &content, Passive::Pasv)?;
                name
            }
        };
        let listing = ftp.list(None)?;
        let line = listing
            .lines()
            .find(|line| line.split_whitespace().last() == Some(name.as_str()))
            .ok_or_else(|| format!("LIST does not show {name}; it sent:\n{listing}"))?;
        if !line.split_whitespace().any(|word| word == "1234") {
            return Err(format!(
                "LIST shows {name}, but not its size (1234 bytes): {line:?}"
            ));
        }
        target.clean_up(&mut ftp, &name);
        ftp.quit()
    })
}

fn refuses_escapes(subject: &Subject) -> Result<()> {
    let setup = Setup::none()
        .dir("docs")
        .outside("secret.txt", b"top secret\n");
    Target::check(subject, setup, |target| {
        let mut ftp = target.login()?;
        let far_up = "../../../../../../../../etc/passwd";
        for line in ["CWD ..", "CWD /..", "CWD /../etc", "LIST .."] {
            ftp.refused(line)?;
        }
        ftp.refused(&format!("RETR {far_up}"))?;
        // Absolute paths are absolute in the client's tree: ROOT/etc/passwd,
        // which does not exist.
        ftp.refused("RETR /etc/passwd")?;
        if target.own.is_some() {
            ftp.expect("CWD docs", &[250])?;
            ftp.refused("CWD ../..")?;
            ftp.refused("RETR ../../outside/secret.txt")?;
            ftp.expect("CWD /", &[250])?;
            ftp.refused("RETR ../outside/secret.txt")?;
        }
        ftp.refused("STOR ../escaped.txt")?;
        if let Some(own) = &target.own {
            let escaped = own.dir.join("escaped.txt");
            if escaped.exists() {
                return Err(format!(
                    "STOR ../escaped.txt was refused, but the file appeared outside the root: {}",
                    escaped.display()
                ));
            }
        }
        ftp.quit()
    })
}

fn refuses_links_out(subject: &Subject) -> Result<()> {
    let setup = Setup::none()
        .needs_root("symbolic links out of the root")
        .dir("docs")
        .file("docs/readme.txt", b"inside the root\n")
        .outside("secret.txt", b"top secret\n")
        .link("out", "../outside")
        .link("secret-link", "../outside/secret.txt")
        .link("readme-link", "docs/readme.txt");
    Target::check(subject, setup, |target| {
        let Some(own) = &target.own else {
            return Ok(());
        };
        let mut ftp = target.login()?;
        let inside = ftp.download("readme-link", Passive::Epsv).map_err(|e| {
            format!("a link that stays inside the root must work like the file it names: {e}")
        })?;
        same_bytes("RETR readme-link", &inside, b"inside the root\n")?;
        for line in [
            "RETR secret-link",
            "RETR out/secret.txt",
            "CWD out",
            "LIST out",
            "STOR out/planted.txt",
            "STOR secret-link",
        ] {
            ftp.refused(line)?;
        }
        let outside = own.dir.join("outside");
        if outside.join("planted.txt").exists() {
            return Err("STOR out/planted.txt put a file outside the root".into());
        }
        if fs::read(outside.join("secret.txt")).ok().as_deref() != Some(b"top secret\n".as_slice())
        {
            return Err("STOR secret-link changed the file outside the root it points to".into());
        }
        ftp.quit()
    })
}

fn two_clients_at_once(subject: &Subject) -> Result<()> {
    // More than the kernel buffers on both ends of a loopback connection
    // hold, so the server's writes to a client that does not read must
    // block (or, in an event loop, wait for readiness).
    let big = pattern(3, 20 * 1024 * 1024);
    let setup = Setup::none().file("big.bin", &big);
    Target::check(subject, setup, |target| {
        let mut first = target.login()?;
        let name = match target.own {
            Some(_) => "big.bin".to_string(),
            None => {
                let name = target.name("big.bin");
                first.upload(&name, &big, Passive::Pasv)?;
                name
            }
        };
        let _ = first.command("TYPE I")?;
        let mut stalled = first.open_data(Passive::Pasv)?;
        first.expect(&format!("RETR {name}"), &[125, 150])?;
        // The first client now reads nothing; the second must be served.
        let second = |target: &Target| -> Result<()> {
            let mut ftp = target.login()?;
            expect_pwd(&mut ftp, "/")?;
            let small = pattern(4, 10_000);
            let small_name = target.name("second.bin");
            ftp.upload(&small_name, &small, Passive::Epsv)?;
            same_bytes(
                "the second client's download",
                &ftp.download(&small_name, Passive::Epsv)?,
                &small,
            )?;
            target.clean_up(&mut ftp, &small_name);
            ftp.quit()
        };
        second(target).map_err(|e| {
            format!("while a first client's download was stalled, the second client: {e}")
        })?;
        // Now the first client reads: it gets the whole file.
        let got = read_all(&mut stalled)?;
        drop(stalled);
        first.expect_final(&format!("RETR {name}"))?;
        same_bytes("the stalled download, once read", &got, &big)?;
        target.clean_up(&mut first, &name);
        first.quit()
    })
}

fn aborted_upload_leaves_nothing(subject: &Subject) -> Result<()> {
    let setup = Setup::none().needs_root("what an aborted upload leaves in the root");
    Target::check(subject, setup, |target| {
        let Some(own) = &target.own else {
            return Ok(());
        };
        let before = entries(&own.root());
        let mut ftp = target.login()?;
        let _ = ftp.command("TYPE I")?;
        let mut data = ftp.open_data(Passive::Pasv)?;
        ftp.expect("STOR partial.bin", &[125, 150])?;
        data.write_all(&pattern(5, 1024 * 1024))
            .map_err(|e| format!("sending the upload's first megabyte: {e}"))?;
        // Wait until the server has written something to disk (or give up
        // after a while: it may keep the upload in memory).
        let deadline = Instant::now() + WAIT;
        let mut during = entries(&own.root());
        while during == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            during = entries(&own.root());
        }
        if let Some(size) = during.iter().find(|(n, _)| n == "partial.bin").map(|e| e.1) {
            return Err(format!(
                "while the upload was still running, partial.bin was already visible under its own \
                 name ({size} bytes so far): write to a hidden name and rename when complete"
            ));
        }
        // The client dies and its kernel closes both connections. The
        // control connection goes first: a data connection that ends first
        // looks like a finished upload until the control connection
        // follows, and on a loaded machine the gap between the two could
        // outlast the moment a server waits to tell them apart.
        drop(ftp);
        drop(data);
        let deadline = Instant::now() + WAIT;
        let mut after = entries(&own.root());
        while after != before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            after = entries(&own.root());
        }
        if after != before {
            let left: Vec<String> = after
                .iter()
                .filter(|entry| !before.contains(entry))
                .map(|(name, size)| format!("{name} ({size} bytes)"))
                .collect();
            return Err(format!(
                "the client vanished half way through its upload, and the root still holds: {}",
                left.join(", ")
            ));
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

/// What a check needs in the root before the server starts.
#[derive(Default)]
struct Setup {
    /// What the check looks at inside the root, if it must (it is skipped
    /// under `--addr`).
    needs_root: Option<&'static str>,
    dirs: Vec<&'static str>,
    files: Vec<(&'static str, Vec<u8>)>,
    /// Files in a directory next to the root, which nothing may reach.
    outside: Vec<(&'static str, Vec<u8>)>,
    /// Symbolic links in the root: (name, where it points, relative).
    links: Vec<(&'static str, &'static str)>,
}

impl Setup {
    fn none() -> Setup {
        Setup::default()
    }
    fn needs_root(mut self, what: &'static str) -> Setup {
        self.needs_root = Some(what);
        self
    }
    fn dir(mut self, name: &'static str) -> Setup {
        self.dirs.push(name);
        self
    }
    fn file(mut self, name: &'static str, content: &[u8]) -> Setup {
        self.files.push((name, content.to_vec()));
        self
    }
    fn outside(mut self, name: &'static str, content: &[u8]) -> Setup {
        self.outside.push((name, content.to_vec()));
        self
    }
    fn link(mut self, name: &'static str, to: &'static str) -> Setup {
        self.links.push((name, to));
        self
    }

    /// Builds the tree in `own`'s directory.
    fn build(&self, own: &Scratch) -> io::Result<()> {
        fs::create_dir_all(own.root())?;
        fs::create_dir_all(own.dir.join("outside"))?;
        for dir in &self.dirs {
            fs::create_dir_all(own.root().join(dir))?;
        }
        for (name, content) in &self.files {
            fs::write(own.root().join(name), content)?;
        }
        for (name, content) in &self.outside {
            fs::write(own.dir.join("outside").join(name), content)?;
        }
        for (name, to) in &self.links {
            std::os::unix::fs::symlink(to, own.root().join(name))?;
        }
        Ok(())
    }
}

/// A temporary directory holding the root (`root/`) and a neighbour the
/// server must never reach (`outside/`); removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> io::Result<Scratch> {
        let dir = std::env::temp_dir().join(unique_name("classroom-ftp"));
        fs::create_dir_all(&dir)?;
        Ok(Scratch { dir })
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // remove_dir_all does not follow symbolic links: `outside/` is
        // removed as itself, once.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The server the checks talk to.
struct Target {
    addr: SocketAddr,
    user: String,
    password: String,
    /// The server the checker started, and its scratch directory (dropped
    /// after the server: fields drop in order). `None` under `--addr`.
    server: Option<ServerProcess>,
    own: Option<Scratch>,
}

impl Target {
    /// Runs `body` against the subject's server: a fresh one on a fresh
    /// root, or the one at `--addr`. A failure is explained with the
    /// server's dying words if it crashed.
    fn check(
        subject: &Subject,
        setup: Setup,
        body: impl FnOnce(&Target) -> Result<()>,
    ) -> Result<()> {
        let mut target = Target::start(subject, &setup)?;
        if let (Some(what), None) = (setup.needs_root, &target.own) {
            return crate::check::skip(format!(
                "not with --addr: {what} needs the checker to start the server and see its root"
            ));
        }
        body(&target).map_err(|error| target.explain(error))
    }

    fn start(subject: &Subject, setup: &Setup) -> Result<Target> {
        let user = subject.options.get("user").map_or(USER, String::as_str);
        let password = subject
            .options
            .get("password")
            .map_or(PASSWORD, String::as_str);
        if let Some(addr) = subject.options.get("addr") {
            let addr = addr
                .to_socket_addrs()
                .ok()
                .and_then(|mut all| all.next())
                .ok_or_else(|| format!("--addr {addr}: not a HOST:PORT address"))?;
            return Ok(Target {
                addr,
                user: user.into(),
                password: password.into(),
                server: None,
                own: None,
            });
        }
        let program = subject
            .programs
            .get("ftp-server")
            .ok_or("no ftp-server program was built")?;
        let scratch = Scratch::new().map_err(|e| format!("cannot make a temporary root: {e}"))?;
        setup
            .build(&scratch)
            .map_err(|e| format!("cannot prepare the temporary root: {e}"))?;
        let mut command = Command::new(program);
        command
            .arg("--root")
            .arg(scratch.root())
            .args(["--listen", "127.0.0.1:0", "--user"])
            .arg(format!("{USER}:{PASSWORD}"));
        let server =
            ServerProcess::start(command).map_err(|e| format!("ftp-server did not start: {e}"))?;
        Ok(Target {
            addr: server.addr(),
            user: USER.into(),
            password: PASSWORD.into(),
            server: Some(server),
            own: Some(scratch),
        })
    }

    /// A logged-in client.
    fn login(&self) -> Result<Ftp> {
        let mut ftp = Ftp::connect(self.addr)?;
        ftp.expect(&format!("USER {}", self.user), &[331, 230])?;
        if ftp.last_code == 331 {
            ftp.expect(&format!("PASS {}", self.password), &[230])?;
        }
        Ok(ftp)
    }

    /// A name for a file the check creates: plain on the checker's own
    /// root, unmistakable (and unique) on somebody else's server.
    fn name(&self, base: &str) -> String {
        match self.own {
            Some(_) => base.to_string(),
            None => format!("{}-{base}", unique_name("check-ftp")),
        }
    }

    /// Deletes what a check uploaded to a server at `--addr` (best effort:
    /// DELE is not part of the exercise).
    fn clean_up(&self, ftp: &mut Ftp, name: &str) {
        if self.own.is_none() {
            let _ = ftp.command(&format!("DELE {name}"));
        }
    }

    /// Adds what the server's end says, if it crashed.
    fn explain(&mut self, error: String) -> String {
        let Some(server) = &mut self.server else {
            return error;
        };
        // A crash closes the connection before the process is reaped and
        // its last words read: wait a little for both.
        let deadline = Instant::now() + Duration::from_secs(1);
        while server.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if server.is_running() {
            return error;
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        while !server.stderr().contains("panicked") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let stderr = server.stderr();
        let mut lines = stderr.lines();
        let words = match lines.by_ref().find(|line| line.contains("panicked at")) {
            Some(at) => {
                // `thread 'main' (123) panicked at src/commands.rs:56:5:`
                let place = at.split("panicked at ").nth(1).unwrap_or(at);
                format!(
                    "your ftp-server crashed: {}\n  (at {})",
                    lines.next().unwrap_or("").trim(),
                    place.trim().trim_end_matches(':')
                )
            }
            None => format!(
                "your ftp-server exited; its last words: {}",
                stderr.lines().last().unwrap_or("(nothing)")
            ),
        };
        format!("{error}\n{words}")
    }
}

// ---------------------------------------------------------------------------
// A small FTP client
// ---------------------------------------------------------------------------

/// How a data connection is asked for.
#[derive(Debug, Clone, Copy)]
enum Passive {
    Pasv,
    Epsv,
}

/// One control connection, blocking, every wait bounded by [`WAIT`].
struct Ftp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The server's IP: data connections go there, whatever PASV says.
    ip: IpAddr,
    /// The last command sent, for error messages.
    last: String,
    /// The code of the last reply.
    last_code: u16,
}

/// One reply: its code and its text (all lines).
struct Reply {
    code: u16,
    text: String,
}

impl Ftp {
    /// Connects and reads the 220 greeting.
    fn connect(addr: SocketAddr) -> Result<Ftp> {
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(WAIT))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(WAIT))
            .map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut ftp = Ftp {
            reader: BufReader::new(stream),
            writer,
            ip: addr.ip(),
            last: "(connecting)".into(),
            last_code: 0,
        };
        let greeting = ftp.reply()?;
        if greeting.code != 220 {
            return Err(format!("the greeting was `{}`, not 220", greeting.text));
        }
        Ok(ftp)
    }

    /// Sends one command line and reads its reply.
    fn command(&mut self, line: &str) -> Result<Reply> {
        self.last = if line.starts_with("PASS ") {
            "PASS ****".into()
        } else {
            line.into()
        };
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("sending `{}`: {e}", self.last))?;
        self.reply()
    }

    /// Sends a command and insists on one of `codes`.
    fn expect(&mut self, line: &str, codes: &[u16]) -> Result<Reply> {
        let reply = self.command(line)?;
        self.check(&reply, codes)?;
        Ok(reply)
    }

    fn check(&self, reply: &Reply, codes: &[u16]) -> Result<()> {
        if codes.contains(&reply.code) {
            return Ok(());
        }
        let wanted: Vec<String> = codes.iter().map(u16::to_string).collect();
        Err(format!(
            "`{}` was answered `{}`, expected {}",
            self.last,
            reply.text,
            wanted.join(" or ")
        ))
    }

    /// Reads one reply: a line `123 text`, or several from `123-text` to
    /// `123 text`.
    fn reply(&mut self) -> Result<Reply> {
        let first = self.line()?;
        let code = first
            .get(..3)
            .and_then(|digits| digits.parse::<u16>().ok())
            .ok_or_else(|| {
                format!(
                    "after `{}` the server sent {first:?}, not a reply",
                    self.last
                )
            })?;
        let mut text = first.clone();
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.line()?;
                text.push('\n');
                text.push_str(&line);
                if line.starts_with(&end) {
                    break;
                }
            }
        }
        self.last_code = code;
        Ok(Reply { code, text })
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err(format!(
                "the server closed the connection after `{}`",
                self.last
            )),
            Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(format!(
                    "no reply to `{}` within {} s",
                    self.last,
                    WAIT.as_secs()
                ))
            }
            Err(e) => Err(format!("reading the reply to `{}`: {e}", self.last)),
        }
    }

    /// PASV or EPSV, then connects to the port the reply names.
    fn open_data(&mut self, how: Passive) -> Result<TcpStream> {
        let port = match how {
            Passive::Pasv => {
                let reply = self.expect("PASV", &[227])?;
                pasv_port(&reply.text)
            }
            Passive::Epsv => {
                let reply = self.expect("EPSV", &[229])?;
                epsv_port(&reply.text)
            }
        }
        .ok_or_else(|| format!("cannot read a port in the reply to `{}`", self.last))?;
        let addr = SocketAddr::new(self.ip, port);
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .map_err(|e| format!("cannot open the data connection to {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(WAIT))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(WAIT))
            .map_err(|e| e.to_string())?;
        Ok(stream)
    }

    /// Reads the reply that ends a transfer (226, or 250 from some servers).
    fn expect_final(&mut self, what: &str) -> Result<()> {
        self.last = format!("{what} (the end of the transfer)");
        let reply = self.reply()?;
        self.check(&reply, &[226, 250])
    }

    fn upload(&mut self, name: &str, bytes: &[u8], how: Passive) -> Result<()> {
        let _ = self.command("TYPE I")?;
        let mut data = self.open_data(how)?;
        self.expect(&format!("STOR {name}"), &[125, 150])?;
        data.write_all(bytes)
            .map_err(|e| format!("sending {name} on the data connection: {e}"))?;
        // Closing the data connection is how the client says "that was all".
        drop(data);
        self.expect_final(&format!("STOR {name}"))
    }

    fn download(&mut self, name: &str, how: Passive) -> Result<Vec<u8>> {
        let _ = self.command("TYPE I")?;
        let mut data = self.open_data(how)?;
        self.expect(&format!("RETR {name}"), &[125, 150])?;
        let bytes = read_all(&mut data)?;
        self.expect_final(&format!("RETR {name}"))?;
        Ok(bytes)
    }

    /// LIST over PASV.
    fn list(&mut self, path: Option<&str>) -> Result<String> {
        let mut data = self.open_data(Passive::Pasv)?;
        let line = path.map_or("LIST".to_string(), |path| format!("LIST {path}"));
        self.expect(&line, &[125, 150])?;
        let bytes = read_all(&mut data)?;
        self.expect_final(&line)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends a command whose path leads out of the root, and insists on
    /// 550. Transfer commands get a data connection first, so that a
    /// missing one can never be the reason for the refusal; if the server
    /// accepts anyway, the transfer is played out to say what it did.
    fn refused(&mut self, line: &str) -> Result<()> {
        let transfer = ["RETR ", "STOR ", "LIST"]
            .iter()
            .any(|verb| line.starts_with(verb));
        let mut data = match transfer {
            true => Some(self.open_data(Passive::Pasv)?),
            false => None,
        };
        let reply = self.command(line)?;
        if reply.code == 550 {
            return Ok(());
        }
        let what = match (reply.code / 100, data.as_mut()) {
            (1, Some(data)) if line.starts_with("STOR") => {
                let _ = data.write_all(b"planted by the checker\n");
                let _ = data.shutdown(Shutdown::Both);
                let _ = self.reply();
                "it accepted the upload".to_string()
            }
            (1, Some(data)) => {
                let sent = read_all(data).unwrap_or_default();
                let _ = self.reply();
                let start = String::from_utf8_lossy(&sent[..sent.len().min(40)]).into_owned();
                format!("it sent {} bytes, starting {start:?}", sent.len())
            }
            (2, _) => "it did it".to_string(),
            _ => "that is not the refusal asked for".to_string(),
        };
        Err(format!(
            "`{line}` leads outside the root and must be refused with 550, but the server \
             answered `{}`: {what}",
            reply.text
        ))
    }

    fn quit(mut self) -> Result<()> {
        self.expect("QUIT", &[221]).map(drop)
    }
}

/// `227 Entering Passive Mode (127,0,0,1,195,80)`: the port is 195 * 256 + 80.
fn pasv_port(text: &str) -> Option<u16> {
    let inside = text.split('(').nth(1)?.split(')').next()?;
    let numbers: Vec<u16> = inside
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    match numbers[..] {
        [_, _, _, _, high, low] if high < 256 && low < 256 => Some(high * 256 + low),
        _ => None,
    }
}

/// `229 Entering Extended Passive Mode (|||50000|)`.
fn epsv_port(text: &str) -> Option<u16> {
    text.split("|||").nth(1)?.split('|').next()?.parse().ok()
}

/// Sends PWD and insists on `257 "dir"`.
fn expect_pwd(ftp: &mut Ftp, dir: &str) -> Result<()> {
    let reply = ftp.expect("PWD", &[257])?;
    let quoted = format!("257 \"{dir}\"");
    if reply.text.starts_with(&quoted) {
        Ok(())
    } else {
        Err(format!(
            "PWD was answered `{}`, expected {quoted} ...",
            reply.text
        ))
    }
}

/// Reads a data connection to its end.
fn read_all(data: &mut TcpStream) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).map_err(|e| {
        format!(
            "the data connection stalled after {} bytes ({e})",
            bytes.len()
        )
    })?;
    Ok(bytes)
}

/// Deterministic bytes that look random: a file's content, so that a
/// mix-up of chunks or offsets cannot go unnoticed.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ seed.wrapping_mul(0xff51_afd7_ed55_8ccd);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn same_bytes(what: &str, got: &[u8], expected: &[u8]) -> Result<()> {
    if got == expected {
        return Ok(());
    }
    match got.iter().zip(expected).position(|(a, b)| a != b) {
        Some(at) => Err(format!("{what}: the bytes differ from byte {at} on")),
        None => Err(format!(
            "{what}: {} bytes, expected {}",
            got.len(),
            expected.len()
        )),
    }
}

/// The names and sizes in a directory, sorted.
fn entries(dir: &Path) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| {
                    let size = entry.metadata().map(|meta| meta.len()).unwrap_or(0);
                    (entry.file_name().to_string_lossy().into_owned(), size)
                })
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    all
}
