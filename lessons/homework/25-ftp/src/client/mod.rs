//! A small blocking FTP client, the other side of the protocol.
//!
//! The server needs an event loop because it serves many clients at once.
//! A client talks to one server over one connection, so plain blocking
//! sockets are the clearest way to write it; `ftp-client` gets parallel
//! transfers by running several of these clients on threads
//! ([`parallel`]).
//!
//! Every method sends one command (or a few), reads the reply, and turns a
//! refusal into an error that quotes the server: `RETR nope.txt: the server
//! said 550 nope.txt: No such file or directory`.

pub mod parallel;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::CHUNK;
use crate::reply::Reply;

/// One entry of an MLSD listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    /// Bytes, for files.
    pub size: u64,
}

/// A logged-in (or about to be) connection to an FTP server.
pub struct Client {
    control: BufReader<TcpStream>,
    /// The server's address: data connections go to its IP.
    server: SocketAddr,
    /// Whether TYPE I was sent already on this connection.
    binary: bool,
    /// How long to wait for the server before giving up.
    timeout: Duration,
}

impl Client {
    /// Connects and reads the greeting (220). A busy server's 421 becomes
    /// an error that says so.
    pub fn connect(addr: &str, timeout: Duration) -> anyhow::Result<Client> {
        let server = addr
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {addr}"))?
            .next()
            .ok_or_else(|| anyhow!("{addr} has no address"))?;
        let stream = TcpStream::connect_timeout(&server, timeout).with_context(|| {
            format!("cannot connect to {server} (is ftp-server running? start it with: just run lesson-25 ftp-server)")
        })?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let mut client = Client {
            control: BufReader::new(stream),
            server,
            binary: false,
            timeout,
        };
        let greeting = client.read_reply().context("reading the greeting")?;
        if greeting.code != 220 {
            bail!("{server} did not greet us: {greeting}");
        }
        Ok(client)
    }

    /// USER and PASS.
    pub fn login(&mut self, user: &str, password: &str) -> anyhow::Result<()> {
        let reply = self.expect(&format!("USER {user}"), &[230, 331])?;
        if reply.code == 331 {
            self.send(&format!("PASS {password}"))?;
            let reply = self.read_reply()?;
            if reply.code != 230 {
                bail!("login as {user} failed: the server said {reply}");
            }
        }
        Ok(())
    }

    /// Sends a command and reads its reply, whatever the code.
    pub fn command(&mut self, line: &str) -> anyhow::Result<Reply> {
        self.send(line)?;
        self.read_reply()
    }

    /// Sends a command; a reply whose code is not in `ok` is an error.
    pub fn expect(&mut self, line: &str, ok: &[u16]) -> anyhow::Result<Reply> {
        let reply = self.command(line)?;
        if ok.contains(&reply.code) {
            Ok(reply)
        } else {
            bail!("{line}: the server said {reply}")
        }
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let stream = self.control.get_mut();
        stream.write_all(format!("{line}\r\n").as_bytes())?;
        Ok(())
    }

