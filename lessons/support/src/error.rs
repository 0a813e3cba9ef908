//! One error type for "could not talk to the broker", with messages a student
//! can act on.

use std::fmt;

/// Why a lesson could not connect to its broker.
///
/// Every variant carries the address that was tried, with the password
/// replaced by `***` (see [`redact`]), because "connection refused" alone
/// does not say *where*.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL itself is malformed: nothing was sent anywhere.
    #[error("`{url}` is not a valid {broker} URL: {reason}\n  Expected a URL like {example}")]
    BadUrl {
        broker: Broker,
        url: String,
        reason: String,
        example: &'static str,
    },

    /// Nothing answered at that address (refused, timed out, unreachable).
    #[error(
        "could not reach {broker} at {url}: {reason}\n  Is it running? {hint}",
        hint = crate::START_HINT
    )]
    Unreachable {
        broker: Broker,
        url: String,
        reason: String,
    },

    /// The broker answered but refused the user name or password.
    #[error(
        "{broker} at {url} refused the login: {reason}\n  {hint}",
        hint = broker.login_hint()
    )]
    AuthRefused {
        broker: Broker,
        url: String,
        reason: String,
    },

    /// The login worked, but the user has no permissions on the virtual host
    /// in the URL (RabbitMQ's 530 NOT_ALLOWED): `add_user` without
    /// `set_permissions`.
    #[error(
        "{broker} at {url} let the user in, but not into this virtual host: {reason}\n  \
         Check the virtual host at the end of the URL (`%2f` is `/`), and grant the user\n  \
         rights on it: `rabbitmqctl set_permissions -p / USER '.*' '.*' '.*'`\n  \
         (`just rabbitmqctl set_permissions ...` for the course broker)."
    )]
    VhostRefused {
        broker: Broker,
        url: String,
        reason: String,
    },

    /// Something answered at that address, but not in the broker's protocol:
    /// typically the other broker's port (Redis on 6379, RabbitMQ on 5672).
    #[error(
        "something answered at {url}, but it does not speak the {broker} protocol: {reason}\n  \
         Is the port right? {broker} listens on {port} unless told otherwise \
         ({other} on {other_port}).",
        port = broker.default_port(),
        other = broker.other(),
        other_port = broker.other().default_port()
    )]
    WrongProtocol {
        broker: Broker,
        url: String,
        reason: String,
    },

    /// The URL gives a password (the course's, by default) but this Redis
    /// has none: a server of the student's own, started without
    /// `requirepass`. Redis refuses `AUTH` then, rather than ignoring it.
    #[error(
        "Redis at {url} has no password, but the URL gives one (the course's Redis, \
         which `just up` starts, has one).\n  \
         To use this Redis as it is, connect without a password:\n    \
         export REDIS_URL={without}    (or pass --url {without})\n  \
         or give it the course's password: redis-cli CONFIG SET requirepass {password}",
        password = crate::COURSE_REDIS_PASSWORD
    )]
    NoPasswordOnServer {
        /// The address tried, password hidden.
        url: String,
        /// The same address without user and password.
        without: String,
    },

    /// Anything else the broker or the client library reported.
    #[error("{broker} at {url}: {reason}")]
    Other {
        broker: Broker,
        url: String,
        reason: String,
    },
}

/// Which broker an error is about, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    RabbitMq,
    Redis,
}

impl Broker {
    /// The port `just up` (and the broker's own default) listens on.
    pub fn default_port(self) -> u16 {
        match self {
            Broker::RabbitMq => 5672,
            Broker::Redis => 6379,
        }
    }

    /// The course's other broker, the one a wrong port usually reaches.
    pub fn other(self) -> Broker {
        match self {
            Broker::RabbitMq => Broker::Redis,
            Broker::Redis => Broker::RabbitMq,
        }
    }

    /// What to check when the login is refused: each broker has its own
    /// kind of account.
    pub fn login_hint(self) -> &'static str {
        match self {
            Broker::RabbitMq => {
                "Check the user and password in the URL; \
                 the RabbitMQ chapter shows how to create a user with `rabbitmqctl add_user`."
            }
            Broker::Redis => {
                "Check the password in the URL (redis://:PASSWORD@HOST:PORT/, or \
                 redis://USER:PASSWORD@... for an ACL user): it must be the server's \
                 `requirepass` (`CONFIG GET requirepass` in redis-cli shows it)."
            }
        }
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Broker::RabbitMq => "RabbitMQ",
            Broker::Redis => "Redis",
        })
    }
}

/// Hides the password of a URL, so it can be printed in an error message:
/// `amqp://guest:guest@host/` becomes `amqp://guest:***@host/`.
///
/// ```
/// assert_eq!(
///     support::redact("amqp://hhh:secret@127.0.0.1:5672/%2f"),
///     "amqp://hhh:***@127.0.0.1:5672/%2f"
/// );
/// assert_eq!(support::redact("redis://127.0.0.1:6379/"), "redis://127.0.0.1:6379/");
/// ```
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    // The user-info part ends at the last '@' before the path starts.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..rest_start],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn hides_only_the_password() {
        assert_eq!(
            redact("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact("redis://:pa@ss@127.0.0.1/0"),
            "redis://:***@127.0.0.1/0"
        );
        assert_eq!(redact("redis://user@host/"), "redis://user@host/");
        assert_eq!(redact("not a url"), "not a url");
    }
}
