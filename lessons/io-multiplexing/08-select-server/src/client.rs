//! The notes' select client: opens a few sockets, sends a message in
//! parts on each, and reads every reply (`just run lesson-08 client`). It
//! blocks, as the notes' client does: only the server must not.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};

/// The notes' message, in three parts.
pub const NOTES_MESSAGES: [&str; 3] = ["This is the message. ", "It will be sent ", "in parts."];

/// How long the client waits for a reply before giving up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: run_client
/// The notes' client: opens `sockets` connections, then for each part of
/// the message sends it on every socket, then reads the reply on every
/// socket, and prints both to `out`.
pub fn run_client(
    addr: &str,
    sockets: usize,
    messages: &[String],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("{addr} is not an address"))?
        .next()
        .with_context(|| format!("{addr} resolves to nothing"))?;
    writeln!(out, "connecting {sockets} sockets to {target}")?;
    let mut streams = Vec::new();
    for _ in 0..sockets {
        let stream = TcpStream::connect(target).with_context(|| {
            format!(
                "cannot connect to {target} (start the server first: just run lesson-08 server)"
            )
        })?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        streams.push((stream.local_addr()?, stream));
    }
    for message in messages {
        for (me, stream) in &mut streams {
            writeln!(out, "{me}: sending \"{}\"", message.escape_debug())?;
            stream.write_all(message.as_bytes())?;
        }
        for (me, stream) in &mut streams {
            let reply = read_reply(stream, message.len())
                .with_context(|| format!("{me}: waiting for the reply"))?;
            writeln!(out, "{me}: received \"{}\"", reply.escape_ascii())?;
            if reply.len() < message.len() {
                bail!("{me}: the server closed the connection");
            }
        }
    }
    writeln!(out, "closing {sockets} sockets")?;
    Ok(())
}

/// Reads until `len` bytes have arrived (the reply is as long as the
/// message) or the server closes the connection. TCP is a stream: one
/// `send` on one side may arrive as several `recv`s on the other, so
/// reading once, as the notes do, can print half a reply.
fn read_reply(stream: &mut TcpStream, len: usize) -> io::Result<Vec<u8>> {
    let mut reply = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match stream.read(&mut reply[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no reply within {} s", REPLY_TIMEOUT.as_secs()),
                ));
            }
            Err(error) => return Err(error),
        }
    }
    reply.truncate(got);
    Ok(reply)
}
// ANCHOR_END: run_client
