//! The protocol spoken by hand against a real `ftp-server`: reply codes,
//! the path jail, garbage input, dropped and aborted uploads, REST, idle
//! timeouts and the connection limit.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use common::{Control, Server, eventually, part_files, pattern};

#[test]
fn a_session_gets_the_rfc_reply_codes() {
    let server = Server::start();
    let mut c = Control::connect(&server);
    c.ok("SYST", 215);
    c.ok("FEAT", 211);
    c.ok("USER alice", 331);
    c.ok("PASS secret", 230);
    assert_eq!(c.ok("PWD", 257), "257 \"/\" is the current directory");
    c.ok("TYPE I", 200);
    c.ok("TYPE A", 200);
    c.ok("TYPE E", 504);
    c.ok("MODE S", 200);
    c.ok("MODE B", 504);
    c.ok("STRU F", 200);
    c.ok("OPTS UTF8 ON", 200);
    c.ok("NOOP", 200);
    c.ok("HELP", 214);
    c.ok("HELP RETR", 214);
    c.ok("MKD docs", 257);
    c.ok("CWD docs", 250);
    assert_eq!(c.ok("PWD", 257), "257 \"/docs\" is the current directory");
    c.ok("CDUP", 250);
    c.ok("MKD docs", 550);
    c.ok("SIZE docs", 550);
    c.ok("RMD docs", 250);
    c.ok("ALLO 100", 202);
    c.ok("SITE CHMOD 600 x", 502);
    c.ok("FROB", 500);
    c.ok("QUIT", 221);
    assert!(c.is_closed());
}

#[test]
fn out_of_order_commands_get_503_425_and_530_and_the_session_goes_on() {
    let server = Server::start();
    let mut c = Control::connect(&server);
    c.ok("PASS secret", 503);
    c.ok("PWD", 530);
    c.ok("RETR x", 530);
    c.ok("USER alice", 331);
    c.ok("PASS wrong", 530);
    c.ok("USER alice", 331);
    c.ok("PASS secret", 230);
    c.ok("RNTO b", 503);
    fs::write(server.path("a"), "a").unwrap();
    c.ok("RETR a", 425);
    c.ok("STOR b", 425);
    c.ok("LIST", 425);
    c.ok("RNFR a", 350);
    c.ok("NOOP", 200);
    c.ok("RNTO b", 503); // RNTO must follow RNFR directly
    c.ok("REST abc", 501);
    c.ok("RETR", 501);
    c.ok("NOOP", 200);
}

#[test]
fn three_wrong_passwords_close_the_connection() {
    let server = Server::start();
    let mut c = Control::connect(&server);
    for _ in 0..2 {
        c.ok("USER alice", 331);
        c.ok("PASS guess", 530);
    }
    c.ok("USER alice", 331);
    c.ok("PASS guess", 421);
    assert!(c.is_closed());
}

#[test]
fn anonymous_is_read_only_and_active_mode_is_refused() {
    let server = Server::start();
    fs::write(server.path("a.txt"), "hello").unwrap();
    let mut c = Control::login(&server, "anonymous", "me@example.org");
    assert_eq!(c.retr("a.txt"), b"hello");
    for command in [
        "STOR b",
        "APPE a.txt",
        "DELE a.txt",
        "MKD d",
        "RMD d",
        "RNFR a.txt",
    ] {
        let text = c.ok(command, 550);
        assert!(text.contains("read-only"), "{text}");
    }
    let text = c.ok("PORT 127,0,0,1,4,1", 502);
    assert!(text.contains("connect out"), "{text}");
    c.ok("EPRT |1|127.0.0.1|1025|", 502);
    c.ok("EPSV ALL", 200);
    c.ok("PASV", 501);
    assert_eq!(c.retr("a.txt"), b"hello");
}