    // ANCHOR: read_reply
    /// Reads one reply: `226 Done`, or several lines from `211-...` to the
    /// line that starts with the same code and a space.
    pub fn read_reply(&mut self) -> anyhow::Result<Reply> {
        let first = self.read_line()?;
        let code: u16 = first
            .get(..3)
            .and_then(|digits| digits.parse().ok())
            .filter(|code| (100..600).contains(code))
            .ok_or_else(|| anyhow!("not an FTP reply: {first:?}"))?;
        let mut lines = vec![first.get(4..).unwrap_or("").to_string()];
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.read_line()?;
                if let Some(last) = line.strip_prefix(&end) {
                    lines.push(last.to_string());
                    break;
                }
                lines.push(line.trim_start().to_string());
            }
        }
        Ok(Reply::multi(code, lines))
    }
    // ANCHOR_END: read_reply

    fn read_line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        if self.control.read_line(&mut line)? == 0 {
            bail!("the server closed the connection");
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Opens a data connection: EPSV (the port only; we connect to the
    /// server's IP), or PASV if the server does not know EPSV.
    fn passive(&mut self) -> anyhow::Result<TcpStream> {
        let reply = self.command("EPSV")?;
        let port = if reply.code == 229 {
            let text = &reply.lines[0];
            text.split("|||")
                .nth(1)
                .and_then(|rest| rest.split('|').next())
                .and_then(|port| port.parse().ok())
                .ok_or_else(|| anyhow!("cannot read the port in {reply}"))?
        } else {
            let reply = self.expect("PASV", &[227])?;
            let text = &reply.lines[0];
            let numbers: Vec<u16> = text
                .rsplit_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(inside, _)| {
                    inside
                        .split(',')
                        .filter_map(|n| n.trim().parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            match numbers[..] {
                [_, _, _, _, high, low] => high * 256 + low,
                _ => bail!("cannot read the address in {reply}"),
            }
        };
        let address = SocketAddr::new(self.server.ip(), port);
        let stream = TcpStream::connect_timeout(&address, self.timeout)
            .with_context(|| format!("cannot open the data connection to {address}"))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        Ok(stream)
    }

    fn binary(&mut self) -> anyhow::Result<()> {
        if !self.binary {
            self.expect("TYPE I", &[200])?;
            self.binary = true;
        }
        Ok(())
    }

    /// SIZE path: `None` if the server says there is no such file.
    pub fn size(&mut self, path: &str) -> anyhow::Result<Option<u64>> {
        self.binary()?;
        let reply = self.command(&format!("SIZE {path}"))?;
        match reply.code {
            213 => Ok(reply.lines[0].trim().parse().ok()),
            550 => Ok(None),
            _ => bail!("SIZE {path}: the server said {reply}"),
        }
    }

    /// LIST path: the `ls -l` text.
    pub fn list(&mut self, path: &str) -> anyhow::Result<String> {
        let mut text = Vec::new();
        self.read_data(format!("LIST {path}").trim_end(), 0, &mut text, &mut |_| {})?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// MLSD path: the entries of a directory, `.` and `..` left out.
    pub fn mlsd(&mut self, path: &str) -> anyhow::Result<Vec<Entry>> {
        let mut text = Vec::new();
        self.read_data(format!("MLSD {path}").trim_end(), 0, &mut text, &mut |_| {})?;
        let text = String::from_utf8(text).context("MLSD sent a name that is not UTF-8")?;
        let mut entries = Vec::new();
        for line in text.lines() {
            let Some((facts, name)) = line.split_once(' ') else {
                continue;
            };
            let fact = |key: &str| {
                facts.split(';').find_map(|fact| {
                    let (k, v) = fact.split_once('=')?;
                    k.eq_ignore_ascii_case(key).then_some(v)
                })
            };
            let kind = fact("type").unwrap_or("file").to_ascii_lowercase();
            if kind == "cdir" || kind == "pdir" {
                continue;
            }
            entries.push(Entry {
                name: name.to_string(),
                is_dir: kind == "dir",
                size: fact("size").and_then(|s| s.parse().ok()).unwrap_or(0),
            });
        }
        Ok(entries)
    }

    // ANCHOR: retrieve
    /// RETR path from `offset` (REST) into `sink`; `progress` hears of
    /// every chunk. Returns the bytes received.
    pub fn retrieve(
        &mut self,
        path: &str,
        offset: u64,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> anyhow::Result<u64> {
        self.binary()?;
        self.read_data(&format!("RETR {path}"), offset, sink, progress)
    }
    // ANCHOR_END: retrieve

    /// Sends `command` (RETR, LIST, MLSD), after `REST offset` if the
    /// offset is not 0, and copies its data connection into `sink` until the
    /// server closes it, then reads the 226.
    fn read_data(
        &mut self,
        command: &str,
        offset: u64,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> anyhow::Result<u64> {
        let mut data = self.passive()?;
        if offset > 0 {
            // REST right before the command it modifies, as RFC 3659 asks.
            self.expect(&format!("REST {offset}"), &[350])?;
        }
        self.expect(command, &[125, 150])?;
        let mut buffer = vec![0; CHUNK];
        let mut total = 0;
        loop {
            let n = match data.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).with_context(|| format!("{command}: reading the data")),
            };
            sink.write_all(&buffer[..n])?;
            total += n as u64;
            progress(n as u64);
        }
        let done = self.read_reply()?;
        if done.code != 226 && done.code != 250 {
            bail!("{command}: the server said {done}");
        }
        Ok(total)
    }

    // ANCHOR: store
    /// STOR path, from `offset` (REST) if it is not 0, reading `source`
    /// to its end. Returns the bytes sent.
    pub fn store(
        &mut self,
        path: &str,
        offset: u64,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> anyhow::Result<u64> {
        self.binary()?;
        let mut data = self.passive()?;
        if offset > 0 {
            self.expect(&format!("REST {offset}"), &[350])?;
        }
        let command = format!("STOR {path}");
        self.expect(&command, &[125, 150])?;
        let mut buffer = vec![0; CHUNK];
        let mut total = 0;
        loop {
            let n = match source.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the local file"),
            };
            data.write_all(&buffer[..n])
                .with_context(|| format!("{command}: sending the data"))?;
            total += n as u64;
            progress(n as u64);
        }
        // Closing our side is the end-of-file mark; then the server renames
        // the upload into place and says 226.
        let _ = data.shutdown(Shutdown::Write);
        drop(data);
        let done = self.read_reply()?;
        if done.code != 226 && done.code != 250 {
            bail!("{command}: the server said {done}");
        }
        Ok(total)
    }
    // ANCHOR_END: store

    /// MKD path; `Ok(false)` if it exists already as a directory.
    pub fn mkdir(&mut self, path: &str) -> anyhow::Result<bool> {
        let reply = self.command(&format!("MKD {path}"))?;
        if reply.code == 257 {
            return Ok(true);
        }
        let facts = self.command(&format!("MLST {path}"))?;
        if facts.code == 250 && facts.lines.iter().any(|line| line.contains("type=dir")) {
            return Ok(false);
        }
        bail!("MKD {path}: the server said {reply}")
    }

    /// QUIT, politely.
    pub fn quit(mut self) -> anyhow::Result<()> {
        self.expect("QUIT", &[221])?;
        Ok(())
    }
}

/// `dir` and `name` joined with one `/`.
pub fn remote_join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}
