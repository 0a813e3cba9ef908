//! How every course program ends: one function, [`exit`], for every
//! binary's `main`.
//!
//! A program's `run` returns a `Result`; `main` hands it to [`exit`], which
//! prints the error the same way in every lesson (what failed, then each
//! cause on its own line, then what to do about it when we know) and turns
//! the outcome into the process's exit code. Without it, each binary wrote
//! its own `match` with its own idea of how to print an error.

use std::error::Error;
use std::process::{ExitCode, Termination};

#[cfg(feature = "amqp")]
use lapin::ErrorKind;

// ANCHOR: exit
/// Ends a program's `main`: `Ok` becomes its exit code (`()` is success; a
/// program with a verdict of its own returns an [`ExitCode`]), and an error
/// is printed to stderr by [`describe`] and exits with 1.
///
/// Any error will do: an `anyhow::Error` with its context, a lesson's
/// `Box<dyn Error + Send + Sync>`, or a typed error of its own.
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> { Ok(()) }
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     support::exit(run().await)
/// }
/// ```
pub fn exit<T, E>(result: Result<T, E>) -> ExitCode
where
    T: Termination,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    match result {
        Ok(outcome) => outcome.report(),
        Err(error) => {
            eprintln!("error: {}", describe(&*error.into()));
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: exit

/// The whole story of an error on several lines: what failed, each of its
/// causes, and a hint when the broker refused something.
pub fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    for cause in chain(error) {
        let line = told(cause);
        // Errors sometimes repeat their cause's message in their own.
        if text.contains(&line) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n  because: ");
        }
        text.push_str(&line);
    }
    if let Some(hint) = hint(error) {
        text.push_str(&format!("\n  {hint}"));
    }
    text
}

/// One cause, in words. A Redis refusal reads best explained (WRONGTYPE, a
/// lost connection); the rest say what they say. (The Redis explanation
/// comes with the `redis` feature, which the Redis lessons turn on.)
fn told(cause: &(dyn Error + 'static)) -> String {
    #[cfg(feature = "redis")]
    if let Some(refusal) = cause.downcast_ref::<redis::RedisError>() {
        return crate::redis::describe(refusal);
    }
    cause.to_string()
}

/// What a student can do about an error the broker sent back, if anything
/// in `error`'s chain of causes is one (RabbitMQ's refusals, with the `amqp`
/// feature).
pub fn hint(error: &(dyn Error + 'static)) -> Option<&'static str> {
    #[cfg(feature = "amqp")]
    return chain(error)
        .find_map(|cause| cause.downcast_ref::<lapin::Error>())
        .and_then(hint_for_lapin);
    #[cfg(not(feature = "amqp"))]
    {
        let _ = error;
        None
    }
}

/// `error`, then its cause, and that cause's cause, to the first one.
fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&cause| cause.source())
}

/// The reply codes of AMQP 0-9-1 that a lesson can run into, with advice.
#[cfg(feature = "amqp")]
fn hint_for_lapin(error: &lapin::Error) -> Option<&'static str> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) => Some(match amqp.get_id() {
            406 => {
                "PRECONDITION_FAILED: a queue or exchange keeps the settings it was first\n  \
                 declared with (durable, exclusive, auto-delete, type, arguments), and the\n  \
                 broker refuses to declare it again with other ones. Declare it as it is,\n  \
                 pick another name, or delete it first: `just rabbitmqctl delete_queue NAME`.\n  \
                 See what exists: `just rabbitmqctl list_queues name durable auto_delete`."
            }
            403 => {
                "ACCESS_REFUSED: this user may not do that on this virtual host. Grant rights:\n  \
                 `just rabbitmqctl set_permissions -p / USER '.*' '.*' '.*'`."
            }
            404 => {
                "NOT_FOUND: that queue or exchange does not exist (yet). Start the program\n  \
                 that declares it first, or check the name."
            }
            405 => {
                "RESOURCE_LOCKED: an exclusive queue belongs to another connection; only\n  \
                 that connection may use it."
            }
            320 => "CONNECTION_FORCED: the broker was shut down, or an operator closed us.",
            530 => "NOT_ALLOWED: check the virtual host in the URL (the default one is %2f).",
            _ => return None,
        }),
        ErrorKind::IOError(_) => Some(
            "The connection to the broker broke: was it stopped? `just status` says\n  \
             what runs.",
        ),
        _ => None,
    }
}

#[cfg(all(test, feature = "amqp"))]
mod tests {
    use anyhow::Context;
    use lapin::protocol::{AMQPError, AMQPErrorKind, AMQPSoftError};

    use super::*;

    fn refusal(kind: AMQPSoftError, message: &str) -> lapin::Error {
        ErrorKind::ProtocolError(AMQPError::new(AMQPErrorKind::Soft(kind), message.into())).into()
    }

    #[test]
    fn a_refusal_is_told_with_its_context_and_what_to_do() {
        let error = Err::<(), _>(refusal(
            AMQPSoftError::PRECONDITIONFAILED,
            "PRECONDITION_FAILED - inequivalent arg 'durable'",
        ))
        .context("declaring the queue `task_queue`")
        .unwrap_err();
        let text = describe(error.as_ref());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "declaring the queue `task_queue`");
        assert!(lines[1].starts_with("  because: "), "{text}");
        assert!(lines[1].contains("inequivalent arg 'durable'"), "{text}");
        assert!(text.contains("delete_queue"), "{text}");
    }

    #[test]
    fn errors_without_advice_are_told_as_they_are() {
        let error = anyhow::anyhow!("something else");
        assert_eq!(describe(error.as_ref()), "something else");
        assert_eq!(hint(error.as_ref()), None);
        let not_found =
            anyhow::Error::from(refusal(AMQPSoftError::NOTFOUND, "NOT_FOUND - no queue"));
        assert!(hint(not_found.as_ref()).is_some_and(|hint| hint.starts_with("NOT_FOUND")));
    }
}