#[test]
fn path_escapes_are_refused_and_nothing_outside_is_touched() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "secret").unwrap();
    let server = Server::start();
    symlink(outside.path(), server.path("out")).unwrap();
    symlink(outside.path().join("secret"), server.path("secret-link")).unwrap();
    fs::create_dir(server.path("sub")).unwrap();
    let mut c = Control::login(&server, "alice", "secret");
    let secret = outside.path().join("secret");
    let absolute = secret.to_str().unwrap();

    for command in [
        "CWD ..".to_string(),
        "CWD /..".to_string(),
        "CDUP".to_string(),
        "CWD out".to_string(),
        "SIZE ../secret".to_string(),
        "SIZE sub/../../secret".to_string(),
        "SIZE out/secret".to_string(),
        "SIZE secret-link".to_string(),
        format!("SIZE {absolute}"),
        "MDTM out/secret".to_string(),
        "MKD ../made".to_string(),
        "MKD out/made".to_string(),
        "DELE out/secret".to_string(),
        "RNFR out/secret".to_string(),
        "RMD out".to_string(),
        "MLST out".to_string(),
    ] {
        let (code, text) = c.cmd(&command);
        assert_eq!(code, 550, "{command} -> {text}");
    }
    // The data commands are refused before any data moves.
    for command in [
        "RETR out/secret",
        "RETR ../secret",
        "STOR out/new",
        "STOR ../new",
        "LIST out",
    ] {
        let _data = c.epsv();
        let (code, text) = c.cmd(command);
        assert_eq!(code, 550, "{command} -> {text}");
    }
    // A rename may not carry a file out either.
    fs::write(server.path("mine"), "mine").unwrap();
    c.ok("RNFR mine", 350);
    c.ok("RNTO out/mine", 550);
    // Control characters in names are refused outright.
    c.ok("MKD a\u{0}b", 501);
    c.ok("MKD a\rb", 501);

    let left: Vec<_> = fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["secret"]);
    assert_eq!(fs::read_to_string(&secret).unwrap(), "secret");
    assert!(server.path("mine").exists());
    // Inside the root, `/` is the root: this is ROOT/sub, not /sub.
    c.ok("CWD /sub", 250);
    // Links leading out are not even listed.
    c.ok("CWD /", 250);
    let mut data = c.epsv();
    c.ok("NLST", 150);
    let mut names = String::new();
    data.read_to_string(&mut names).unwrap();
    assert_eq!(c.reply().0, 226);
    assert_eq!(names, "mine\r\nsub\r\n");
}

#[test]
fn garbage_and_overlong_lines_get_error_replies_and_the_server_survives() {
    let server = Server::start();
    let mut c = Control::connect(&server);
    // Random lines (any byte but LF), from a fixed seed, sent in one go.
    let noise = pattern(200_000, 7);
    let mut stream = Vec::new();
    let mut lines = 0;
    for chunk in noise.chunks(97) {
        stream.extend(chunk.iter().map(|&b| if b == b'\n' { b'x' } else { b }));
        stream.extend_from_slice(b"\r\n");
        lines += 1;
    }
    c.send_raw(&stream);
    for _ in 0..lines {
        let (code, text) = c.reply();
        assert!((500..600).contains(&code), "{text}");
    }
    // A line far over the limit: one 500, then the session goes on.
    c.send_raw(&vec![b'A'; 100_000]);
    c.send_raw(b"\r\nNOOP\r\n");
    let (code, text) = c.reply();
    assert_eq!(code, 500, "{text}");
    assert!(text.contains("too long"), "{text}");
    assert_eq!(c.reply().0, 200);
    c.ok("USER alice", 331);
    c.ok("PASS secret", 230);
    // And other clients were never bothered.
    let mut other = Control::login(&server, "alice", "secret");
    other.ok("PWD", 257);
}

#[test]
fn random_bytes_cut_anywhere_get_one_reply_per_line() {
    let server = Server::start();
    let mut c = Control::login(&server, "alice", "secret");
    let mut bytes = pattern(50_000, 11);
    // Keep clear of the odd valid command a random line might spell.
    for byte in bytes.iter_mut() {
        if byte.is_ascii_alphabetic() {
            *byte = b'#';
        }
    }
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    for piece in bytes.chunks(1000) {
        c.send_raw(piece);
    }
    c.send_raw(b"\r\n");
    for _ in 0..=lines {
        let (code, text) = c.reply();
        assert!((500..600).contains(&code), "{text}");
    }
    c.ok("NOOP", 200);
}

