//! Which commands an agent will run: an allow-list, or explicitly anything.
//!
//! Anyone who can publish to the exchange can send an agent a command. An
//! agent that runs whatever arrives is a remote shell for everyone on the
//! broker, so by default an agent runs only a short list of commands that
//! look at the machine without changing it.
//!
//! A list of *programs* is not enough: `date -s 2000-01-01` sets the clock
//! and `hostname evil` renames the machine, both read-only programs
//! otherwise. So a rule is a command line: a program and its exact
//! arguments, where a final `*` allows any further arguments. `df *` allows
//! every `df`; `hostname` allows `hostname` alone. Words are compared
//! exactly, so `/tmp/x/df` is not `df`.

use std::fmt;
use std::path::Path;

use anyhow::Context;

// ANCHOR: default
/// The rules an agent uses when it is given none: commands that only read,
/// and end by themselves. A `*` stands only after programs that can neither
/// change anything nor run forever, whatever their arguments: `free -s 1`
/// prints every second until killed, so `free` gets its few forms one by one.
pub const DEFAULT_RULES: &[&str] = &[
    "cat /etc/os-release",
    "date",
    "df *",
    "echo *",
    "free",
    "free -h",
    "free -m",
    "hostname",
    "id *",
    "uname *",
    "uptime *",
    "whoami",
];
// ANCHOR_END: default

// ANCHOR: rule
/// One allowed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The program and the arguments that must follow it, word for word.
    words: Vec<String>,
    /// Whether any further arguments may follow (the rule ended in `*`).
    any_more: bool,
}

impl Rule {
    /// Parses a rule, split into words as a command is (quotes allowed).
    pub fn parse(text: &str) -> Result<Rule, String> {
        let mut words = shell_words::split(text).map_err(|e| format!("rule `{text}`: {e}"))?;
        let any_more = words.last().is_some_and(|w| w == "*");
        if any_more {
            words.pop();
        }
        if words.is_empty() {
            return Err(format!("rule `{text}` names no program"));
        }
        if words.iter().any(|w| w == "*") {
            return Err(format!("rule `{text}`: `*` may only be the last word"));
        }
        Ok(Rule { words, any_more })
    }

    /// Whether this rule allows running `argv`.
    pub fn allows(&self, argv: &[String]) -> bool {
        let n = self.words.len();
        let fixed_part_matches = argv.len() >= n && argv[..n] == self.words[..];
        fixed_part_matches && (self.any_more || argv.len() == n)
    }
}
// ANCHOR_END: rule

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shell_words::join(&self.words))?;
        if self.any_more {
            f.write_str(" *")?;
        }
        Ok(())
    }
}

// ANCHOR: policy
/// What an agent will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Anything at all: only with `--allow-any`, on a machine you own.
    AllowAny,
    /// Only command lines that one of these rules allows.
    Rules(Vec<Rule>),
}

impl Policy {
    /// Decides about one command: `Ok` to run it, or the reason it is
    /// refused, which goes back to the user instead of silence.
    pub fn check(&self, argv: &[String]) -> Result<(), String> {
        let Some(program) = argv.first() else {
            return Err("the command is empty".to_string());
        };
        match self {
            Policy::AllowAny => Ok(()),
            Policy::Rules(rules) if rules.iter().any(|rule| rule.allows(argv)) => Ok(()),
            Policy::Rules(rules) => {
                let allowed: Vec<String> = rules.iter().map(Rule::to_string).collect();
                Err(format!(
                    "`{}` is not allowed on this agent (`{program}` matches no rule; allowed: {})",
                    shell_words::join(argv),
                    allowed.join(", ")
                ))
            }
        }
    }
}
// ANCHOR_END: policy

