//! The book's transcripts, checked against the programs: `just transcripts`.
//!
//! The book includes its code from the lessons, so the code cannot drift;
//! the output printed under each `$ just run ...` is pasted, and could.
//! This module finds every console block of `docs/src` whose first line is
//! `$ just run ...`, splits it into commands and the lines each printed, and
//! compares a fresh run with them, line by line:
//!
//! - `[..]` in a line matches any text within that line (a timing, a rate,
//!   a port, an id, a generated queue name);
//! - a line that is just `...` matches any number of lines, none included.
//!
//! These are the wildcards of the `trycmd` and `snapbox` crates, so a reader
//! who has seen them there reads them here. A block the check cannot run (a
//! server that waits for Ctrl-C, one terminal of several) is marked on the
//! line before its fence:
//!
//! ```text
//! <!-- transcript: illustrative (why) -->
//! ```
//!
//! and counted, never silently skipped. After a deliberate change of output,
//! [`bless`] rewrites a block from a fresh run, keeping every wildcard line
//! that still matches.
//!
//! Running the commands (throwaway brokers, ports) is the binary's part:
//! `src/bin/transcripts.rs`.

use std::path::{Path, PathBuf};

/// What marks a block as illustrative, on the line before its fence.
pub const ILLUSTRATIVE: &str = "<!-- transcript: illustrative";

/// The wildcard for any text within one line.
pub const ANY_TEXT: &str = "[..]";

/// The wildcard line for any number of lines.
pub const ANY_LINES: &str = "...";

/// One console block that starts with `$ just run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The Markdown file it is in.
    pub file: PathBuf,
    /// The line of its opening fence, counted from 1 (for messages).
    pub fence_line: usize,
    /// Index (from 0) of its first line inside the fence, and how many
    /// lines it has: the range [`bless`] rewrites.
    pub first: usize,
    pub len: usize,
    /// The commands and what each printed.
    pub steps: Vec<Step>,
    /// Why it is not checked, when it is marked illustrative.
    pub illustrative: Option<String>,
}

impl Block {
    /// `docs/src/redis/16-connect.md:40`, relative to `root`.
    pub fn place(&self, root: &Path) -> String {
        let file = self.file.strip_prefix(root).unwrap_or(&self.file);
        format!("{}:{}", file.display(), self.fence_line)
    }

    /// The block's lines, as the book has them.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|step| {
                std::iter::once(format!("$ {}", step.command)).chain(step.expected.clone())
            })
            .collect()
    }
}

/// One `$ command` line of a block and the lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The command, without the `$ `.
    pub command: String,
    /// The lines the book shows it printing (with wildcards).
    pub expected: Vec<String>,
}

/// Every `$ just run` console block of one Markdown text.
pub fn blocks_in(file: &Path, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(fence) = fence_of(lines[index]) else {
            index += 1;
            continue;
        };
        let info = lines[index].trim_start()[fence.len()..].trim();
        let first = index + 1;
        let mut end = first;
        while end < lines.len() && !lines[end].trim_start().starts_with(fence.as_str()) {
            end += 1;
        }
        let body = &lines[first..end];
        let is_console = info.split([',', ' ']).next() == Some("console");
        if is_console && body.first().is_some_and(|l| l.starts_with("$ just run ")) {
            let marker = index
                .checked_sub(1)
                .map(|before| lines[before].trim())
                .filter(|before| before.starts_with(ILLUSTRATIVE));
            blocks.push(Block {
                file: file.to_path_buf(),
                fence_line: index + 1,
                first,
                len: body.len(),
                steps: steps_of(body),
                illustrative: marker.map(reason_of),
            });
        }
        index = end + 1;
    }
    blocks
}

/// The fence (three or more backticks) that opens a code block, if the line
/// opens one.
fn fence_of(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let ticks = trimmed.chars().take_while(|&c| c == '`').count();
    (ticks >= 3).then(|| "`".repeat(ticks))
}

/// The text between `illustrative` and `-->`, without its parentheses.
fn reason_of(marker: &str) -> String {
    marker[ILLUSTRATIVE.len()..]
        .trim_end_matches("-->")
        .trim()
        .trim_start_matches(':')
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .to_string()
}

/// Splits a block's lines at each `$ ` line.
fn steps_of(body: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in body {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_string(),
                expected: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push(line.trim_end().to_string());
        }
    }
    steps
}

/// Whether one output line matches one book line, `[..]` included.
pub fn line_matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split(ANY_TEXT).collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    if !actual[first.len()..].ends_with(last) {
        return false;
    }
    // The middle parts, leftmost first, between the fixed ends.
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// How one book line and the program's lines line up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aligned {
    /// The book line matches this output line.
    Same(String, String),
    /// A `...` line and the output lines it stands for.
    Skipped(Vec<String>),
    /// A book line the program did not print.
    Missing(String),
    /// An output line the book does not show.
    Extra(String),
}

