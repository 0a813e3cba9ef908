//! Given: one client's session, its sockets, and where it stands.
//!
//! A session is a state machine. Nothing in it ever waits: the event loop
//! (`server.rs`) calls [`Session::on_control`], [`Session::on_passive`] or
//! [`Session::on_data`] when one of the session's sockets is ready; the
//! method does what can be done *now* (read the commands that arrived,
//! write what the socket takes, move the next chunks of a file) and
//! returns. What must be remembered until the next call is in the fields.
//!
//! Your code is called from [`Session::on_control`]: one
//! `commands::execute` per command line. It answers with
//! [`Session::reply`], opens data ports with [`Session::open_passive`] and
//! starts transfers with [`Session::send_file`], [`Session::send_listing`]
//! and [`Session::receive_file`].
//!
//! The data connection goes through these states:
//!
//! ```text
//!  None ─PASV/EPSV─▶ Listening ─client connects─▶ Connected
//!                        │                            │
//!                RETR/STOR/LIST, 150          RETR/STOR/LIST, 150
//!                        ▼                            ▼
//!                     Waiting ──client connects──▶ Transferring ─226─▶ None
//!                                                     │
//!                                       upload's end of file
//!                                                     ▼
//!                                  Settling ─20 ms, client still there: commit, 226─▶ None
//! ```
//!
//! Clients open the data connection before sending RETR (curl, ftplib) or
//! after it; both orders meet in `Transferring`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lesson_25_ftp::cmd::{self, Command};
use lesson_25_ftp::line::{Line, LineReader, MAX_LINE};
use lesson_25_ftp::reply::Reply;
use lesson_25_ftp::users::Login;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use crate::CHUNK;
use crate::commands;
use crate::part_file::PartFile;
use crate::server::Config;

/// The most bytes read from a control connection at once: commands are
/// short.
const CONTROL_READ: usize = 4 * 1024;

/// Stop running commands while this much reply text waits to be sent: a
/// client that sends commands without reading the replies gets no more
/// service (and costs no more memory) until it reads.
const OUTBOX_LIMIT: usize = 64 * 1024;

/// Commands run per turn before the loop serves the other sessions.
const COMMANDS_PER_TURN: usize = 32;

/// The most bytes a transfer moves per turn before the loop serves the
/// other sessions: one fast client must not starve the rest.
const TURN: usize = 4 * CHUNK;

/// How long a finished upload waits before it is committed, to tell a
/// client that finished from one that was killed (see `end_of_data`).
const UPLOAD_GRACE: Duration = Duration::from_millis(20);

/// Which of a session's sockets an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The control connection: commands in, replies out.
    Control = 1,
    /// The passive port the client connects its data connection to.
    Passive = 2,
    /// The data connection: file contents and listings.
    Data = 3,
}

/// The token of one socket of session `id`: the id in the high bits, the
/// role in the low two. Ids are never reused, so an event for a session
/// that has closed finds nothing rather than a stranger.
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

/// What a handler needs from the loop.
pub struct Ctx<'a> {
    /// To register and deregister sockets with the loop.
    pub registry: &'a Registry,
    /// The jail and the accounts.
    pub config: &'a Config,
    /// The one chunk buffer every transfer shares (the loop runs one
    /// handler at a time, so one buffer is enough).
    pub scratch: &'a mut [u8],
    /// Sockets owed another turn without waiting for an event.
    pub again: &'a mut Vec<Token>,
    /// Sockets owed a turn at a given time.
    pub timers: &'a mut Vec<(Instant, Token)>,
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
    /// The last reply (221) is queued: close once it is sent.
    Closing,
}
// ANCHOR_END: phase

/// The data connection, from PASV/EPSV to the end of a transfer.
#[derive(Debug, Default)]
enum Data {
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
    /// An upload's data connection has ended; it is committed when the
    /// grace period ending at the `Instant` is over.
    Settling(Transfer, Instant),
}

/// A transfer that was asked for.
#[derive(Debug)]
struct Transfer {
    job: Job,
    /// `RETR /docs/a.txt`: for the log line at the end.
    what: String,
    /// Bytes moved so far.
    moved: u64,
    started: Instant,
}

/// Which way the bytes go.
#[derive(Debug)]
enum Job {
    /// To the client, from `offset` on. The source itself is the buffer:
    /// each turn reads the next chunk at `offset` and writes what the
    /// socket takes; what it did not take is read again next time.
    Send { source: Source, offset: u64 },
    /// From the client, into a part file.
    Receive(PartFile),
}

/// What a download sends.
#[derive(Debug)]
enum Source {
    File(File),
    /// A listing, rendered in memory.
    Text(Vec<u8>),
}

