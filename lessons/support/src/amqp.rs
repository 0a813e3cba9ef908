//! Where RabbitMQ is, and connecting to it with an error a student can act on.

use std::str::FromStr;
use std::time::Duration;

use lapin::{Connection, ConnectionProperties, ErrorKind, uri::AMQPUri};

use crate::error::{Broker, ConnectError};

/// The address `just up` starts RabbitMQ on: user `guest`, password `guest`,
/// the default virtual host `/` (written `%2f` in a URL).
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// How long to wait for the broker to answer before giving up. Loopback
/// answers in microseconds; this only matters for a mistyped host.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `--url` flag every RabbitMQ binary takes. Flatten it into a clap
/// parser with `#[command(flatten)] amqp: AmqpArgs`.
#[derive(Debug, Clone, clap::Args)]
pub struct AmqpArgs {
    /// RabbitMQ address: amqp://USER:PASSWORD@HOST:PORT/VHOST (vhost `/` is `%2f`)
    #[arg(long = "url", env = "AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub url: String,
}

impl AmqpArgs {
    /// Connects to the address these arguments name. See [`connect`].
    pub async fn connect(&self) -> Result<Connection, ConnectError> {
        connect(&self.url).await
    }
}

/// Opens an AMQP connection to `url`.
///
/// Fails with a [`ConnectError`] that names the address (password hidden)
/// and tells what to do: start the broker, or fix the user and password.
pub async fn connect(url: &str) -> Result<Connection, ConnectError> {
    let shown = crate::redact(url);
    // Parse first, so a typo is reported as a typo and not as "unreachable".
    AMQPUri::from_str(url).map_err(|reason| ConnectError::BadUrl {
        broker: Broker::RabbitMq,
        url: shown.clone(),
        reason,
        example: DEFAULT_AMQP_URL,
    })?;
    let properties = ConnectionProperties::default();
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, properties)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(explain(error, shown)),
        Err(_elapsed) => Err(ConnectError::Unreachable {
            broker: Broker::RabbitMq,
            url: shown,
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// Sorts a lapin error into the cases a student can do something about.
fn explain(error: lapin::Error, url: String) -> ConnectError {
    let broker = Broker::RabbitMq;
    let reason = error.to_string();
    match error.kind() {
        ErrorKind::IOError(io) if is_unreachable(io.kind()) => ConnectError::Unreachable {
            broker,
            url,
            reason,
        },
        // 403 ACCESS_REFUSED: wrong user or password, or a user without
        // permissions on the virtual host.
        ErrorKind::ProtocolError(amqp) if amqp.get_id() == 403 => ConnectError::AuthRefused {
            broker,
            url,
            reason: amqp.get_message().to_string(),
        },
        _ => ConnectError::Other {
            broker,
            url,
            reason,
        },
    }
}

fn is_unreachable(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | TimedOut
            | HostUnreachable
            | NetworkUnreachable
            | AddrNotAvailable
    )
}
