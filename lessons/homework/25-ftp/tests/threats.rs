//! The server attacked as a hostile local user would: a planted link, a
//! directory swapped for a link mid-request, a FIFO, a flooder, slots held
//! without a login, password guessing, a stolen passive port, stale part
//! files and escape sequences. Each test runs the attack against a real
//! `ftp-server` on loopback, bounded in time and count, and checks what
//! the attacker got from the outside: files, replies, the log.

mod common;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::{Control, PATIENCE, Server, eventually, part_files};

/// A TCP connection to `to` from the local address `from` (any of
/// 127.0.0.0/8 is this machine).
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(IpAddr::V4(from), 0).into())
        .unwrap();
    socket.connect(&to.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Uploads `bytes` as `path`; the final reply code (226, or the refusal).
fn stor(c: &mut Control, path: &str, bytes: &[u8]) -> u16 {
    let mut data = c.epsv();
    let (code, _) = c.cmd(&format!("STOR {path}"));
    if code != 150 {
        return code;
    }
    data.write_all(bytes).unwrap();
    drop(data);
    c.reply().0
}

// ANCHOR: planted_link
/// Part files once had predictable names (`.ftp-upload-<pid>-<session>`)
/// and were opened with create + truncate: a link planted under that name
/// made the server write wherever it pointed.
#[test]
fn an_upload_never_writes_through_a_planted_link() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    fs::write(&victim, "untouched").unwrap();
    let server = Server::start();
    for session in 1..=8 {
        let name = format!(".ftp-upload-{}-{session}", server.pid());
        symlink(&victim, server.path(&name)).unwrap();
    }
    let mut c = Control::login(&server, "alice", "secret");
    assert_eq!(stor(&mut c, "upload.txt", b"the client's bytes"), 226);

    assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
    assert_eq!(
        fs::read_to_string(server.path("upload.txt")).unwrap(),
        "the client's bytes"
    );
    assert!(
        !fs::symlink_metadata(server.path("upload.txt"))
            .unwrap()
            .is_symlink()
    );
}
// ANCHOR_END: planted_link

// ANCHOR: race
/// A thread swaps the directory `d` for a link to a directory outside the
/// root and back, as fast as it can, while a client RETRs `d/f` and STORs
/// `d/up`: up to 3,000 tries (or a minute), and not one may read the
/// outside file or write beside it.
#[test]
fn swapping_a_directory_for_a_link_never_reaches_outside() {
    const TRIES: usize = 3_000;
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("f"), "SECRET").unwrap();
    let server = Server::start();
    let root = server.root.path().to_path_buf();
    fs::create_dir(root.join("d")).unwrap();
    fs::write(root.join("d/f"), "inside").unwrap();
    symlink(outside.path(), root.join("d.link")).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, root) = (Arc::clone(&stop), root.clone());
        thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // d is the directory, then the link, then the directory.
                fs::rename(root.join("d"), root.join("d.dir")).unwrap();
                fs::rename(root.join("d.link"), root.join("d")).unwrap();
                fs::rename(root.join("d"), root.join("d.link")).unwrap();
                fs::rename(root.join("d.dir"), root.join("d")).unwrap();
                flips += 1;
            }
            flips
        })
    };

    let mut c = Control::login(&server, "alice", "secret");
    let (mut served, mut refused, mut stored) = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tries = 0;
    while tries < TRIES && Instant::now() < deadline {
        tries += 1;
        if tries % 2 == 0 {
            if stor(&mut c, "d/up", b"up") == 226 {
                stored += 1;
            }
            continue;
        }
        let mut data = c.epsv();
        let (code, text) = c.cmd("RETR d/f");
        if code != 150 {
            assert_eq!(code, 550, "{text}");
            refused += 1;
            continue;
        }
        let mut got = String::new();
        data.read_to_string(&mut got).unwrap();
        assert_eq!(c.reply().0, 226);
        assert_eq!(got, "inside", "try {tries} read outside the root");
        served += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();

    println!(
        "{tries} tries: {served} RETRs served, {refused} refused, {stored} STORs; {flips} flips"
    );
    assert_eq!(
        names(outside.path()),
        ["f"],
        "a STOR wrote outside the root"
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("f")).unwrap(),
        "SECRET"
    );
    // Both outcomes happened: the swap really raced the requests.
    assert!(served > 0 && refused > 0, "the race was not exercised");
}
// ANCHOR_END: race