impl Source {
    /// Reads up to `buf.len()` bytes at `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            Source::File(file) => std::os::unix::fs::FileExt::read_at(file, buf, offset),
            Source::Text(text) => {
                let rest = text.get(offset as usize..).unwrap_or_default();
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                Ok(n)
            }
        }
    }
}

/// Where a transfer stands after its turn.
enum Progress {
    /// The socket would block: wait for the loop to report it ready.
    Blocked,
    /// The turn's budget is spent but the socket may still be ready: the
    /// loop must come back without waiting for an event (mio reports a
    /// socket when it *becomes* ready, not again while it stays ready).
    Again,
    /// All sent, or the client has sent everything (end of file).
    Done,
}

/// Why a transfer stopped early: the client is told 426 for the network,
/// 451 for the disk.
enum TransferError {
    Network(io::Error),
    Disk(io::Error),
}

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
    /// A command that arrived during a transfer: it waits for the end.
    held: Option<Result<Command, cmd::ParseError>>,
    pub phase: Phase,
    data: Data,
    /// The current directory, a clean path in the client's tree (`/` is
    /// the root).
    pub cwd: String,
}

impl Session {
    /// A session for a freshly accepted control connection: registered with
    /// the loop, its 220 greeting queued.
    pub fn new(
        id: u64,
        mut control: TcpStream,
        peer: SocketAddr,
        ctx: &mut Ctx,
    ) -> io::Result<Session> {
        let local = control.local_addr()?;
        // Replies are small and each one is awaited: don't let Nagle's
        // algorithm hold one back.
        control.set_nodelay(true)?;
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
        };
        println!("[#{id}] {peer} connected");
        session.reply(Reply::new(220, "exercise-25 FTP server ready"));
        ctx.again.push(token(id, Role::Control));
        Ok(session)
    }

    // ANCHOR: api
    /// Queues a reply; it is written when the control socket takes it.
    pub fn reply(&mut self, reply: Reply) {
        reply.write_to(&mut self.outbox);
    }

    /// The login, once logged in.
    pub fn login(&self) -> Option<&Login> {
        match &self.phase {
            Phase::LoggedIn(login) => Some(login),
            _ => None,
        }
    }

    /// Opens a passive port on the address the client reached us on
    /// (replacing any data connection offered before) and returns its
    /// address. The client's next data connection comes there.
    pub fn open_passive(&mut self, ctx: &mut Ctx) -> io::Result<SocketAddr> {
        self.close_data(ctx.registry);
        let mut listener = TcpListener::bind(SocketAddr::new(self.local.ip(), 0))?;
        ctx.registry.register(
            &mut listener,
            token(self.id, Role::Passive),
            Interest::READABLE,
        )?;
        let addr = listener.local_addr()?;
        self.data = Data::Listening(listener);
        Ok(addr)
    }

    /// Sends `file` over the data connection (RETR). `target` is the
    /// client's path, for the 150 reply and the log.
    pub fn send_file(&mut self, ctx: &mut Ctx, file: File, target: &str) {
        let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        let job = Job::Send {
            source: Source::File(file),
            offset: 0,
        };
        let message = format!("Opening data connection for {target} ({size} bytes)");
        self.start_transfer(ctx, job, format!("RETR {target}"), &message);
    }

    /// Sends a listing over the data connection (LIST).
    pub fn send_listing(&mut self, ctx: &mut Ctx, text: Vec<u8>, target: &str) {
        let job = Job::Send {
            source: Source::Text(text),
            offset: 0,
        };
        self.start_transfer(ctx, job, format!("LIST {target}"), "Here comes the listing");
    }

    /// Receives the client's bytes into `part` (STOR), and commits it when
    /// the client has sent everything.
    pub fn receive_file(&mut self, ctx: &mut Ctx, part: PartFile, target: &str) {
        self.start_transfer(
            ctx,
            Job::Receive(part),
            format!("STOR {target}"),
            "Ok to send data",
        );
    }
    // ANCHOR_END: api

    /// Whether a transfer is running (so other commands wait for its end).
    fn transferring(&self) -> bool {
        matches!(
            self.data,
            Data::Waiting(..) | Data::Transferring(..) | Data::Settling(..)
        )
    }

    /// Starts `job` on the data connection PASV/EPSV offered: 150 now, 226
    /// when it is done. If the client is already connected the data socket
    /// gets a turn at once; otherwise the transfer waits for it.
    fn start_transfer(&mut self, ctx: &mut Ctx, job: Job, what: String, message: &str) {
        let transfer = Transfer {
            job,
            what,
            moved: 0,
            started: ctx.now,
        };
        self.data = match mem::take(&mut self.data) {
            Data::Listening(listener) => Data::Waiting(listener, transfer),
            Data::Connected(stream) => {
                ctx.again.push(token(self.id, Role::Data));
                Data::Transferring(stream, transfer)
            }
            // No data connection offered: the transfer is dropped here (an
            // upload's part file with it).
            other => {
                self.data = other;
                return self.reply(Reply::new(425, "Use PASV or EPSV first"));
            }
        };
        self.reply(Reply::new(150, message));
    }

    // ANCHOR: on_control
    /// The control socket is ready (to read, to write, or both), or the
    /// loop owes it a turn. Sends queued replies, then reads and runs
    /// commands until the socket has no more, the turn is used up, or a
    /// transfer is running (then only ABOR acts; other commands wait).
    pub fn on_control(&mut self, ctx: &mut Ctx) -> Status {
        if self.flush().is_err() {
            return Status::Closed;
        }
        let mut budget = COMMANDS_PER_TURN;
        while !matches!(self.phase, Phase::Closing) && self.backlog() < OUTBOX_LIMIT {
            if self.held.is_some() && self.transferring() {
                break; // the end of the transfer brings us back
            }
            if budget == 0 {
                ctx.again.push(token(self.id, Role::Control));
                break;
            }
            let parsed = match self.held.take() {
                Some(parsed) => parsed,
                None => match self.lines.next_line() {
                    Some(Line::Complete(line)) => cmd::parse(&line),
                    Some(Line::TooLong) => {
                        let text = format!("Command line too long (the limit is {MAX_LINE} bytes)");
                        self.reply(Reply::new(500, text));
                        continue;
                    }
                    None => match self.read_control(ctx) {
                        Ok(true) => continue,
                        Ok(false) => break,
                        // The client closed or reset its control connection:
                        // whatever it was doing ends here.
                        Err(_) => return Status::Closed,
                    },
                },
            };
            budget -= 1;
            match parsed {
                // ABOR is about the data connection, so it is handled here.
                Ok(Command::Abor) => self.abort(ctx),
                parsed if self.transferring() => {
                    self.held = Some(parsed);
                    break;
                }
                Ok(command) => commands::execute(self, ctx, command),
                Err(error) => self.reply(error.reply()),
            }
        }
        self.settle()
    }
    // ANCHOR_END: on_control

    /// Reads what has arrived on the control connection. `Ok(true)`: got
    /// bytes; `Ok(false)`: nothing more for now; `Err`: closed or broken.
    fn read_control(&mut self, ctx: &mut Ctx) -> io::Result<bool> {
        let buffer = &mut ctx.scratch[..CONTROL_READ];
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
        if matches!(self.phase, Phase::Closing) && self.backlog() == 0 {
            return Status::Closed;
        }
        Status::Open
    }

    /// The passive port is ready: the client is connecting its data
    /// connection. One connection is taken, and only from the client's own
    /// IP address: anyone else who found the port is turned away.
    pub fn on_passive(&mut self, ctx: &mut Ctx) -> Status {
        loop {
            let listener = match &self.data {
                Data::Listening(listener) | Data::Waiting(listener, _) => listener,
                _ => return Status::Open,
            };
            let mut stream = match listener.accept() {
                Ok((stream, from)) if from.ip() == self.peer.ip() => stream,
                Ok(_) => continue, // a stranger: drop it, keep listening
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Status::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.fail_data(ctx, 425, "Cannot open the data connection");
                    return self.settle();
                }
            };
            let registered = ctx.registry.register(
                &mut stream,
                token(self.id, Role::Data),
                Interest::READABLE | Interest::WRITABLE,
            );
            if registered.is_err() {
                self.fail_data(ctx, 425, "Cannot open the data connection");
                return self.settle();
            }
            // One data connection per PASV: the port has done its job.
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

    /// The data connection is ready, the loop owes it a turn, or a
    /// finished upload's grace period is over.
    pub fn on_data(&mut self, ctx: &mut Ctx) -> Status {
        let (stream, transfer) = match &mut self.data {
            Data::Transferring(stream, transfer) => (stream, transfer),
            Data::Settling(_, until) if ctx.now >= *until => return self.finish_upload(ctx),
            _ => return Status::Open, // connected but no command yet, or settling
        };
        match transfer.run(stream, ctx.scratch) {
            Ok(Progress::Blocked) => Status::Open,
            Ok(Progress::Again) => {
                ctx.again.push(token(self.id, Role::Data));
                Status::Open
            }
            Ok(Progress::Done) => self.end_of_data(ctx),
            Err(TransferError::Network(e)) => {
                self.fail_data(
                    ctx,
                    426,
                    &format!("Data connection lost ({e}); transfer aborted"),
                );
                self.settle()
            }
            Err(TransferError::Disk(e)) => {
                self.fail_data(ctx, 451, &format!("Local error: {e}"));
                self.settle()
            }
        }
    }

    /// The data connection reached its end. For a download, closing it is
    /// the client's end-of-file mark: done, 226. For an upload the client
    /// closed it, and there FTP is ambiguous: a client that sent its last
    /// byte closes the data connection, and so does a client that is
    /// killed half way (its kernel closes its sockets). The difference
    /// shows a moment later, when a killed client's control connection
    /// closes too. So an upload settles for `UPLOAD_GRACE` first.
    fn end_of_data(&mut self, ctx: &mut Ctx) -> Status {
        let Data::Transferring(mut stream, transfer) = mem::take(&mut self.data) else {
            return Status::Open;
        };
        let _ = ctx.registry.deregister(&mut stream);
        drop(stream);
        if matches!(transfer.job, Job::Receive(_)) {
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

    /// An upload's grace period is over: if the client is still there,
    /// commit the part file and say 226; if it vanished, drop the upload
    /// (and with it the part file) and the session.
    fn finish_upload(&mut self, ctx: &mut Ctx) -> Status {
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
        let Job::Receive(part) = transfer.job else {
            return Status::Open;
        };
        match part.commit() {
            Ok(()) => self.reply(Reply::new(226, "Transfer complete")),
            Err(e) => self.reply(Reply::new(451, format!("Could not store the file: {e}"))),
        }
        self.settle()
    }

    fn log_transfer(&self, transfer: &Transfer) {
        let secs = transfer.started.elapsed().as_secs_f64();
        println!(
            "[#{}] {}: {} bytes in {secs:.3} s",
            self.id, transfer.what, transfer.moved
        );
    }

    /// ABOR (RFC 959, 4.1.3): 426 for the transfer cut short, then 226 for
    /// the ABOR itself; with no transfer running, 225.
    fn abort(&mut self, ctx: &mut Ctx) {
        if self.transferring() {
            self.fail_data(ctx, 426, "Transfer aborted");
            self.reply(Reply::new(226, "ABOR successful"));
        } else {
            self.close_data(ctx.registry);
            self.reply(Reply::new(225, "No transfer to abort"));
        }
    }

    /// Ends the data connection and any transfer on it (an upload's part
    /// file is dropped with it), replying `code` if a transfer was running.
    fn fail_data(&mut self, ctx: &mut Ctx, code: u16, text: &str) {
        let had_transfer = self.transferring();
        self.close_data(ctx.registry);
        if had_transfer {
            self.reply(Reply::new(code, text));
            ctx.again.push(token(self.id, Role::Control));
        }
    }

    /// Closes whatever data connection or passive port is open.
    fn close_data(&mut self, registry: &Registry) {
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

    /// Deregisters every socket; dropping the session then closes them
    /// (and drops an unfinished upload's part file).
    pub fn close(mut self, registry: &Registry) {
        self.close_data(registry);
        let _ = registry.deregister(&mut self.control);
    }
}

impl Transfer {
    /// Moves the next chunks, up to one turn's worth.
    fn run(
        &mut self,
        stream: &mut TcpStream,
        scratch: &mut [u8],
    ) -> Result<Progress, TransferError> {
        let mut budget = TURN;
        while budget > 0 {
            let moved = match &mut self.job {
                Job::Send { source, offset } => {
                    let read = source
                        .read_at(&mut scratch[..CHUNK], *offset)
                        .map_err(TransferError::Disk)?;
                    if read == 0 {
                        return Ok(Progress::Done);
                    }
                    match stream.write(&scratch[..read]) {
                        Ok(0) => {
                            let closed = io::Error::from(io::ErrorKind::WriteZero);
                            return Err(TransferError::Network(closed));
                        }
                        Ok(n) => {
                            *offset += n as u64;
                            n
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Ok(Progress::Blocked);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(TransferError::Network(e)),
                    }
                }
                Job::Receive(part) => match stream.read(&mut scratch[..CHUNK]) {
                    // End of file: in stream mode, the client closing the
                    // data connection is how it says "that was all".
                    Ok(0) => return Ok(Progress::Done),
                    Ok(n) => {
                        part.write(&scratch[..n]).map_err(TransferError::Disk)?;
                        n
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(Progress::Blocked);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(TransferError::Network(e)),
                },
            };
            self.moved += moved as u64;
            budget = budget.saturating_sub(moved);
        }
        Ok(Progress::Again)
    }
}
