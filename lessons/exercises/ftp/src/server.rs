//! Given: the event loop. One thread, one `mio::Poll`, every socket of
//! every client.
//!
//! `mio` registers sockets with the operating system's readiness queue
//! (epoll on Linux, kqueue on macOS) and `Poll::poll` returns the ones that
//! became ready. Each registration carries a `Token` saying whose socket it
//! is (see `session::token`):
//!
//! ```text
//!  Token(0)                  the server's listener: accept new clients
//!  token(id, Control)        session id's control connection
//!  token(id, Passive)        session id's passive port
//!  token(id, Data)           session id's data connection
//! ```
//!
//! Readiness in `mio` is *edge-triggered*: a socket is reported when it
//! becomes ready, not again while it stays ready. So every handler works
//! until the socket says `WouldBlock`, or, when it stops early to let the
//! others have a turn, puts its token on the `again` list, which the loop
//! serves without waiting for an event.

use std::collections::HashMap;
use std::io;
use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lesson_25_ftp::users::Users;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::CHUNK;
use crate::jail::Jail;
use crate::session::{self, Ctx, Role, Session, Status};

/// The token of the server's own listening socket.
const LISTENER: Token = Token(0);

/// What the server is told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The root every path resolves in.
    pub jail: Jail,
    /// Who may log in, and who may write.
    pub users: Users,
}

/// The server: the loop and everything it serves.
pub struct Server {
    poll: Poll,
    /// Where clients connect.
    listener: TcpListener,
    config: Config,
    /// Every open session, by id.
    sessions: HashMap<u64, Session>,
    /// The next session's id; ids are never reused.
    next_id: u64,
    /// The one chunk buffer all transfers share: one runs at a time.
    scratch: Vec<u8>,
    /// Sockets owed a turn without an event.
    again: Vec<Token>,
    /// Sockets owed a turn at a given time (an upload's grace period).
    timers: Vec<(Instant, Token)>,
}

impl Server {
    /// A server on an already-bound listener (tests bind `127.0.0.1:0`).
    pub fn new(listener: std::net::TcpListener, config: Config) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Server {
            poll,
            listener,
            config,
            sessions: HashMap::new(),
            next_id: 1,
            scratch: vec![0; CHUNK],
            again: Vec::new(),
            timers: Vec::new(),
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until an unrecoverable error: wait for readiness, handle each
    /// ready socket, then what is owed a turn.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            // With turns owed, only look at what is ready now; otherwise
            // sleep until something is, or until the next timer.
            let timeout = if self.again.is_empty() {
                self.timers
                    .iter()
                    .map(|(at, _)| at.saturating_duration_since(Instant::now()))
                    .min()
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                // A signal interrupted the wait: nothing is lost, wait again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            let owed = mem::take(&mut self.again);
            for event in events.iter() {
                self.dispatch(event.token(), now);
            }
            for token in owed {
                self.dispatch(token, now);
            }
            let (due, later) = mem::take(&mut self.timers)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            self.timers = later;
            for (_, token) in due {
                self.dispatch(token, now);
            }
        }
    }

    /// Sends one readiness (or owed turn) to whoever it is for.
    fn dispatch(&mut self, token: Token, now: Instant) {
        if token == LISTENER {
            return self.accept(now);
        }
        let Some((id, role)) = session::untoken(token) else {
            return;
        };
        // Gone already: an event queued before it closed.
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let mut ctx = Ctx {
            registry: self.poll.registry(),
            config: &self.config,
            scratch: &mut self.scratch,
            again: &mut self.again,
            timers: &mut self.timers,
            now,
        };
        let status = match role {
            Role::Control => session.on_control(&mut ctx),
            Role::Passive => session.on_passive(&mut ctx),
            Role::Data => session.on_data(&mut ctx),
        };
        if status == Status::Closed {
            if let Some(session) = self.sessions.remove(&id) {
                session.close(self.poll.registry());
                println!("[#{id}] closed ({} open)", self.sessions.len());
            }
        }
    }

    /// Accepts every client waiting.
    fn accept(&mut self, now: Instant) {
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    return;
                }
            };
            let id = self.next_id;
            self.next_id += 1;
            let mut ctx = Ctx {
                registry: self.poll.registry(),
                config: &self.config,
                scratch: &mut self.scratch,
                again: &mut self.again,
                timers: &mut self.timers,
                now,
            };
            match Session::new(id, stream, peer, &mut ctx) {
                Ok(session) => {
                    self.sessions.insert(id, session);
                }
                Err(e) => eprintln!("cannot set up a session for {peer}: {e}"),
            }
        }
    }
}