/// Lines up the book's lines with the program's with as few edits as
/// possible: a line dropped, added or changed is one edit, and `...`
/// absorbs any number of lines for free. The output matches when there are
/// no edits.
pub fn align(expected: &[String], actual: &[String]) -> Vec<Aligned> {
    let (n, m) = (expected.len(), actual.len());
    // cost[i][j]: the fewest edits that line up expected[i..] with actual[j..].
    let mut cost = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            cost[i][j] = if i == n {
                m - j
            } else if expected[i] == ANY_LINES {
                let absorb = if j < m { cost[i][j + 1] } else { usize::MAX };
                cost[i + 1][j].min(absorb)
            } else {
                let mut best = 1 + cost[i + 1][j];
                if j < m {
                    best = best.min(1 + cost[i][j + 1]);
                    // A changed line counts as one edit, not two, so that
                    // a `...` nearby never swallows it.
                    let step = usize::from(!line_matches(&expected[i], &actual[j]));
                    best = best.min(step + cost[i + 1][j + 1]);
                }
                best
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut skipped: Option<Vec<String>> = None;
    while i < n || j < m {
        if i < n && expected[i] == ANY_LINES {
            let gap = skipped.get_or_insert_with(Vec::new);
            if j < m && cost[i][j] == cost[i][j + 1] && cost[i][j] != cost[i + 1][j] {
                gap.push(actual[j].clone());
                j += 1;
            } else {
                out.push(Aligned::Skipped(skipped.take().unwrap_or_default()));
                i += 1;
            }
        } else if i < n
            && j < m
            && line_matches(&expected[i], &actual[j])
            && cost[i][j] == cost[i + 1][j + 1]
        {
            out.push(Aligned::Same(expected[i].clone(), actual[j].clone()));
            i += 1;
            j += 1;
        } else if i < n && j < m && cost[i][j] == 1 + cost[i + 1][j + 1] {
            // The book's line changed into the program's.
            out.push(Aligned::Missing(expected[i].clone()));
            out.push(Aligned::Extra(actual[j].clone()));
            i += 1;
            j += 1;
        } else if i < n && cost[i][j] == 1 + cost[i + 1][j] {
            out.push(Aligned::Missing(expected[i].clone()));
            i += 1;
        } else {
            out.push(Aligned::Extra(actual[j].clone()));
            j += 1;
        }
    }
    out
}

/// Whether an alignment is a match.
pub fn matches(alignment: &[Aligned]) -> bool {
    alignment
        .iter()
        .all(|a| matches!(a, Aligned::Same(..) | Aligned::Skipped(_)))
}

/// The book's lines rewritten to what the program printed, keeping every
/// book line (wildcards and all) that matched, and every `...`. A book line
/// that changed into a program line keeps its `[..]`s where the text around
/// them is still there (see [`carry_wildcards`]).
pub fn bless(alignment: &[Aligned]) -> Vec<String> {
    let mut out = Vec::new();
    let mut changed: Option<&str> = None;
    for a in alignment {
        match a {
            Aligned::Same(book, _) => out.push(book.clone()),
            Aligned::Skipped(_) => out.push(ANY_LINES.to_string()),
            Aligned::Missing(book) => {
                changed = Some(book);
                continue;
            }
            Aligned::Extra(line) => out.push(match changed {
                Some(book) => carry_wildcards(book, line),
                None => line.clone(),
            }),
        }
        changed = None;
    }
    out
}

/// The new line, with the old pattern's `[..]`s put back where the word on
/// either side of each is found again: `took [..] ms` and `took 3 s` give
/// `took 3 s`, but `in [..] s, 2 tries` and `in 0.4 s, 3 tries` give
/// `in [..] s, 3 tries`. Falls back to the line as it is.
pub fn carry_wildcards(pattern: &str, line: &str) -> String {
    let parts: Vec<&str> = pattern.split(ANY_TEXT).collect();
    if parts.len() == 1 {
        return line.to_string();
    }
    let mut out = String::new();
    let mut at = 0; // how much of `line` is in `out`
    for pair in parts.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let left = last_word(before);
        let right = first_word(after);
        let Some(found) = line[at..].find(left) else {
            return line.to_string();
        };
        let start = at + found + left.len();
        let end = if right.is_empty() {
            line.len()
        } else {
            match line[start..].find(right) {
                Some(offset) => start + offset,
                None => return line.to_string(),
            }
        };
        out.push_str(&line[at..start]);
        out.push_str(ANY_TEXT);
        at = end;
    }
    out.push_str(&line[at..]);
    if line_matches(&out, line) {
        out
    } else {
        line.to_string()
    }
}

/// The last word of `text` with the spaces after it: `3), ` of
/// `(expected 3), `.
fn last_word(text: &str) -> &str {
    let word_end = text.trim_end().len();
    let start = text[..word_end]
        .rfind(char::is_whitespace)
        .map_or(0, |at| at + 1);
    &text[start..]
}

/// The first word of `text` with the spaces before it: ` s,` of ` s, 2`.
fn first_word(text: &str) -> &str {
    let word_start = text.len() - text.trim_start().len();
    let end = text[word_start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |at| word_start + at);
    &text[..end]
}

