//! Just enough of RESP, the Redis protocol, to read what a client and the
//! server say to each other.
//!
//! A client sends each command as an array of bulk strings
//! (`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`); the server answers with a
//! simple string (`+OK\r\n`), an error (`-ERR ...\r\n`), an integer
//! (`:1\r\n`), a bulk string, nil (`$-1\r\n` or `*-1\r\n`) or an array of
//! those. This is RESP2, which the `redis` crate speaks unless told
//! otherwise; RESP3's extra types are reported as an error.

/// One value on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+OK`, `+QUEUED`.
    Simple(String),
    /// `-ERR ...`, `-WRONGTYPE ...`.
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    /// A missing value; also what EXEC answers when a watched key changed.
    Nil,
    Array(Vec<Value>),
}

impl Value {
    /// The value as text, if it is a string of some kind.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Simple(text) => Some(text.clone()),
            Value::Bulk(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }

    /// Whether it is the simple string `word` (`OK`, `QUEUED`).
    pub fn is(&self, word: &str) -> bool {
        matches!(self, Value::Simple(text) if text == word)
    }
}

/// Reads one value from the start of `buf`. `Ok(None)`: not all of it has
/// arrived yet. `Ok(Some((value, used)))`: the value took `used` bytes.
pub fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    let Some(end) = buf.windows(2).position(|pair| pair == b"\r\n") else {
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&buf[1..end]).into_owned();
    let after_line = end + 2;
    let number = || {
        line.parse::<i64>()
            .map_err(|_| format!("not a number in a RESP header: {line:?}"))
    };
    match buf[0] {
        b'+' => Ok(Some((Value::Simple(line), after_line))),
        b'-' => Ok(Some((Value::Error(line), after_line))),
        b':' => Ok(Some((Value::Integer(number()?), after_line))),
        b'$' => {
            let Ok(len) = usize::try_from(number()?) else {
                return Ok(Some((Value::Nil, after_line)));
            };
            let end = after_line + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            Ok(Some((Value::Bulk(buf[after_line..end].to_vec()), end + 2)))
        }
        b'*' => {
            let Ok(count) = usize::try_from(number()?) else {
                return Ok(Some((Value::Nil, after_line)));
            };
            let mut items = Vec::with_capacity(count.min(1024));
            let mut used = after_line;
            for _ in 0..count {
                match parse(&buf[used..])? {
                    Some((item, n)) => {
                        items.push(item);
                        used += n;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Array(items), used)))
        }
        other => Err(format!(
            "a RESP value starting with {:?}: only RESP2 is understood here",
            other as char
        )),
    }
}

/// A command's words, if `value` is a command as clients send them.
pub fn command_words(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(Value::text).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_replies_round_trip() {
        let set = redis::cmd("SET").arg("k").arg("v").get_packed_command();
        let (value, used) = parse(&set).unwrap().unwrap();
        assert_eq!(used, set.len());
        assert_eq!(command_words(&value).unwrap(), ["SET", "k", "v"]);
        assert_eq!(parse(&set[..set.len() - 1]).unwrap(), None);

        let exec = b"*3\r\n+OK\r\n:7\r\n$-1\r\n*-1\r\n";
        let (value, used) = parse(exec).unwrap().unwrap();
        assert_eq!(
            value,
            Value::Array(vec![
                Value::Simple("OK".into()),
                Value::Integer(7),
                Value::Nil
            ])
        );
        assert_eq!(parse(&exec[used..]).unwrap(), Some((Value::Nil, 5)));
        assert!(parse(b"%1\r\n").is_err());
    }
}
