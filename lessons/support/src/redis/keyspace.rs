//! [`KeySpace`]: the keys one lesson run owns, under a prefix of its own.
//!
//! Redis has one flat namespace per database, shared by every client. The
//! usual way to keep programs (and classmates, and parallel tests) out of
//! each other's way is a prefix: lesson 17 works on `lesson17:name`,
//! `lesson17:bits`, ... and nothing else.
//!
//! A run *claims* its prefix first: if keys already live there (a run that
//! was interrupted with Ctrl-C, or a prefix someone else uses), it stops with
//! a clear message instead of mixing old data into the lesson, or deleting
//! data that may not be its own. `--clean` says "they are mine, delete them".
//! At the end the run deletes everything under its prefix.

use redis::{Commands, ConnectionLike, RedisResult};

/// A key prefix, and the run that owns the keys under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    /// Every key of the run is `<prefix>:<name>`.
    prefix: String,
}

/// Keys already live under the prefix a run wanted to claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{count} key(s) already exist under `{prefix}:` (for example `{example}`), \
     perhaps left by a run that was interrupted.\n  \
     Run again with --clean to delete them first, or choose another --prefix."
)]
pub struct PrefixInUse {
    pub prefix: String,
    pub count: usize,
    pub example: String,
}

impl KeySpace {
    /// A key space for `prefix` (no keys are touched yet).
    pub fn new(prefix: &str) -> Self {
        KeySpace {
            prefix: prefix.trim_end_matches(':').to_string(),
        }
    }

    /// The prefix, without the trailing `:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full name of one key: `key("name")` is `"<prefix>:name"`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// A SCAN/KEYS pattern that matches every key of this space and no
    /// other: glob characters in the prefix are escaped.
    pub fn pattern(&self) -> String {
        self.glob("*")
    }

    /// A SCAN/KEYS pattern for keys of this space: `glob("h?llo")` is
    /// `<prefix>:h?llo`, with glob characters in the prefix escaped so
    /// that only `glob` itself is a pattern.
    pub fn glob(&self, glob: &str) -> String {
        let mut pattern = String::new();
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push(':');
        pattern.push_str(glob);
        pattern
    }

    /// The keys that exist under the prefix right now, found with SCAN (never
    /// KEYS, which blocks the server while it walks every key).
    pub fn existing(&self, con: &mut impl ConnectionLike) -> RedisResult<Vec<String>> {
        let keys: Vec<String> = con
            .scan_match(self.pattern())?
            .collect::<RedisResult<_>>()?;
        Ok(keys)
    }

    /// Makes sure the prefix is empty before a run starts. With `clean`,
    /// whatever is there is deleted (and counted); without it, keys found
    /// there are an error, and nothing is touched.
    pub fn claim(&self, con: &mut impl ConnectionLike, clean: bool) -> Result<usize, super::Error> {
        let existing = self.existing(con)?;
        if existing.is_empty() {
            return Ok(0);
        }
        if !clean {
            return Err(PrefixInUse {
                prefix: self.prefix.clone(),
                count: existing.len(),
                example: existing[0].clone(),
            }
            .into());
        }
        Ok(self.cleanup(con)?)
    }

    /// Deletes every key under the prefix; returns how many there were.
    pub fn cleanup(&self, con: &mut impl ConnectionLike) -> RedisResult<usize> {
        let keys = self.existing(con)?;
        if keys.is_empty() {
            return Ok(0);
        }
        // UNLINK frees the memory in the background; the keys are gone at once.
        con.unlink(&keys)
    }
}

#[cfg(test)]
mod tests {
    use super::KeySpace;

    #[test]
    fn keys_and_patterns() {
        let space = KeySpace::new("lesson17:");
        assert_eq!(space.key("name"), "lesson17:name");
        assert_eq!(space.pattern(), "lesson17:*");
        assert_eq!(KeySpace::new("a*b[1]").pattern(), "a\\*b\\[1\\]:*");
    }
}