// ANCHOR: fifo
/// Opening a FIFO for reading waits for a writer: a server that opened one
/// in its event loop (APPE keeps the old file's bytes, so it reads it)
/// froze for everyone.
#[test]
fn a_fifo_is_refused_and_the_server_goes_on() {
    let server = Server::start();
    let fifo = std::ffi::CString::new(server.path("pipe").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o666) }, 0);
    let mut c = Control::login(&server, "alice", "secret");
    for command in ["APPE pipe", "RETR pipe", "STOR pipe"] {
        let _data = c.epsv();
        let (code, text) = c.cmd(command);
        assert_eq!(code, 550, "{command} -> {text}");
    }
    c.ok("REST 5", 350);
    let _data = c.epsv();
    c.ok("STOR pipe", 550);
    c.ok("SIZE pipe", 550);
    // Another client is served as usual.
    let mut other = Control::connect(&server);
    other.ok("NOOP", 200);
}
// ANCHOR_END: fifo

// ANCHOR: flood
/// Clients that never log in and send megabytes with no line end, without
/// pause, must not hold up anyone else's replies: each connection gets a
/// bounded share of reading per turn of the loop.
#[test]
fn a_flooder_does_not_delay_another_sessions_replies() {
    let server = Server::start();
    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let mut stream = TcpStream::connect(server.addr).unwrap();
            thread::spawn(move || {
                let chunk = vec![b'a'; 1 << 20];
                let mut sent = 0usize;
                while !stop.load(Ordering::Relaxed) && stream.write_all(&chunk).is_ok() {
                    sent += chunk.len();
                }
                sent
            })
        })
        .collect();

    let mut c = Control::connect(&server);
    let mut waits = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        c.ok("NOOP", 200);
        waits.push(start.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let flooded: usize = flooders.into_iter().map(|f| f.join().unwrap()).sum();
    waits.sort();
    let (median, slowest) = (waits[waits.len() / 2], waits[waits.len() - 1]);
    println!(
        "NOOP under {} MiB of flood: median {median:?}, slowest {slowest:?}",
        flooded >> 20
    );
    // Generous: the machine is shared. Without the per-turn share it took
    // seconds.
    assert!(
        slowest < Duration::from_millis(500),
        "slowest NOOP {slowest:?}"
    );
}
// ANCHOR_END: flood

// ANCHOR: login_deadline
/// A session that never logs in is closed after the login timeout, however
/// many NOOPs it sends; a logged-in one is not.
#[test]
fn noop_does_not_extend_the_login_deadline() {
    let server = Server::start_with(&["--login-timeout", "1"]);
    let mut idler = Control::connect(&server);
    let mut member = Control::login(&server, "alice", "secret");
    let start = Instant::now();
    let (code, text) = loop {
        let (code, text) = idler.cmd("NOOP");
        if code != 200 {
            break (code, text);
        }
        member.ok("NOOP", 200);
        assert!(start.elapsed() < PATIENCE, "never closed");
        thread::sleep(Duration::from_millis(100)); // a NOOP every 0.1 s
    };
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("Not logged in within"), "{text}");
    assert!(start.elapsed() >= Duration::from_millis(900));
    assert!(idler.is_closed());
    member.ok("NOOP", 200);
}

/// One address cannot take every slot, and all of 127.0.0.0/8 is one.
#[test]
fn connections_are_capped_per_address() {
    let server = Server::start_with(&["--max-connections", "10", "--max-per-address", "3"]);
    let first = Control::connect(&server);
    let _second = Control::connect(&server);
    let _third = Control::connect(&server);
    for from in [Ipv4Addr::LOCALHOST, Ipv4Addr::new(127, 0, 0, 2)] {
        let mut more = Control::from_stream(connect_from(from, server.addr));
        let (code, text) = more.reply();
        assert_eq!(code, 421, "{text}");
        assert!(text.contains("from your address"), "{text}");
    }
    drop(first);
    eventually("a free slot", || {
        let mut next = Control::open(server.addr);
        next.reply().0 == 220
    });
}
// ANCHOR_END: login_deadline