#[test]
fn a_client_that_drops_mid_upload_leaves_no_file() {
    let server = Server::start();
    let mut c = Control::login(&server, "alice", "secret");
    let mut data = c.epsv();
    c.ok("STOR dropped.bin", 150);
    data.write_all(&pattern(300_000, 1)).unwrap();
    eventually("the upload to start", || {
        !part_files(server.root.path()).is_empty()
    });
    // The client goes away: control first, as an exiting process closes
    // its sockets, then the data connection.
    c.stream().shutdown(Shutdown::Both).unwrap();
    drop(c);
    drop(data);
    eventually("the part file to go", || {
        part_files(server.root.path()).is_empty()
    });
    assert!(!server.path("dropped.bin").exists());
    // The server keeps serving.
    let mut next = Control::login(&server, "alice", "secret");
    next.ok("NOOP", 200);
}

#[test]
fn a_killed_client_leaves_no_file() {
    let server = Server::start();
    // A Python client that starts an upload and kills itself (SIGKILL)
    // half-way: the kernel closes its sockets, nothing says goodbye.
    let script = r#"
import ftplib, os, signal, sys
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", int(sys.argv[1]))
ftp.login("alice", "secret")
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("STOR killed.bin")
conn.sendall(b"k" * 500_000)
print("sent", flush=True)
sys.stdin.readline()
os.kill(os.getpid(), signal.SIGKILL)
"#;
    let mut python = Command::new("python3")
        .args(["-c", script, &server.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test (apt-get install python3)");
    let mut line = [0; 5];
    python.stdout.take().unwrap().read_exact(&mut line).unwrap();
    assert_eq!(&line, b"sent\n");
    eventually("the upload to start", || {
        !part_files(server.root.path()).is_empty()
    });
    python.stdin.take().unwrap().write_all(b"die\n").unwrap();
    python.wait().unwrap();
    eventually("the part file to go", || {
        part_files(server.root.path()).is_empty()
    });
    assert!(!server.path("killed.bin").exists(), "{}", server.log());
    let mut next = Control::login(&server, "alice", "secret");
    next.ok("NOOP", 200);
}

#[test]
fn abor_during_an_upload_answers_426_then_226_and_leaves_no_file() {
    let server = Server::start();
    let mut c = Control::login(&server, "alice", "secret");
    let mut data = c.epsv();
    c.ok("STOR aborted.bin", 150);
    data.write_all(&pattern(100_000, 2)).unwrap();
    eventually("the upload to start", || {
        !part_files(server.root.path()).is_empty()
    });
    // ABOR the way RFC 959 describes: Telnet IP and Synch first.
    c.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n");
    assert_eq!(c.reply().0, 426);
    assert_eq!(c.reply().0, 226);
    assert!(part_files(server.root.path()).is_empty());
    assert!(!server.path("aborted.bin").exists());
    c.ok("ABOR", 225);
    c.ok("NOOP", 200);
}

#[test]
fn commands_sent_during_a_transfer_wait_for_its_end() {
    let server = Server::start();
    let mut c = Control::login(&server, "alice", "secret");
    let mut data = c.epsv();
    c.ok("STOR queued.bin", 150);
    // PWD arrives while the upload runs: its reply must come after the
    // upload's 226, in order.
    c.send("PWD");
    data.write_all(b"some bytes").unwrap();
    drop(data);
    assert_eq!(c.reply().0, 226);
    assert_eq!(c.reply().0, 257);
    assert_eq!(fs::read(server.path("queued.bin")).unwrap(), b"some bytes");
}

#[test]
fn rest_resumes_downloads_and_uploads_to_identical_files() {
    let server = Server::start();
    let whole = pattern(700_001, 3);
    fs::write(server.path("whole.bin"), &whole).unwrap();
    let mut c = Control::login(&server, "alice", "secret");
    c.ok("TYPE I", 200);

    // Download: the first 300,000 bytes, then REST 300000 for the rest.
    let mut data = c.epsv();
    c.ok("REST 300000", 350);
    c.ok("RETR whole.bin", 150);
    let mut rest = Vec::new();
    data.read_to_end(&mut rest).unwrap();
    assert_eq!(c.reply().0, 226);
    let mut resumed = whole[..300_000].to_vec();
    resumed.extend_from_slice(&rest);
    assert_eq!(resumed, whole);

    // Upload: the server has the first part; REST + STOR sends the rest.
    fs::write(server.path("up.bin"), &whole[..123_457]).unwrap();
    let mut data = c.epsv();
    c.ok("REST 123457", 350);
    c.ok("STOR up.bin", 150);
    data.write_all(&whole[123_457..]).unwrap();
    drop(data);
    assert_eq!(c.reply().0, 226);
    assert_eq!(fs::read(server.path("up.bin")).unwrap(), whole);

    // APPE adds to the end.
    let mut data = c.epsv();
    c.ok("APPE up.bin", 150);
    data.write_all(b"tail").unwrap();
    drop(data);
    assert_eq!(c.reply().0, 226);
    assert_eq!(
        fs::read(server.path("up.bin")).unwrap().len(),
        whole.len() + 4
    );

    // An offset past the end is refused.
    let _data = c.epsv();
    c.ok("REST 999999999", 350);
    c.ok("RETR whole.bin", 554);
}

#[test]
fn listings_show_sizes_and_hide_uploads_in_progress() {
    let server = Server::start();
    fs::write(server.path("a.txt"), "12345").unwrap();
    fs::create_dir(server.path("dir")).unwrap();
    fs::write(server.path(".ftp-upload-1-1"), "half").unwrap();
    let mut c = Control::login(&server, "alice", "secret");
    let listing = |c: &mut Control, command: &str| {
        let mut data = c.epsv();
        c.ok(command, 150);
        let mut text = String::new();
        data.read_to_string(&mut text).unwrap();
        assert_eq!(c.reply().0, 226);
        text
    };
    let mlsd = listing(&mut c, "MLSD");
    let lines: Vec<&str> = mlsd.lines().collect();
    assert_eq!(lines.len(), 2, "{mlsd}");
    assert!(lines[0].starts_with("type=file;size=5;modify="), "{mlsd}");
    assert!(lines[0].ends_with(";perm=radfw; a.txt"), "{mlsd}");
    assert!(lines[1].starts_with("type=dir;"), "{mlsd}");
    let list = listing(&mut c, "LIST -la");
    assert!(list.lines().next().unwrap().starts_with("-rw"), "{list}");
    assert!(
        list.contains(" 5 ") && list.contains(" a.txt\r\n"),
        "{list}"
    );
    assert!(!list.contains("ftp-upload"), "{list}");
    let one = listing(&mut c, "LIST a.txt");
    assert_eq!(one.lines().count(), 1, "{one}");
    c.ok("MLST a.txt", 250);
    c.ok("RETR .ftp-upload-1-1", 550);
    assert_eq!(c.ok("SIZE a.txt", 213), "213 5");
    let mdtm = c.ok("MDTM a.txt", 213);
    assert_eq!(mdtm.len(), "213 YYYYMMDDHHMMSS".len(), "{mdtm}");
}

#[test]
fn idle_sessions_get_421_and_are_closed() {
    let server = Server::start_with(&["--idle-timeout", "0.3"]);
    let mut c = Control::connect(&server);
    // No command: the next thing the server says is the timeout.
    let (code, text) = c.reply();
    assert_eq!(code, 421, "{text}");
    assert!(c.is_closed());
}

#[test]
fn past_the_connection_limit_clients_get_421() {
    // Everyone here is 127.0.0.1: let one address take every slot.
    let server = Server::start_with(&["--max-connections", "2", "--max-per-address", "2"]);
    let first = Control::connect(&server);
    let _second = Control::connect(&server);
    let mut third = Control::open(server.addr);
    let (code, text) = third.reply();
    assert_eq!(code, 421, "{text}");
    assert!(third.is_closed());
    // When one leaves, there is room again.
    drop(first);
    eventually("a free slot", || {
        let mut next = Control::open(server.addr);
        next.reply().0 == 220
    });
}

#[test]
fn a_stalled_download_does_not_hold_up_anyone_else() {
    let server = Server::start();
    // 256 MiB, sparse: far more than the socket buffers can absorb, so the
    // server must stop sending when the client stops reading.
    let big = fs::File::create(server.path("big.bin")).unwrap();
    big.set_len(256 << 20).unwrap();
    fs::write(server.path("small.txt"), "small").unwrap();

    let mut slow = Control::login(&server, "alice", "secret");
    let mut stalled = slow.epsv();
    slow.ok("RETR big.bin", 150);
    let mut first = [0; 1];
    stalled.read_exact(&mut first).unwrap(); // started, then not reading

    // Meanwhile another client does a whole session.
    let mut quick = Control::login(&server, "alice", "secret");
    assert_eq!(quick.retr("small.txt"), b"small");
    quick.ok("QUIT", 221);

    // The slow client is still served, to the last byte.
    let mut rest = Vec::new();
    stalled.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len() + 1, 256 << 20);
    assert_eq!(slow.reply().0, 226);
}

#[test]
fn accounts_come_from_a_users_file_and_anonymous_can_be_refused() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    fs::write(
        &users,
        "# classroom accounts\nbob:builder\ncarol:reader:ro\n",
    )
    .unwrap();
    let server = Server::start_with(&["--users-file", users.to_str().unwrap(), "--no-anonymous"]);
    let mut c = Control::connect(&server);
    c.ok("USER anonymous", 530);
    c.ok("USER bob", 331);
    c.ok("PASS builder", 230);
    c.ok("MKD made-by-bob", 257);
    let mut carol = Control::login(&server, "carol", "reader");
    let text = carol.ok("MKD made-by-carol", 550);
    assert!(text.contains("read-only"), "{text}");
}

