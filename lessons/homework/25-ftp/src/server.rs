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
use crate::guard::Guard;
use crate::jail::Jail;
use crate::session::{self, Ctx, Role, Session, Status};
use crate::users::Users;

/// The token of the server's own listening socket.
const LISTENER: Token = Token(0);

/// How many sessions are served at once unless told otherwise. During an
/// upload a session holds six descriptors (control and data sockets, the
/// file, its directory, the two ends of a pipe): 200 fit the common
/// 1024-descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 200;

/// A client that has not logged in this long after connecting is closed,
/// unless told otherwise; NOOP and friends do not extend it.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Past this many sessions from one address (see [`crate::guard`]),
    /// its new clients get 421; `None`: half of `max_connections`.
    pub max_per_address: Option<usize>,
    /// Sessions not logged in this long after connecting get 421.
    pub login_timeout: Duration,
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
            max_per_address: None,
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
            verbose: false,
        }
    }

    /// How many sessions one address may hold.
    pub fn per_address_limit(&self) -> usize {
        self.max_per_address
            .unwrap_or(self.max_connections / 2)
            .max(1)
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
    /// Sockets owed a turn at a given time (an upload's grace period, a
    /// delayed answer to a password).
    timers: Vec<(Instant, Token)>,
    /// Connections and wrong passwords per client address.
    guard: Guard,
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
            guard: Guard::default(),
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
        self.sweep_part_files();
        let mut events = Events::with_capacity(1024);
        let shortest = self.config.idle_timeout.min(self.config.login_timeout);
        let tick = (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
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
            // Taken only now, so that an interrupted wait loses none. A
            // socket owed a turn twice (its event came too) gets one: else
            // a busy one would collect more turns each time round.
            let mut owed = mem::take(&mut self.again);
            owed.sort_unstable_by_key(|token| token.0);
            owed.dedup();
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
                self.guard.forget_old(now);
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
            guard: &mut self.guard,
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
            let limit = self.config.per_address_limit();
            if !self.guard.admit(peer.ip(), limit) {
                let text = format!(
                    "421 Too many connections from your address ({limit} is the limit), \
                     try again later\r\n"
                );
                let _ = stream.write(text.as_bytes());
                println!("refused {peer}: its address holds {limit} connections already");
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
                guard: &mut self.guard,
                now,
            };
            match Session::new(id, stream, peer, &mut ctx) {
                Ok(session) => {
                    self.sessions.insert(id, session);
                }
                Err(e) => {
                    self.guard.leave(peer.ip());
                    tracing::warn!("cannot set up a session for {peer}: {e}");
                }
            }
        }
    }
    // ANCHOR_END: accept

    // ANCHOR: close_idle
    /// Closes, with a 421, sessions idle longer than the idle timeout, and
    /// sessions not logged in within the login timeout of connecting,
    /// however busy they keep (NOOP, HELP, wrong passwords).
    fn close_idle(&mut self, now: Instant) {
        let (idle, login) = (self.config.idle_timeout, self.config.login_timeout);
        let mut late: Vec<(u64, String)> = Vec::new();
        for (id, session) in &self.sessions {
            if session.login().is_none() && now.duration_since(session.connected) >= login {
                late.push((
                    *id,
                    format!("Not logged in within {} s", login.as_secs_f64()),
                ));
            } else if now.duration_since(session.last_active) >= idle {
                late.push((*id, format!("Idle for {} s", idle.as_secs_f64())));
            }
        }
        for (id, why) in late {
            if let Some(session) = self.sessions.get_mut(&id) {
                session.time_out(&why);
                println!("[#{id}] {why}: closed");
            }
            self.close(id);
        }
    }
    // ANCHOR_END: close_idle

    /// Deletes the part files a crashed server left (see
    /// [`Jail::sweep_part_files`]) and says how many.
    fn sweep_part_files(&self) {
        match self.config.jail.sweep_part_files(self.config.idle_timeout) {
            Ok(0) => {}
            Ok(swept) => println!("swept {swept} stale part file(s) left by an earlier run"),
            Err(e) => tracing::warn!("could not look for stale part files: {e}"),
        }
    }

    fn close(&mut self, id: u64) {
        if let Some(session) = self.sessions.remove(&id) {
            self.guard.leave(session.peer.ip());
            session.close(self.poll.registry());
            println!("[#{id}] closed ({} open)", self.sessions.len());
        }
    }
}