// ANCHOR: guessing
/// Each wrong password makes the answers to the next ones from the same
/// address wait longer, across reconnections, right answers included; the
/// log says so; the others are served meanwhile.
#[test]
fn wrong_passwords_slow_down_every_next_answer_from_the_address() {
    let server = Server::start();
    let timed = |c: &mut Control, line: &str, code: u16| {
        let start = Instant::now();
        c.ok(line, code);
        start.elapsed()
    };
    let mut first = Control::connect(&server);
    for code in [530, 530, 421] {
        first.ok("USER alice", 331);
        timed(&mut first, "PASS wrong", code);
    }
    assert!(first.is_closed());

    // A new connection does not start afresh: three wrong passwords so far.
    let mut second = Control::connect(&server);
    second.ok("USER alice", 331);
    let fourth = timed(&mut second, "PASS wrong", 530);
    assert!(fourth >= Duration::from_millis(400), "{fourth:?}");

    // While the next answer waits, another client is served at once.
    second.ok("USER alice", 331);
    second.send("PASS wrong");
    let start = Instant::now();
    let mut other = Control::connect(&server);
    other.ok("NOOP", 200);
    second.stream().set_nonblocking(true).unwrap();
    let early = second.stream().peek(&mut [0; 1]);
    assert!(
        matches!(&early, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "the answer did not wait: {early:?}"
    );
    second.stream().set_nonblocking(false).unwrap();
    assert_eq!(second.reply().0, 530);
    assert!(start.elapsed() >= Duration::from_millis(800));

    // The right password waits too, then works.
    second.ok("USER alice", 331);
    let right = timed(&mut second, "PASS secret", 230);
    assert!(right >= Duration::from_millis(1600), "{right:?}");

    let log = server.log();
    assert!(
        log.contains("wrong password for alice from 127.0.0.1 (5 lately from this address)"),
        "{log}"
    );
    assert!(
        log.contains("this answer waits 0.8 s, the next 1.6 s"),
        "{log}"
    );
}
// ANCHOR_END: guessing

// ANCHOR: port_stealing
/// Whoever connects first to a passive port gets the data connection. If
/// that is not the client's address, the port is closed and the transfer
/// fails: the stranger gets no byte, and no second try.
#[test]
fn a_stranger_on_the_passive_port_gets_nothing_and_closes_it() {
    let server = Server::start();
    fs::write(server.path("secret.txt"), "for alice only").unwrap();
    let mut c = Control::login(&server, "alice", "secret");
    let text = c.ok("EPSV", 229);
    let port: u16 = text
        .split("|||")
        .nth(1)
        .and_then(|rest| rest.split('|').next())
        .and_then(|port| port.parse().ok())
        .unwrap();
    let passive = SocketAddr::new(server.addr.ip(), port);
    c.ok("RETR secret.txt", 150);

    let mut thief = connect_from(Ipv4Addr::new(127, 0, 0, 2), passive);
    let mut stolen = Vec::new();
    let _ = thief.read_to_end(&mut stolen);
    assert!(stolen.is_empty(), "the stranger read {stolen:?}");
    let (code, text) = c.reply();
    assert_eq!(code, 425, "{text}");
    // The port is closed: the client's own connection is refused now.
    assert!(TcpStream::connect(passive).is_err());
    eventually("the refusal in the log", || {
        server.log().contains("refused, passive port closed")
    });
    // A fresh EPSV works as usual.
    assert_eq!(c.retr("secret.txt"), b"for alice only");
}
// ANCHOR_END: port_stealing

// ANCHOR: sweep
/// Part files left by a server that crashed are deleted at the next start,
/// in subdirectories too; a recent one (an upload another server may still
/// be writing) is kept.
#[test]
fn stale_part_files_are_swept_at_start() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("sub")).unwrap();
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for stale in [".ftp-upload-123-1", "sub/.ftp-upload-123-2"] {
        let file = fs::File::create(root.path().join(stale)).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    fs::write(root.path().join(".ftp-upload-fresh"), "being written").unwrap();
    let server = Server::start_in(root, &[]);
    eventually("the sweep", || {
        server.log().contains("swept 2 stale part file")
    });
    let left: Vec<_> = part_files(server.root.path())
        .into_iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [".ftp-upload-fresh"]);
}
// ANCHOR_END: sweep

// ANCHOR: escapes
/// Escape sequences a client sends come back escaped, in replies and in
/// the `-v` log, and names holding control characters are refused.
#[test]
fn escape_sequences_in_input_come_back_inert() {
    let server = Server::start_with(&["-v"]);
    let mut c = Control::connect(&server);
    let (code, text) = c.cmd("USER \x1b]0;owned\x07\x1b[2J");
    assert_eq!(code, 331);
    assert!(!text.contains(['\x1b', '\x07']), "{text:?}");
    assert!(text.contains(r"\u{1b}]0;owned\u{7}"), "{text:?}");
    c.ok("PASS secret", 530);
    let mut c = Control::login(&server, "alice", "secret");
    c.ok("MKD evil\x1b[31m", 501);
    c.ok("HELP \x1b[5m", 502);
    let log = server.log();
    assert!(log.contains(r"-> USER \u{1b}]0;owned"), "{log}");
    assert!(!log.contains(['\x1b', '\x07']), "{log:?}");
}
// ANCHOR_END: escapes
