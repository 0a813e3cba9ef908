//! Who may command an agent, and whose answers `rpc` believes.
//!
//! Anyone who can publish on the broker can put a message in an agent's
//! queue or in the reply queue. Names alone prove nothing: a forged reply
//! with `correlation_id = 7/web-1` looks exactly like web-1's answer to
//! task 7. So every message of a namespace carries two proofs:
//!
//! - **A signature** (the `x-rpc-signature` header): HMAC-SHA256, under the
//!   namespace's secret key, of what the message says and which task and
//!   host it is about. Only someone holding the key can make one; an agent
//!   drops a request that lacks a valid one, and `rpc` drops such a reply,
//!   without storing or answering it.
//! - **The broker user** (the AMQP `user_id` property): RabbitMQ refuses a
//!   message whose `user_id` is not the user its publisher logged in as,
//!   so it tells *which account* published it. Where each namespace has a
//!   broker user of its own, that is a second check, enforced by the broker.
//!
//! The key comes from `--key-file FILE` (or `RPC_KEY_FILE`), or from the
//! environment variable `RPC_KEY` (never a flag: flags show in `ps`). Given
//! neither, both programs use `~/.config/rpc-commands/NAMESPACE.key`, and
//! create it, readable only by you, the first time: so your agents and your
//! `rpc` agree, and another user's do not.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::names::Namespace;

/// The header that carries a message's signature, in lowercase hex.
pub const SIGNATURE_HEADER: &str = "x-rpc-signature";

/// The environment variable that may hold the key itself.
pub const KEY_ENV: &str = "RPC_KEY";

/// The shortest key accepted, in bytes: a short key can be guessed.
pub const MIN_KEY_BYTES: usize = 16;

/// The `--key-file` flag both programs take.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArg {
    /// The namespace's secret key, in a file (one line). Without it: $RPC_KEY,
    /// else ~/.config/rpc-commands/NAMESPACE.key, created on first use
    #[arg(long, env = "RPC_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Which way a message goes. Part of what is signed, so that a request can
/// never pass for a reply, nor the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From `rpc` to an agent.
    Request,
    /// From an agent back to `rpc`.
    Reply,
}

/// A namespace's shared secret. Its bytes are never printed.
#[derive(Clone)]
pub struct Key {
    /// The secret: the text of the key file or of `RPC_KEY`, trimmed.
    secret: Vec<u8>,
    /// Where it came from, for messages (`RPC_KEY`, or a file's path).
    origin: String,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(from {}, {} bytes)", self.origin, self.secret.len())
    }
}

impl Key {
    /// A key from its text (surrounding white space is not part of it).
    pub fn new(text: &str, origin: &str) -> crate::Result<Key> {
        let secret = text.trim().as_bytes().to_vec();
        anyhow::ensure!(
            secret.len() >= MIN_KEY_BYTES,
            "the key from {origin} has {} bytes; a key needs at least {MIN_KEY_BYTES} \
             (make one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')",
            secret.len()
        );
        Ok(Key {
            secret,
            origin: origin.to_string(),
        })
    }

    /// Where this key came from: `RPC_KEY`, or the path of its file.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A fresh random key, as text: 32 bytes from the kernel, in hex.
    pub fn generate() -> crate::Result<String> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(&mut bytes))
            .context("reading /dev/urandom for a new key")?;
        Ok(hex(&bytes))
    }

    /// The key the flags and environment name (see the module docs).
    pub fn load(arg: &KeyArg, namespace: &Namespace) -> crate::Result<Key> {
        if let Some(path) = &arg.key_file {
            return Key::from_file(path);
        }
        if let Ok(text) = std::env::var(KEY_ENV) {
            return Key::new(&text, KEY_ENV);
        }
        let path = default_key_file(namespace)
            .context("no key given (--key-file or RPC_KEY) and no home folder to keep one in")?;
        if !path.exists() {
            create_key_file(&path)?;
        }
        Key::from_file(&path)
    }

    /// The key in `path`.
    pub fn from_file(path: &Path) -> crate::Result<Key> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the key file {}", path.display()))?;
        Key::new(&text, &path.display().to_string())
    }

    // ANCHOR: sign
    /// The signature of a message: HMAC-SHA256 over its direction, its
    /// correlation id (which task, which host) and its body. Each part is
    /// preceded by its length, so that no two different messages give the
    /// same input (`1/web-1` + `x` is not `1/web-` + `1x`).
    pub fn sign(&self, direction: Direction, correlation_id: &str, body: &[u8]) -> String {
        hex(&self
            .mac(direction, correlation_id, body)
            .finalize()
            .into_bytes())
    }

    /// Whether `signature` is the right one for this message. The
    /// comparison takes the same time however many bytes match, so that
    /// timing answers does not reveal a valid signature byte by byte.
    pub fn verify(
        &self,
        direction: Direction,
        correlation_id: &str,
        body: &[u8],
        signature: &str,
    ) -> bool {
        let Some(signature) = unhex(signature) else {
            return false;
        };
        self.mac(direction, correlation_id, body)
            .verify_slice(&signature)
            .is_ok()
    }

    fn mac(&self, direction: Direction, correlation_id: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .expect("HMAC accepts keys of every length");
        let label: &[u8] = match direction {
            Direction::Request => b"rpc-commands request v1",
            Direction::Reply => b"rpc-commands reply v1",
        };
        for part in [label, correlation_id.as_bytes(), body] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
    // ANCHOR_END: sign
}