/// With `-v`, every command and reply of a session carries the time since
/// it connected, and that time is real: an answer the server holds back
/// (after a wrong password the next answer waits 0.1 s) shows the wait,
/// and never more than the client itself measured around it.
#[test]
fn verbose_lines_show_the_time_since_the_session_connected() {
    let server = Server::start_with(&["-v"]);
    let mut c = Control::connect(&server);
    c.ok("USER alice", 331);
    c.ok("PASS wrong", 530);
    c.ok("USER alice", 331);
    let asked = std::time::Instant::now();
    c.ok("PASS secret", 230);
    let measured_ms = asked.elapsed().as_secs_f64() * 1e3;
    eventually("the 230 line in the log", || {
        server.log().contains("<- 230")
    });

    // `[#1 +12.3 ms] -> PASS ****`: the stamp, then what was said.
    let log = server.log();
    let stamped: Vec<(f64, &str)> = log
        .lines()
        .filter_map(|line| {
            let (stamp, said) = line.strip_prefix("[#1 +")?.split_once(" ms] ")?;
            Some((stamp.parse().ok()?, said))
        })
        .collect();
    assert!(stamped.len() >= 9, "{log}");
    assert!(
        stamped.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "stamps go back in time:\n{log}"
    );
    let when = |said: &str| {
        stamped
            .iter()
            .rev()
            .find(|(_, s)| s.starts_with(said))
            .unwrap()
            .0
    };
    let waited = when("<- 230") - when("-> PASS");
    // Stamps have 0.1 ms steps: allow one either way.
    assert!(
        waited >= 100.0 - 0.1,
        "the held answer shows {waited} ms:\n{log}"
    );
    assert!(
        waited <= measured_ms + 0.1,
        "the log shows {waited} ms, the client measured {measured_ms} ms"
    );
}
