//! One client's session: its control connection, its data connection, and
//! where it stands in the protocol.
//!
//! A session is a state machine. Nothing in it ever waits: the event loop
//! calls [`Session::on_control`], [`Session::on_passive`] or
//! [`Session::on_data`] when one of its sockets is ready, the method does
//! what can be done *now* (read what has arrived, write what the socket
//! takes, move the next chunks of a file) and returns. Everything the
//! session must remember between two calls is in its fields.
//!
//! Two state machines run side by side:
//!
//! ```text
//!  login (Phase):
//!
//!    connect ─220─▶ NeedUser ─USER─331─▶ NeedPassword ─PASS ok─230─▶ LoggedIn
//!                      ▲                      │
//!                      └──── PASS wrong, 530 ─┘
//!    QUIT (221), idle timeout (421), 3 wrong passwords (421),
//!    no login within the login timeout (421) ─▶ Closing
//!    (after a wrong password from its address, each PASS answer waits: guard.rs)
//!
//!  data connection (Data):
//!
//!    None ─PASV/EPSV─▶ Listening ─client connects─▶ Connected
//!                          │                            │
//!                  RETR/STOR/LIST, 150          RETR/STOR/LIST, 150
//!                          ▼                            ▼
//!                       Waiting ──client connects──▶ Transferring ─226─▶ None
//!                                                       │
//!                                         upload's end of file
//!                                                       ▼
//!                                    Settling ─20 ms, client still there, 226─▶ None
//! ```
//!
//! Clients open the data connection before sending RETR (curl, ftplib) or
//! after; both orders meet in `Transferring`.

use std::io::{self, Read, Write};
use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use crate::cmd::{self, Command};
use crate::guard::Guard;
use crate::line::{Line, LineReader, MAX_LINE};
use crate::reply::{Reply, escape_controls};
use crate::server::Config;
use crate::transfer::{self, Job, Progress, TransferError};
use crate::users::Login;

/// The most bytes read from a control connection at once. Commands are
/// short; reading little keeps a flooding client's buffer small.
const CONTROL_READ: usize = 4 * 1024;

/// Stop running commands while this much reply text waits to be sent: a
/// client that sends commands without reading replies gets no more service
/// (and costs no more memory) until it reads.
const OUTBOX_LIMIT: usize = 64 * 1024;

/// Commands run per turn before the loop serves the other sessions.
const COMMANDS_PER_TURN: usize = 32;

/// Reads from the control connection per turn (of [`CONTROL_READ`] bytes
/// each) before the loop serves the other sessions. Counted apart from
/// commands: a client that sends bytes but never a line end runs no
/// command, yet must not keep the loop to itself.
const READS_PER_TURN: usize = 16;

/// How long a finished upload waits before it is named, to tell a client
/// that finished from one that was killed (see `Session::end_of_data`).
pub const UPLOAD_GRACE: Duration = Duration::from_millis(20);

/// Wrong passwords tolerated on one connection before it is closed.
pub const MAX_LOGIN_FAILURES: u32 = 3;

// ANCHOR: tokens
/// Which of a session's sockets an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The control connection: commands in, replies out.
    Control = 1,
    /// The passive listener the client connects its data connection to.
    Passive = 2,
    /// The data connection: file contents and listings.
    Data = 3,
}

/// The token of one socket of session `id`: the id in the high bits, the
/// role in the low two. Ids are never reused, so an event that arrives for
/// a session already closed finds nothing, rather than a stranger.
pub fn token(id: u64, role: Role) -> Token {
    Token(((id as usize) << 2) | role as usize)
}

/// The session id and role a token stands for (`None` for token 0, the
/// server's own listener).
pub fn untoken(token: Token) -> Option<(u64, Role)> {
    let role = match token.0 & 3 {
        1 => Role::Control,
        2 => Role::Passive,
        3 => Role::Data,
        _ => return None,
    };
    Some(((token.0 >> 2) as u64, role))
}
// ANCHOR_END: tokens

