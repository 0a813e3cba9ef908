//! The event loop: one thread, one `mio::Poll`, every socket of every
//! client.
//!
//! `mio` registers sockets with the operating system's readiness queue
//! (epoll on Linux, kqueue on the BSDs and macOS) and `Poll::poll` returns
//! the ones that became ready. Each registration carries a [`Token`]; ours
//! say which session and which of its sockets (see [`session::token`]):
//!
//! ```text
//!  Token(0)                  the server's listener: accept new clients
//!  token(id, Control)        session id's control connection
//!  token(id, Passive)        session id's passive port, waiting for its data connection
//!  token(id, Data)           session id's data connection
//! ```
//!
//! `mio` readiness is *edge-triggered*: a socket is reported when it
//! becomes ready, not again while it stays ready. So every handler works
//! until the socket says `WouldBlock` (then the next edge will come), or,
//! when it stops early to let others have a turn, puts its token on the
//! `again` list, which the loop serves without waiting for an event.

use std::collections::HashMap;
use std::io::{self, Write};
use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::CHUNK;
use crate::jail::Jail;
use crate::session::{self, Ctx, Role, Session, Status};
use crate::users::Users;

/// The token of the server's own listening socket.
const LISTENER: Token = Token(0);

/// How many sessions are served at once unless told otherwise. During an
/// upload a session holds five descriptors (control and data sockets, the
/// file, the two ends of a pipe): 200 fit the common 1024-descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 200;

/// Control connections idle this long are closed, unless told otherwise
/// (vsftpd's default too).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// What the server is told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The root every path resolves in.
    pub jail: Jail,
    /// Who may log in.
    pub users: Users,
    /// Sessions idle this long get 421 and are closed.
    pub idle_timeout: Duration,
    /// Past this many sessions, new clients get 421 and are closed.
    pub max_connections: usize,
    /// Print every command and reply.
    pub verbose: bool,
}

impl Config {
    /// The defaults for everything but the root and the accounts.
    pub fn new(jail: Jail, users: Users) -> Config {
        Config {
            jail,
            users,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            verbose: false,
        }
    }
}

// ANCHOR: server
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
    /// The one chunk buffer all transfers share: only one runs at a time.
    scratch: Vec<u8>,
    /// Sockets owed a turn without an event (they stopped early for
    /// fairness, or something they wait for happened inside the server).
    again: Vec<Token>,
    /// Sockets owed a turn at a given time (an upload's grace period).
    timers: Vec<(Instant, Token)>,
    /// When idle sessions were last looked for.
    last_sweep: Instant,
}
// ANCHOR_END: server

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
            last_sweep: Instant::now(),
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    // ANCHOR: run
    /// Serves until an unrecoverable error: wait for readiness, handle each
    /// ready socket, handle what is owed a turn, close idle sessions.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let tick =
            (self.config.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        loop {
            // With turns owed, only look at what is ready now; otherwise
            // sleep until something is, the next timer, or the idle check.
            let timeout = match (self.again.is_empty(), self.next_timer()) {
                (false, _) => Duration::ZERO,
                (true, Some(at)) => at.saturating_duration_since(Instant::now()).min(tick),
                (true, None) => tick,
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                // A signal cut the wait short (even Ctrl-Z then `fg` does):
                // the turns owed are still on the list, wait again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Taken only now, so that an interrupted wait loses none.
            let owed = mem::take(&mut self.again);
            let now = Instant::now();
            for event in events.iter() {
                self.dispatch(event.token(), now);
            }
            for token in owed {
                self.dispatch(token, now);
            }
            for token in self.due_timers(now) {
                self.dispatch(token, now);
            }
            if now.duration_since(self.last_sweep) >= tick {
                self.last_sweep = now;
                self.close_idle(now);
                // An accept that failed (out of descriptors) left clients
                // waiting with no new edge to come: try again each tick.
                self.accept(now);
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    /// Removes and returns the timers that are due.
    fn due_timers(&mut self, now: Instant) -> Vec<Token> {
        let (due, later) = self.timers.drain(..).partition(|(at, _)| *at <= now);
        self.timers = later;
        due.into_iter().map(|(_, token)| token).collect::<Vec<_>>()
    }

    /// Sends one readiness (or owed turn) to whoever it is for. The handler
    /// does not need to know whether the socket is readable or writable:
    /// it tries what it needs, and `WouldBlock` tells it what is not ready.
    fn dispatch(&mut self, token: Token, now: Instant) {
        if token == LISTENER {
            return self.accept(now);
        }
        let Some((id, role)) = session::untoken(token) else {
            return;
        };
        // Gone already: an event that was queued before it closed.
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
            self.close(id);
        }
    }
    // ANCHOR_END: run

    // ANCHOR: accept
    /// Accepts every client waiting, up to the connection limit.
    fn accept(&mut self, now: Instant) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    return;
                }
            };
            if self.sessions.len() >= self.config.max_connections {
                // A fresh socket's send buffer is empty, so this short
                // reply goes out at once, without blocking.
                let text = format!(
                    "421 Too many connections ({} is the limit), try again later\r\n",
                    self.config.max_connections
                );
                let _ = stream.write(text.as_bytes());
                println!("refused {peer}: {} open already", self.sessions.len());
                continue;
            }
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
                Err(e) => tracing::warn!("cannot set up a session for {peer}: {e}"),
            }
        }
    }
    // ANCHOR_END: accept

    /// Closes sessions idle longer than the timeout, with a 421.
    fn close_idle(&mut self, now: Instant) {
        let timeout = self.config.idle_timeout;
        let idle: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, session)| now.duration_since(session.last_active) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            if let Some(session) = self.sessions.get_mut(&id) {
                session.time_out(timeout);
                println!("[#{id}] idle for {} s", timeout.as_secs_f64());
            }
            self.close(id);
        }
    }

    fn close(&mut self, id: u64) {
        if let Some(session) = self.sessions.remove(&id) {
            session.close(self.poll.registry());
            println!("[#{id}] closed ({} open)", self.sessions.len());
        }
    }
}