/// A diff for the reader of a failure: `-` the book, `+` the program.
pub fn diff(alignment: &[Aligned]) -> String {
    let mut out = String::new();
    for a in alignment {
        match a {
            Aligned::Same(book, _) => out.push_str(&format!("    {book}\n")),
            Aligned::Skipped(lines) => {
                out.push_str(&format!("    ... ({} line(s))\n", lines.len()))
            }
            Aligned::Missing(book) => out.push_str(&format!("  - {book}\n")),
            Aligned::Extra(line) => out.push_str(&format!("  + {line}\n")),
        }
    }
    out
}

/// Replaces the inside of each block with new lines, in one file's text.
/// `updates` are (block, its new inside); the blocks must be of this text.
pub fn rewrite(text: &str, updates: &[(&Block, Vec<String>)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut sorted: Vec<_> = updates.iter().collect();
    sorted.sort_by_key(|(block, _)| std::cmp::Reverse(block.first));
    for (block, new) in sorted {
        lines.splice(block.first..block.first + block.len, new.iter().cloned());
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The numbers the workspace guide states, found after these words.
pub const CHECKED_WORDS: &str = " are checked by `just transcripts`";
pub const ILLUSTRATIVE_WORDS: &str = " are marked illustrative";

/// The number written just before `words` in `text`, and where it is.
pub fn stated_count(text: &str, words: &str) -> Option<(usize, std::ops::Range<usize>)> {
    let end = text.find(words)?;
    let start = text[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |at| at + 1);
    let number = text[start..end].parse().ok()?;
    Some((number, start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn wildcards_match_within_a_line() {
        assert!(line_matches("took [..] ms", "took 648 ms"));
        assert!(line_matches("[..]", ""));
        assert!(line_matches("a [..] b [..] c", "a 1 b 2 b 3 c"));
        assert!(!line_matches("took [..] ms", "took 648 s"));
        assert!(!line_matches("ab[..]ba", "aba"));
        assert!(line_matches("exact", "exact"));
        assert!(!line_matches("exact", "exactly"));
    }

    #[test]
    fn dots_absorb_lines_and_bless_keeps_them() {
        let book = lines("start\n...\nend [..]");
        let ok = align(&book, &lines("start\na\nb\nend 3"));
        assert!(matches(&ok));
        assert_eq!(bless(&ok), book);
        assert!(matches(&align(&book, &lines("start\nend 4"))));

        let changed = align(&book, &lines("begin\na\nend 5"));
        assert!(!matches(&changed));
        assert_eq!(bless(&changed), lines("begin\n...\nend [..]"));
        assert!(diff(&changed).contains("  - start\n  + begin\n"));
    }

    #[test]
    fn a_changed_line_keeps_its_wildcards() {
        assert_eq!(
            carry_wildcards(
                "# r2d2: counter 3 (expected 3), [..] s, [..] µs per INCR",
                "# r2d2: the counter 3 (expected 3), 1.48 s, 46 µs per INCR"
            ),
            "# r2d2: the counter 3 (expected 3), [..] s, [..] µs per INCR"
        );
        assert_eq!(
            carry_wildcards("[..] foo: up", "[ 5µs] foo: down"),
            "[..] foo: down"
        );
        assert_eq!(carry_wildcards("took [..] ms", "took 3 s"), "took 3 s");
        let alignment = align(&lines("in [..] s, 2 tries"), &lines("in 0.4 s, 3 tries"));
        assert_eq!(bless(&alignment), lines("in [..] s, 3 tries"));
    }

    #[test]
    fn a_line_the_book_drops_is_a_difference() {
        let book = lines("one\nthree");
        let alignment = align(&book, &lines("one\ntwo\nthree"));
        assert!(!matches(&alignment));
        assert_eq!(bless(&alignment), lines("one\ntwo\nthree"));
    }

    #[test]
    fn blocks_are_found_with_their_steps_and_marks() {
        let text = "intro\n```console\n$ just run lesson-10 send\n [x] Sent\n$ just run lesson-10 send hi\n [x] Sent \"hi\"\n```\n\n<!-- transcript: illustrative (a server) -->\n```console\n$ just run lesson-05 server\nlistening\n```\n```console\n$ just up\n```\n";
        let found = blocks_in(Path::new("a.md"), text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].fence_line, 2);
        assert_eq!(found[0].steps.len(), 2);
        assert_eq!(found[0].steps[1].expected, vec![" [x] Sent \"hi\""]);
        assert_eq!(found[0].illustrative, None);
        assert_eq!(found[1].illustrative.as_deref(), Some("a server"));

        let new = vec![
            "$ just run lesson-10 send".to_string(),
            "changed".to_string(),
        ];
        let rewritten = rewrite(text, &[(&found[0], new)]);
        assert!(
            rewritten.starts_with("intro\n```console\n$ just run lesson-10 send\nchanged\n```\n")
        );
        assert!(rewritten.ends_with("```console\n$ just up\n```\n"));
    }

    #[test]
    fn the_guide_counts_are_found() {
        let text = "Of these, 41 are checked by `just transcripts` and 7 are marked illustrative.";
        assert_eq!(stated_count(text, CHECKED_WORDS).map(|c| c.0), Some(41));
        assert_eq!(stated_count(text, ILLUSTRATIVE_WORDS).map(|c| c.0), Some(7));
    }
}