/// What a handler needs from the loop: the registry to (de)register
/// sockets, the configuration, the one chunk buffer every transfer shares,
/// the sockets owed another turn without an event, turns wanted later, and
/// what is remembered per client address.
pub struct Ctx<'a> {
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub scratch: &'a mut [u8],
    /// Tokens to serve again as soon as possible.
    pub again: &'a mut Vec<Token>,
    /// Tokens to serve again at a given time.
    pub timers: &'a mut Vec<(Instant, Token)>,
    pub guard: &'a mut Guard,
    pub now: Instant,
}

/// Whether a session goes on after a handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Closed,
}

// ANCHOR: phase
/// Where a session stands in logging in.
#[derive(Debug)]
pub enum Phase {
    /// Greeted; waiting for USER.
    NeedUser,
    /// USER received; waiting for PASS.
    NeedPassword { user: String },
    /// Logged in: every command may run, within what `Login` allows.
    LoggedIn(Login),
    /// The last reply (221 or 421) is queued: close once it is sent.
    Closing,
}

/// The data connection, from PASV/EPSV to the end of a transfer.
#[derive(Debug, Default)]
pub enum Data {
    /// None open, none offered.
    #[default]
    None,
    /// A passive port is open; the client has not connected yet.
    Listening(TcpListener),
    /// The client has connected; no transfer command has come yet.
    Connected(TcpStream),
    /// A transfer command came first (150 sent); the client is connecting.
    Waiting(TcpListener, Transfer),
    /// Bytes are moving.
    Transferring(TcpStream, Transfer),
    /// An upload's data connection has ended; the upload is named when the
    /// grace period ending at the `Instant` is over (see `end_of_data`).
    Settling(Transfer, Instant),
}

/// A transfer that has been asked for, and what the log says about it.
#[derive(Debug)]
pub struct Transfer {
    pub job: Job,
    /// `RETR /big.bin`: for the log line at the end.
    pub what: String,
    pub started: Instant,
}
// ANCHOR_END: phase

// ANCHOR: session
/// One client.
pub struct Session {
    /// Unique for the server's lifetime; also in the tokens and log lines.
    pub id: u64,
    control: TcpStream,
    /// The client's address: its data connection must come from the same IP.
    pub peer: SocketAddr,
    /// Our address as the client reached it: passive ports open on its IP.
    pub local: SocketAddr,
    /// Bytes of commands received, not yet cut into lines.
    lines: LineReader,
    /// Replies not yet written, and how much of them is written.
    outbox: Vec<u8>,
    outbox_sent: usize,
    /// A command that arrived during a transfer and waits for its end.
    held: Option<Result<Command, cmd::ParseError>>,
    pub phase: Phase,
    pub data: Data,
    /// The current directory, in the client's tree (`/` is the root).
    pub cwd: String,
    /// TYPE I (true) or A (false). Only the 150 message depends on it:
    /// files are sent byte for byte either way (see `cmd/params.rs`).
    pub binary: bool,
    /// The REST offset for the next RETR or STOR.
    pub restart: u64,
    /// After RNFR: the path the client wants to rename.
    pub rename_from: Option<String>,
    /// After `EPSV ALL` (RFC 2428): only EPSV may open data connections.
    pub epsv_all: bool,
    pub failed_logins: u32,
    /// A reply held back until a time: the answer to a password, when this
    /// address has sent wrong ones before (see [`crate::guard`]). Nothing
    /// else is read or run meanwhile.
    delayed: Option<(Instant, Reply)>,
    /// When the client connected: it must log in within the login timeout.
    pub connected: Instant,
    /// When the client last did anything; the loop closes idle sessions.
    pub last_active: Instant,
    /// Print every command and reply (`--verbose`).
    verbose: bool,
}
// ANCHOR_END: session

