//! Where Redis is, and connecting to it with an error a student can act on.

use redis::{Client, ErrorKind, RedisError};

use crate::error::{Broker, ConnectError};

/// The address `just up` starts Redis on: database 0, no password.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";

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
    let url = crate::redact(url);
    let reason = error.to_string();
    if error.is_connection_refusal() || error.is_timeout() || error.is_io_error() {
        ConnectError::Unreachable {
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
