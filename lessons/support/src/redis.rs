//! Where Redis is, and connecting to it with an error a student can act on.
//!
//! Besides the address ([`RedisArgs`]) and the connection ([`connect`]), the
//! Redis lessons share three small tools, each in its own file:
//!
//! - [`Echo`]: a connection that prints each command and reply the way
//!   `redis-cli` does, so a lesson's output reads like a redis-cli session;
//! - [`KeySpace`]: the key prefix a run owns, claimed at the start and
//!   cleaned up at the end ([`KeyArgs`] gives binaries `--prefix`/`--clean`);
//! - [`Error`]: what a Redis lesson can fail with, with messages that say
//!   what to do (a stopped server, WRONGTYPE, a prefix already in use).
//!
//! [`run_lesson`] puts them together for the command-tour binaries.

mod echo;
mod keyspace;

use redis::{Client, ErrorKind, RedisError};

use crate::error::{Broker, ConnectError};

pub use crate::COURSE_REDIS_PASSWORD;
pub use echo::{Echo, Exchange, Transcript};
pub use keyspace::{KeySpace, PrefixInUse};

/// The address `just up` starts Redis on: database 0, with the course's
/// password ([`COURSE_REDIS_PASSWORD`]).
pub const DEFAULT_REDIS_URL: &str = "redis://:course-redis@127.0.0.1:6379/";

/// The `--url` flag every Redis binary takes. Flatten it into a clap parser
/// with `#[command(flatten)] redis: RedisArgs`.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisArgs {
    /// Redis address: redis://[:PASSWORD@]HOST:PORT/DB
    #[arg(long = "url", env = "REDIS_URL", default_value = DEFAULT_REDIS_URL)]
    pub url: String,
}

impl RedisArgs {
    /// A client for this address, without connecting yet. See [`client`].
    pub fn client(&self) -> Result<Client, ConnectError> {
        client(&self.url)
    }

    /// One blocking connection. See [`connect`].
    pub fn connect(&self) -> Result<redis::Connection, ConnectError> {
        connect(&self.url)
    }

    /// One async connection for tokio. See [`connect_async`].
    pub async fn connect_async(&self) -> Result<redis::aio::MultiplexedConnection, ConnectError> {
        connect_async(&self.url).await
    }
}

// ANCHOR: connect
/// Parses `url` into a client. Nothing is sent yet: a client is only an
/// address, which pools and pub/sub build their connections from.
pub fn client(url: &str) -> Result<Client, ConnectError> {
    Client::open(url).map_err(|error| ConnectError::BadUrl {
        broker: Broker::Redis,
        url: crate::redact(url),
        reason: error.to_string(),
        example: DEFAULT_REDIS_URL,
    })
}

/// Opens one blocking connection to `url` and checks it with a PING.
pub fn connect(url: &str) -> Result<redis::Connection, ConnectError> {
    let mut connection = client(url)?.get_connection().map_err(|e| explain(e, url))?;
    redis::cmd("PING")
        .query::<String>(&mut connection)
        .map_err(|e| explain(e, url))?;
    Ok(connection)
}
// ANCHOR_END: connect

/// Opens one async (tokio) connection to `url` and checks it with a PING.
pub async fn connect_async(url: &str) -> Result<redis::aio::MultiplexedConnection, ConnectError> {
    let mut connection = client(url)?
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| explain(e, url))?;
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map_err(|e| explain(e, url))?;
    Ok(connection)
}

/// Sorts a redis error into the cases a student can do something about.
/// Public so that lessons building their own connections (pools, pub/sub)
/// report failures the same way.
pub fn explain(error: RedisError, url: &str) -> ConnectError {
    let broker = Broker::Redis;
    let open = matches!(error.kind(), ErrorKind::AuthenticationFailed) && has_no_password(url);
    let without = without_password(url);
    let url = crate::redact(url);
    let reason = error.to_string();
    if error.is_connection_refusal() || error.is_timeout() || error.is_io_error() {
        ConnectError::Unreachable {
            broker,
            url,
            reason,
        }
    } else if open {
        // A server of the student's own, not the one `just up` starts.
        ConnectError::NoPasswordOnServer { url, without }
    } else if error.kind() == ErrorKind::Parse {
        // The reply was not RESP at all: another service on that port
        // (RabbitMQ answers anything with its own protocol header).
        ConnectError::WrongProtocol {
            broker,
            url,
            reason,
        }
    } else if matches!(error.kind(), ErrorKind::AuthenticationFailed)
        || error.code() == Some("NOAUTH")
        || error.code() == Some("WRONGPASS")
    {
        ConnectError::AuthRefused {
            broker,
            url,
            reason,
        }
    } else {
        ConnectError::Other {
            broker,
            url,
            reason,
        }
    }
}