impl Policy {
    /// The policy for an agent's flags: `--allow-any`, else the rules given
    /// by `--allow` and `--allow-file`, else [`DEFAULT_RULES`].
    pub fn from_flags(
        allow_any: bool,
        allow: &[String],
        file: Option<&Path>,
    ) -> crate::Result<Policy> {
        if allow_any {
            return Ok(Policy::AllowAny);
        }
        let mut texts: Vec<String> = allow.to_vec();
        if let Some(path) = file {
            let contents = std::fs::read_to_string(path)
                .with_context(|| format!("reading the allow-list {}", path.display()))?;
            texts.extend(rules_in_file(&contents));
        }
        if texts.is_empty() && file.is_none() {
            texts = DEFAULT_RULES.iter().map(|r| r.to_string()).collect();
        }
        let rules = texts
            .iter()
            .map(|text| Rule::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        Ok(Policy::Rules(rules))
    }

    /// One line for the agent's banner.
    pub fn describe(&self) -> String {
        match self {
            Policy::AllowAny => "ANY command (--allow-any)".to_string(),
            Policy::Rules(rules) if rules.is_empty() => {
                "nothing (the allow-list is empty)".to_string()
            }
            Policy::Rules(rules) => rules
                .iter()
                .map(Rule::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The rules in an allow-list file: one per line; blank lines and lines
/// starting with `#` are skipped.
fn rules_in_file(contents: &str) -> Vec<String> {
    contents
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    fn default_policy() -> Policy {
        Policy::from_flags(false, &[], None).unwrap()
    }

    #[test]
    fn a_star_allows_any_further_arguments() {
        let rule = Rule::parse("df *").unwrap();
        assert!(rule.allows(&argv("df")));
        assert!(rule.allows(&argv("df -h /")));
        assert!(!rule.allows(&argv("dfx")));
        assert!(!rule.allows(&argv("/tmp/evil/df -h")));
    }

    #[test]
    fn without_a_star_the_arguments_must_match_exactly() {
        let rule = Rule::parse("hostname").unwrap();
        assert!(rule.allows(&argv("hostname")));
        assert!(!rule.allows(&argv("hostname evil")));
        let rule = Rule::parse("cat /etc/os-release").unwrap();
        assert!(rule.allows(&argv("cat /etc/os-release")));
        assert!(!rule.allows(&argv("cat /etc/shadow")));
    }

    #[test]
    fn the_default_list_reads_but_never_writes() {
        let policy = default_policy();
        for ok in [
            "df -h", "uptime", "hostname", "uname -a", "whoami", "date", "free -m",
        ] {
            assert_eq!(policy.check(&argv(ok)), Ok(()), "{ok}");
        }
        for refused in [
            "rm -rf x",
            "date -s 2000-01-01",
            "hostname evil",
            "sh -c uptime",
            "free -s 1",
            "free -h -s 1",
            "free -c 1000000 -s 1",
        ] {
            assert!(policy.check(&argv(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_refusal_says_what_is_allowed() {
        let reason = default_policy().check(&argv("rm -rf x")).unwrap_err();
        assert!(reason.contains("`rm -rf x` is not allowed"), "{reason}");
        assert!(reason.contains("df *"), "{reason}");
    }

    #[test]
    fn given_rules_replace_the_default_and_allow_any_allows_anything() {
        let policy = Policy::from_flags(false, &["sleep *".into()], None).unwrap();
        assert!(policy.check(&argv("sleep 1")).is_ok());
        assert!(policy.check(&argv("df")).is_err());
        assert!(Policy::AllowAny.check(&argv("rm -rf x")).is_ok());
        assert!(Policy::AllowAny.check(&[]).is_err());
    }

    #[test]
    fn bad_rules_are_reported() {
        assert!(Rule::parse("").is_err());
        assert!(Rule::parse("*").is_err());
        assert!(Rule::parse("ls * -l").is_err());
        assert!(Rule::parse("echo 'unclosed").is_err());
    }

    #[test]
    fn files_hold_one_rule_per_line() {
        let rules = rules_in_file("# inspection\ndf *\n\n  uptime  \n");
        assert_eq!(rules, ["df *", "uptime"]);
    }
}