/// `~/.config/rpc-commands/NAMESPACE.key` (or under `$XDG_CONFIG_HOME`).
pub fn default_key_file(namespace: &Namespace) -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("rpc-commands").join(format!("{namespace}.key")))
}

/// Writes a new random key to `path`, readable by its owner only. Two
/// programs starting at once must end up with the same key: the key is
/// written to a file of its own, then linked to `path`, which fails if
/// the other was first; then both read whatever `path` holds.
fn create_key_file(path: &Path) -> crate::Result<()> {
    let dir = path.parent().context("a key file needs a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let draft = dir.join(format!(".new-key-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&draft)
        .and_then(|mut file| writeln!(file, "{}", Key::generate().map_err(std::io::Error::other)?));
    // Ok(true): ours is the key; Ok(false): another program was first.
    let linked = written.and_then(|()| match std::fs::hard_link(&draft, path) {
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        other => other.map(|()| true),
    });
    let _ = std::fs::remove_file(&draft);
    if linked.with_context(|| format!("creating the key file {}", path.display()))? {
        eprintln!(
            "created a new key in {}: give it to every agent and rpc of this namespace",
            path.display()
        );
    }
    Ok(())
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The bytes of a hex string, or `None` if it is not one.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The user name in an AMQP URL (`guest` if it names none): the `user_id`
/// this program's messages carry, and RabbitMQ checks.
pub fn broker_user(amqp_url: &str) -> crate::Result<String> {
    let uri: lapin::uri::AMQPUri = amqp_url
        .parse()
        .map_err(|error| anyhow::anyhow!("`{amqp_url}` is not an AMQP URL: {error}"))?;
    Ok(uri.authority.userinfo.username)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        Key::new(text, "test").unwrap()
    }

    #[test]
    fn a_signature_checks_only_for_the_same_key_direction_id_and_body() {
        let k = key("0123456789abcdef0123");
        let sig = k.sign(Direction::Reply, "7/web-1", b"{}");
        assert!(k.verify(Direction::Reply, "7/web-1", b"{}", &sig));
        assert!(!k.verify(Direction::Request, "7/web-1", b"{}", &sig));
        assert!(!k.verify(Direction::Reply, "8/web-1", b"{}", &sig));
        assert!(!k.verify(Direction::Reply, "7/web-1", b"{ }", &sig));
        let other = key("another key of enough bytes");
        assert!(!other.verify(Direction::Reply, "7/web-1", b"{}", &sig));
        assert!(!k.verify(Direction::Reply, "7/web-1", b"{}", "not hex"));
        assert!(!k.verify(Direction::Reply, "7/web-1", b"{}", ""));
    }

    #[test]
    fn short_keys_are_refused_and_keys_are_never_shown() {
        assert!(Key::new("short", "test").is_err());
        let k = key("  a secret of enough bytes \n");
        assert!(!format!("{k:?}").contains("secret"));
        assert_eq!(Key::generate().unwrap().len(), 64);
    }

    #[test]
    fn a_new_key_file_is_private_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpc-commands").join("class-a.key");
        create_key_file(&path).unwrap();
        let first = Key::from_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only its owner may read it");
        }
        // A second program that also found no key keeps the first one's:
        // both must sign with the same secret.
        create_key_file(&path).unwrap();
        assert_eq!(Key::from_file(&path).unwrap().secret, first.secret);
        assert_eq!(first.secret.len(), 64);
        let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "no draft left behind");
    }

    #[test]
    fn the_broker_user_comes_from_the_url() {
        assert_eq!(
            broker_user("amqp://class-a:pw@127.0.0.1:5672/class-a").unwrap(),
            "class-a"
        );
        assert_eq!(broker_user("amqp://127.0.0.1:5672/%2f").unwrap(), "guest");
    }
}