/// Whether the Redis at `url` answers without a password. The client says
/// only "authentication failed" when `AUTH` is refused, whatever the reason
/// (Redis itself says "called without any password configured" to an `AUTH`
/// it does not need), so this asks the server directly: a `PING` that gets
/// `PONG` instead of `NOAUTH` means there is no password to give.
fn has_no_password(url: &str) -> bool {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let Ok(client) = Client::open(url) else {
        return false;
    };
    let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr() else {
        return false;
    };
    let ask = || -> std::io::Result<bool> {
        let addr = (host.as_str(), *port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0u8; 8];
        let n = stream.read(&mut reply)?;
        Ok(reply[..n].starts_with(b"+PONG"))
    };
    ask().unwrap_or(false)
}

/// `url` with the user and password taken out: `redis://:pw@host:6379/0`
/// becomes `redis://host:6379/0`.
fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// The `--prefix` and `--clean` flags of a lesson that writes keys. Flatten
/// it next to [`RedisArgs`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Put every key this run makes under PREFIX: (default: the lesson's
    /// own, e.g. lesson17)
    #[arg(long, env = "REDIS_PREFIX")]
    pub prefix: Option<String>,
    /// Delete keys an interrupted run left under the prefix, then start
    #[arg(long)]
    pub clean: bool,
}

impl KeyArgs {
    /// The key space to use: `--prefix`, or the lesson's `default`.
    pub fn key_space(&self, default: &str) -> KeySpace {
        KeySpace::new(self.prefix.as_deref().unwrap_or(default))
    }
}

/// What a Redis lesson can fail with, each with a message a student can act
/// on. Lesson code returns `redis::RedisResult`; binaries convert with `?`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection: wrong URL, server down, password refused.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Keys from somewhere else are in the way (see [`KeySpace::claim`]).
    #[error(transparent)]
    PrefixInUse(#[from] PrefixInUse),
    /// A command failed: the server said no, or the connection broke.
    #[error("{}", describe(.0))]
    Command(#[from] RedisError),
}

// ANCHOR: describe
/// A command error in words: WRONGTYPE and a lost connection get an
/// explanation, anything else is shown as Redis (or the crate) said it.
///
/// WRONGTYPE is the error students meet most: every key holds exactly one
/// type of value, and a command for another type is refused rather than
/// converting anything.
pub fn describe(error: &RedisError) -> String {
    // A server error reads best the way redis-cli shows it: CODE detail.
    let said = match (error.code(), error.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => error.to_string(),
    };
    if error.code() == Some("WRONGTYPE") {
        format!(
            "Redis refused the command: {said}\n  \
             The key already holds a different type of value (string, list, hash, set or \
             sorted set) from the one this command works on, and Redis never converts \
             between types.\n  \
             Look with `TYPE <key>`, then use a command for that type, or another key."
        )
    } else if error.is_io_error() || error.is_connection_dropped() {
        format!(
            "lost the connection to Redis: {error}\n  Is it still running? {}",
            crate::START_HINT
        )
    } else if error.code().is_some() {
        format!("Redis refused the command: {said}")
    } else {
        // Not the server's answer: the client could not use it (a reply of
        // an unexpected shape) or gave up (a lesson's own timeout).
        error.to_string()
    }
}
// ANCHOR_END: describe

// ANCHOR: run_lesson
/// Runs a lesson (16 to 23) the way each of their binaries does:
/// connect to `redis`, claim the key space, run `tour` on a connection that
/// prints each command and reply, and delete the run's keys afterwards, also
/// when the tour failed half way.
pub fn run_lesson(
    redis: &RedisArgs,
    keys: &KeyArgs,
    default_prefix: &str,
    tour: impl FnOnce(&mut Echo, &KeySpace) -> redis::RedisResult<()>,
) -> Result<(), Error> {
    let mut con = redis.connect()?;
    let space = keys.key_space(default_prefix);
    let removed = space.claim(&mut con, keys.clean)?;
    if removed > 0 {
        say(&format!(
            "(--clean: deleted {removed} key(s) left under {}:)",
            space.prefix()
        ));
    }
    let mut echo = Echo::new(con);
    let outcome = tour(&mut echo, &space);
    let con = echo.get_mut();
    let cleaned = space.cleanup(con);
    outcome?;
    let cleaned = cleaned?;
    say(&format!(
        "\n(cleaned up: deleted the {cleaned} key(s) this run left under {}:)",
        space.prefix()
    ));
    Ok(())
}
// ANCHOR_END: run_lesson

/// Prints a line to stdout, ignoring a closed pipe (`... | head`): a lesson
/// that is cut short must still get to delete its keys.
pub fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_password_comes_out_of_a_url_and_nothing_else() {
        assert_eq!(
            without_password("redis://:course-redis@127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/"
        );
        assert_eq!(
            without_password("redis://u:p@w@host:1/2"),
            "redis://host:1/2"
        );
        assert_eq!(without_password("redis://host/"), "redis://host/");
    }
}