impl Session {
    /// A session for a freshly accepted control connection: registered
    /// with the loop, its 220 greeting queued.
    pub fn new(
        id: u64,
        mut control: TcpStream,
        peer: SocketAddr,
        ctx: &mut Ctx,
    ) -> io::Result<Session> {
        let local = control.local_addr()?;
        // Replies are small and each is awaited: don't let Nagle's
        // algorithm hold one back waiting for the previous one's ACK.
        control.set_nodelay(true)?;
        keep_urgent_data_inline(&control)?;
        ctx.registry.register(
            &mut control,
            token(id, Role::Control),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let mut session = Session {
            id,
            control,
            peer,
            local,
            lines: LineReader::default(),
            outbox: Vec::new(),
            outbox_sent: 0,
            held: None,
            phase: Phase::NeedUser,
            data: Data::None,
            cwd: "/".to_string(),
            binary: false,
            restart: 0,
            rename_from: None,
            epsv_all: false,
            failed_logins: 0,
            delayed: None,
            connected: ctx.now,
            last_active: ctx.now,
            verbose: ctx.config.verbose,
        };
        println!("[#{id}] {peer} connected");
        session.reply(Reply::new(220, "lesson-25 FTP server ready"));
        ctx.again.push(token(id, Role::Control));
        Ok(session)
    }

    /// Queues a reply; it is written when the control socket takes it.
    pub fn reply(&mut self, reply: Reply) {
        if self.verbose {
            for line in reply.to_string().lines() {
                println!("{} <- {line}", self.verbose_prefix());
            }
        }
        reply.write_to(&mut self.outbox);
    }

    /// Queues a reply to be sent only at `until`; the session reads and
    /// runs nothing before. A timer in the loop brings it back: nothing
    /// waits, the other sessions are served meanwhile.
    pub fn reply_at(&mut self, ctx: &mut Ctx, until: Instant, reply: Reply) {
        ctx.timers.push((until, token(self.id, Role::Control)));
        self.delayed = Some((until, reply));
    }

    /// The login, once logged in.
    pub fn login(&self) -> Option<&Login> {
        match &self.phase {
            Phase::LoggedIn(login) => Some(login),
            _ => None,
        }
    }

    /// Whether a transfer command is running (so other commands wait).
    pub fn transferring(&self) -> bool {
        matches!(
            self.data,
            Data::Waiting(..) | Data::Transferring(..) | Data::Settling(..)
        )
    }

    /// Whether a data connection is offered (PASV/EPSV done, connected or
    /// not) and free for a transfer command.
    pub fn data_offered(&self) -> bool {
        matches!(self.data, Data::Listening(_) | Data::Connected(_))
    }

    // ANCHOR: start_transfer
    /// Starts `job` on the offered data connection: 150 now, 226 when it
    /// is done. If the client is already connected, the data socket gets a
    /// turn at once; otherwise the transfer waits for it to connect.
    pub fn start_transfer(&mut self, ctx: &mut Ctx, job: Job, what: String, message: &str) {
        if !self.data_offered() {
            return self.reply(Reply::new(425, "Use PASV or EPSV first"));
        }
        let transfer = Transfer {
            job,
            what,
            started: ctx.now,
        };
        self.data = match mem::take(&mut self.data) {
            Data::Listening(listener) => Data::Waiting(listener, transfer),
            Data::Connected(stream) => {
                ctx.again.push(token(self.id, Role::Data));
                Data::Transferring(stream, transfer)
            }
            // data_offered() said it is one of the two above.
            other => other,
        };
        self.reply(Reply::new(150, message));
    }
    // ANCHOR_END: start_transfer

    // ANCHOR: on_control
    /// The control socket is ready (to read, to write, or both), or the
    /// loop owes it a turn. Sends queued replies, then reads and runs
    /// commands until the socket has nothing more, the turn is used up, or
    /// a transfer is running (then only ABOR acts; anything else waits).
    pub fn on_control(&mut self, ctx: &mut Ctx) -> Status {
        if self.flush().is_err() {
            return Status::Closed;
        }
        if let Some((until, _)) = &self.delayed {
            if ctx.now < *until {
                return Status::Open; // the timer brings us back
            }
            if let Some((_, reply)) = self.delayed.take() {
                self.reply(reply);
            }
        }
        let mut budget = COMMANDS_PER_TURN;
        let mut reads = READS_PER_TURN;
        while !matches!(self.phase, Phase::Closing) && self.backlog() < OUTBOX_LIMIT {
            if budget == 0 {
                ctx.again.push(token(self.id, Role::Control));
                break;
            }
            if self.held.is_some() && self.transferring() {
                break; // the end of the transfer brings us back
            }
            if self.delayed.is_some() {
                break; // the timer brings us back
            }
            let parsed = match self.held.take() {
                Some(parsed) => parsed,
                None => match self.lines.next_line() {
                    Some(Line::Complete(line)) => {
                        self.log_command(&line);
                        cmd::parse(&line)
                    }
                    Some(Line::TooLong) => {
                        let text = format!("Command line too long (the limit is {MAX_LINE} bytes)");
                        self.reply(Reply::new(500, text));
                        continue;
                    }
                    None if reads == 0 => {
                        // The share of this turn is read: the others first.
                        ctx.again.push(token(self.id, Role::Control));
                        break;
                    }
                    None => match self.read_control(ctx, &mut reads) {
                        Ok(true) => continue,
                        Ok(false) => break,
                        // The client closed or reset its control
                        // connection: whatever it was doing ends here.
                        Err(_) => return Status::Closed,
                    },
                },
            };
            if self.transferring() && parsed != Ok(Command::Abor) {
                self.held = Some(parsed);
                break;
            }
            budget -= 1;
            self.last_active = ctx.now;
            match parsed {
                Ok(command) => cmd::execute(self, ctx, command),
                Err(error) => self.reply(error.reply()),
            }
        }
        self.settle()
    }
    // ANCHOR_END: on_control

    /// Reads what has arrived on the control connection. `Ok(true)`: got
    /// bytes; `Ok(false)`: nothing more for now; `Err`: closed or broken.
    fn read_control(&mut self, ctx: &mut Ctx, reads: &mut usize) -> io::Result<bool> {
        let buffer = &mut ctx.scratch[..CONTROL_READ];
        *reads = reads.saturating_sub(1);
        loop {
            return match self.control.read(buffer) {
                Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.lines.push(&buffer[..n]);
                    Ok(true)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Writes queued replies until done or the socket is full.
    fn flush(&mut self) -> io::Result<()> {
        while self.outbox_sent < self.outbox.len() {
            match self.control.write(&self.outbox[self.outbox_sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.outbox_sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.outbox_sent == self.outbox.len() {
            self.outbox.clear();
            self.outbox_sent = 0;
        }
        Ok(())
    }

    /// Reply bytes still waiting to be sent.
    fn backlog(&self) -> usize {
        self.outbox.len() - self.outbox_sent
    }

    /// Every handler ends here: send what was queued, and close if the
    /// session is closing and everything is sent.
    fn settle(&mut self) -> Status {
        if self.flush().is_err() {
            return Status::Closed;
        }
        if matches!(self.phase, Phase::Closing) && self.backlog() == 0 && self.delayed.is_none() {
            return Status::Closed;
        }
        Status::Open
    }

    // ANCHOR: on_passive
    /// The passive listener is ready: the client is connecting its data
    /// connection. Exactly one connection is taken, the first, and only if
    /// it comes from the control connection's own IP address. If anyone
    /// else got there first (RFC 2577 calls this "port stealing"), the
    /// passive port is closed and the transfer fails with 425: a thief
    /// gets neither the data nor a second try at the same port. On one
    /// machine every process shares 127.0.0.1, so there this check stops
    /// nothing; see the chapter's "Threats" section.
    pub fn on_passive(&mut self, ctx: &mut Ctx) -> Status {
        loop {
            let listener = match &self.data {
                Data::Listening(listener) | Data::Waiting(listener, _) => listener,
                _ => return Status::Open,
            };
            let mut stream = match listener.accept() {
                Ok((stream, from)) if from.ip() == self.peer.ip() => stream,
                Ok((stranger, from)) => {
                    drop(stranger);
                    println!(
                        "[#{}] data connection from {from}, not from the client ({}): \
                         refused, passive port closed",
                        self.id,
                        self.peer.ip()
                    );
                    let text = "Security: the data connection came from another address";
                    self.fail_data(ctx, 425, text);
                    return self.settle();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Status::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(session = self.id, "passive accept failed: {e}");
                    self.fail_data(ctx, 425, "Cannot open the data connection");
                    return self.settle();
                }
            };
            transfer::pace_sending(&stream);
            let registered = ctx.registry.register(
                &mut stream,
                token(self.id, Role::Data),
                Interest::READABLE | Interest::WRITABLE,
            );
            if let Err(e) = registered {
                tracing::warn!(session = self.id, "cannot register a data connection: {e}");
                self.fail_data(ctx, 425, "Cannot open the data connection");
                return self.settle();
            }
            // One data connection per PASV: the listener has done its job.
            self.data = match mem::take(&mut self.data) {
                Data::Listening(mut listener) => {
                    let _ = ctx.registry.deregister(&mut listener);
                    Data::Connected(stream)
                }
                Data::Waiting(mut listener, transfer) => {
                    let _ = ctx.registry.deregister(&mut listener);
                    ctx.again.push(token(self.id, Role::Data));
                    Data::Transferring(stream, transfer)
                }
                other => other,
            };
            return Status::Open;
        }
    }
    // ANCHOR_END: on_passive

    // ANCHOR: on_data
    /// The data connection is ready, the loop owes it a turn, or a
    /// finished upload's grace period is over.
    pub fn on_data(&mut self, ctx: &mut Ctx) -> Status {
        let (stream, transfer) = match &mut self.data {
            Data::Transferring(stream, transfer) => (stream, transfer),
            Data::Settling(_, until) if ctx.now >= *until => return self.complete_upload(ctx),
            _ => return Status::Open, // connected but no command yet, or settling
        };
        self.last_active = ctx.now;
        match transfer.job.run(stream, ctx.scratch) {
            Ok(Progress::Blocked) => Status::Open,
            Ok(Progress::Again) => {
                ctx.again.push(token(self.id, Role::Data));
                Status::Open
            }
            Ok(Progress::Done) => self.end_of_data(ctx),
            Err(TransferError::Network(e)) => {
                tracing::debug!(session = self.id, "data connection failed: {e}");
                self.fail_data(ctx, 426, "Data connection lost; transfer aborted");
                self.settle()
            }
            Err(TransferError::Disk(e)) => {
                tracing::warn!(session = self.id, "transfer failed on disk: {e}");
                self.fail_data(ctx, 451, &format!("Local error: {e}"));
                self.settle()
            }
        }
    }

    /// The data connection reached its end. For a download or a listing
    /// we closed it, and that closing is the client's end-of-file mark: the
    /// transfer is complete. For an upload the *client* closed it, and that
    /// is where FTP's stream mode is ambiguous: a client that sent its last
    /// byte closes the connection, and so does a client that is killed half
    /// way (its kernel closes its sockets; Linux even closes the data
    /// connection before the control connection). The difference shows a
    /// moment later: a killed client's control connection closes too. So a
    /// finished upload settles for [`UPLOAD_GRACE`] before it is named.
    fn end_of_data(&mut self, ctx: &mut Ctx) -> Status {
        let Data::Transferring(mut stream, transfer) = mem::take(&mut self.data) else {
            return Status::Open;
        };
        let _ = ctx.registry.deregister(&mut stream);
        drop(stream);
        if matches!(transfer.job, Job::Upload(_)) {
            let until = ctx.now + UPLOAD_GRACE;
            ctx.timers.push((until, token(self.id, Role::Data)));
            self.data = Data::Settling(transfer, until);
            return Status::Open;
        }
        self.log_transfer(&transfer);
        self.reply(Reply::new(226, "Transfer complete"));
        ctx.again.push(token(self.id, Role::Control)); // held commands go on
        self.settle()
    }

    /// An upload's grace period is over: if the client is still there, give
    /// the file its name and say 226; if it vanished, drop the upload (its
    /// part file is deleted as it drops) and the session.
    fn complete_upload(&mut self, ctx: &mut Ctx) -> Status {
        let Data::Settling(transfer, _) = mem::take(&mut self.data) else {
            return Status::Open;
        };
        if self.control_closed() {
            println!(
                "[#{}] {}: the client vanished, upload discarded",
                self.id, transfer.what
            );
            return Status::Closed;
        }
        ctx.again.push(token(self.id, Role::Control)); // held commands go on
        self.log_transfer(&transfer);
        let Job::Upload(upload) = transfer.job else {
            return Status::Open;
        };
        match upload.commit() {
            Ok(()) => self.reply(Reply::new(226, "Transfer complete")),
            Err(e) => self.reply(Reply::new(451, format!("Could not store the file: {e}"))),
        }
        self.settle()
    }
    // ANCHOR_END: on_data

    fn log_transfer(&self, transfer: &Transfer) {
        let bytes = transfer.job.bytes();
        let secs = transfer.started.elapsed().as_secs_f64();
        println!(
            "[#{}] {}: {bytes} bytes in {secs:.3} s ({})",
            self.id,
            transfer.what,
            rate(bytes, secs)
        );
    }

    /// Ends the data connection and any transfer on it (an upload's part
    /// file is deleted as it drops), replying `code` if a transfer command
    /// was waiting for an answer.
    pub fn fail_data(&mut self, ctx: &mut Ctx, code: u16, text: &str) {
        let had_transfer = self.transferring();
        self.close_data(ctx.registry);
        if had_transfer {
            self.reply(Reply::new(code, text));
            ctx.again.push(token(self.id, Role::Control));
        }
    }

    /// Closes whatever data connection or passive port is open.
    pub fn close_data(&mut self, registry: &Registry) {
        match mem::take(&mut self.data) {
            Data::None | Data::Settling(..) => {}
            Data::Listening(mut listener) | Data::Waiting(mut listener, _) => {
                let _ = registry.deregister(&mut listener);
            }
            Data::Connected(mut stream) | Data::Transferring(mut stream, _) => {
                let _ = registry.deregister(&mut stream);
            }
        }
    }

    /// Whether the client has closed its control connection (a read would
    /// return end of file). Peeking leaves any bytes for `on_control`.
    fn control_closed(&self) -> bool {
        matches!(self.control.peek(&mut [0; 1]), Ok(0))
    }

    /// The loop found the session idle too long, or not logged in in time:
    /// say `why` (421); the loop closes it next.
    pub fn time_out(&mut self, why: &str) {
        self.reply(Reply::new(421, format!("{why}: closing the connection")));
        self.phase = Phase::Closing;
        let _ = self.flush();
    }

    /// Deregisters every socket; dropping the session then closes them
    /// (and deletes an unfinished upload's part file).
    pub fn close(mut self, registry: &Registry) {
        self.close_data(registry);
        let _ = registry.deregister(&mut self.control);
    }

    fn log_command(&self, line: &[u8]) {
        if !self.verbose {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let shown = match text.get(..5) {
            Some(verb) if verb.eq_ignore_ascii_case("PASS ") => "PASS ****".into(),
            // Control characters shown escaped: the log is read on a
            // terminal, which would act on them.
            _ => escape_controls(&text),
        };
        println!("{} -> {shown}", self.verbose_prefix());
    }

    /// How a `--verbose` line starts: the session, and the milliseconds
    /// since it connected. The gaps between lines then show where a
    /// client's time goes: waiting for the server's answer, or for the
    /// client's next command.
    fn verbose_prefix(&self) -> String {
        let ms = self.connected.elapsed().as_secs_f64() * 1e3;
        format!("[#{} +{ms:.1} ms]", self.id)
    }
}

/// `2.61 GB/s`, `12.0 MB/s`: a rate for log lines.
pub fn rate(bytes: u64, secs: f64) -> String {
    let per_sec = bytes as f64 / secs.max(1e-9);
    if per_sec >= 1e9 {
        format!("{:.2} GB/s", per_sec / 1e9)
    } else {
        format!("{:.1} MB/s", per_sec / 1e6)
    }
}

/// ftplib sends ABOR as TCP "urgent" data (RFC 959's Synch). Without
/// SO_OOBINLINE the kernel takes the urgent byte (the final LF of
/// `ABOR\r\n`) out of the stream, and the line never ends. Inline, the
/// bytes arrive in order like any others.
#[cfg(unix)]
fn keep_urgent_data_inline(stream: &TcpStream) -> io::Result<()> {
    crate::sys::set_int_option(stream, libc::SOL_SOCKET, libc::SO_OOBINLINE, 1)
}

#[cfg(not(unix))]
fn keep_urgent_data_inline(_stream: &TcpStream) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_session_and_the_role() {
        for role in [Role::Control, Role::Passive, Role::Data] {
            assert_eq!(untoken(token(42, role)), Some((42, role)));
        }
        assert_eq!(untoken(Token(0)), None);
    }
}
