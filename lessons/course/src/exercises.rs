//! Exercise starters, generated from the lessons: `just exercises`.
//!
//! A lesson marks, inside its own source, the bodies a student writes:
//!
//! ```text
//! pub fn switch(&mut self, to: &'static str) {
//!     // EXERCISE: hand Step::SwitchTo(to) to the trampoline
//!     self.scope.yield_(Step::SwitchTo(to));
//!     // EXERCISE_END
//! }
//! ```
//!
//! The starter's copy of that file keeps the signature and the doc comment
//! (the contract the student must meet) and puts `todo!("<hint>")` where
//! the marked lines were. Everything else the starter needs is *not*
//! copied: a `mod NAME;` of the lesson whose file is not part of the
//! exercise becomes `#[path = "<the lesson's file>"] mod NAME;`, so the
//! starter compiles the lesson's own given code, and the starter's
//! `Cargo.toml` (written by hand, like each starter's `//!`) builds the
//! lesson's programs from their files in the lesson. A lesson changed in one
//! place changes its starter with the next `just exercises`, and a test
//! (`committed_starters_match_their_lessons`) fails until that is run.
//!
//! Two more markers: `// EXERCISE_HIDE` ... `// EXERCISE_HIDE_END` leaves
//! lines out of the starter (a helper only the solution needs), and the
//! lesson file's opening `//!` block is replaced by the starter's own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One exercise's starter crate.
#[derive(Debug, Clone, Copy)]
pub struct Starter {
    /// The exercise's name: `just check greenlet`.
    pub name: &'static str,
    /// The lesson it comes from (its crate is the solution).
    pub lesson: u8,
    /// The starter's folder under `lessons/exercises/`.
    pub dir: &'static str,
    /// The files generated from the lesson's.
    pub files: &'static [StarterFile],
}

/// One generated file of a starter.
#[derive(Debug, Clone, Copy)]
pub struct StarterFile {
    /// The lesson's file, relative to the lesson's crate: `src/lib.rs`.
    pub from: &'static str,
    /// The starter's file, relative to the starter's crate.
    pub to: &'static str,
    /// The starter file's opening `//!` block, without the `//! ` prefixes:
    /// what the student reads first in this file.
    pub doc: &'static str,
}

/// Every exercise with a generated starter.
pub const STARTERS: &[Starter] = &[
    Starter {
        name: "greenlet",
        lesson: 2,
        dir: "greenlet",
        files: &[StarterFile {
            from: "src/lib.rs",
            to: "src/lib.rs",
            doc: "\
Exercise 02: build greenlet-style switching yourself.

Everything around the switch is given, compiled from lesson 02's own
`greenlets.rs`: the `Step` a greenlet hands to the trampoline, creating
greenlets, the two greenlets' functions (`test1`, `test2`). Two bodies
are yours, marked `todo!()`:

1. [`Switcher::switch`]: how a greenlet stops itself and names the next.
2. [`Greenlets::run`]: the trampoline that resumes greenlets, one after
   another, as they say, until one finishes.

Check your work with `just check greenlet`; run it with
`cargo run -p exercise-02-greenlet -- --trace`. Lesson 02's chapter
explains every idea you need.",
        }],
    },
    Starter {
        name: "select-server",
        lesson: 8,
        dir: "select-server",
        files: &[StarterFile {
            from: "src/lib.rs",
            to: "src/lib.rs",
            doc: "\
Exercise 08: write the heart of a select(2) server yourself.

The server answers every message in upper case, serves any number of
clients (up to select's limit) on one thread, and never lets one client
hold up the others. Everything around the loop is given, compiled from
lesson 08's own files: the server's state, taking in an accepted
connection (`Server::admit`) and forgetting one (`Server::remove`) in
`state.rs`, the notes' client in `client.rs`, and lesson 07's safe
[`FdSet`] and [`sys::select`]. Four bodies are yours, marked `todo!()`:

1. [`Server::turn`]: one turn of the loop: say what to watch, wait in
   select(2), serve what is ready.
2. `Server::accept_all`: take in every connection that is waiting.
3. `Client::receive`: read once into the client's queue.
4. `Client::send`: write queued replies, in upper case, as far as the
   kernel takes them.

Run your server with `cargo run -p exercise-08-select-server --bin
exercise-08-server`, try it with `cargo run -p exercise-08-select-server
--bin exercise-08-client` in a second terminal, and check it with
`just check select-server`. Lesson 08's chapter explains every idea you
need; lesson 07's explains select(2) itself.",
        }],
    },
    Starter {
        name: "work-queues",
        lesson: 11,
        dir: "work-queues",
        files: &[StarterFile {
            from: "src/lib.rs",
            to: "src/lib.rs",
            doc: "\
Exercise 11: make a work queue safe.

`new-task` puts a task in a queue; `worker`s take tasks from it, one at
a time, and work on each for a while (every `.` in a task is one unit of
work). The programs, their arguments, what they print, the worker's loop
(`worker.rs`) and publisher confirms (`confirms.rs`) are lesson 11's own
code, compiled into this crate. What makes the work queue *safe* is
yours, in four functions marked `todo!()`:

1. [`declare_task_queue`]: a queue that survives a broker restart.
2. [`publish_task`]: a task that survives a broker restart.
3. [`consume_tasks`]: fair dispatch (prefetch) and manual acks.
4. [`work_on`]: do the work, *then* ack.

Check your work with `just check work-queues`. Try it by hand, each in a
terminal of its own:

```text
cargo run -q -p exercise-11-work-queues --bin exercise-11-worker -- --ms-per-dot 200
cargo run -q -p exercise-11-work-queues --bin exercise-11-worker -- --ms-per-dot 200
cargo run -q -p exercise-11-work-queues --bin exercise-11-new-task -- \"A task with dots...\"
```

A queue keeps the settings it was first declared with: if a version of
yours declared `task_queue` not durable, the broker refuses to declare it
durable (PRECONDITION_FAILED) until you delete it:
`just rabbitmqctl delete_queue task_queue`. Lesson 11's chapter explains
every idea you need; `just demo lesson-11` shows what your programs
should do.",
        }],
    },
    Starter {
        name: "pipeline",
        lesson: 23,
        dir: "pipeline",
        files: &[StarterFile {
            from: "src/lib.rs",
            to: "src/lib.rs",
            doc: "\
Exercise 23: round trips, pipelines, transactions, and WATCH.

The program (lesson 23's own `pipeline`, built on your library) times
the same SETs sent three ways, then lets clients race to move money
between two accounts. Timing and comparing (`timing.rs`), the race
(`race.rs`) and the notes' transaction (`notes.rs`) are lesson 23's own
code, compiled into this crate. Four bodies are yours, marked `todo!()`;
write them in this order:

1. [`by_round_trips`]: one SET per round trip.
2. [`by_pipeline`]: the same SETs in pipelines, one round trip per batch.
3. [`by_transaction`]: the same SETs in one MULTI/EXEC.
4. [`transfer`]: move money with WATCH, and retry when EXEC says nil.

Run it with `cargo run -p exercise-23-pipeline` (start Redis first with
`just up`), and check it with `just check pipeline`. Lesson 23's chapter
explains every idea you need.",
        }],
    },
];

/// The marker that opens a body the student writes; the rest of the line
/// (after a colon) is the hint `todo!()` will carry.
pub const EXERCISE: &str = "// EXERCISE:";
/// The marker that closes it.
pub const EXERCISE_END: &str = "// EXERCISE_END";
/// Lines between these two are left out of the starter.
pub const HIDE: &str = "// EXERCISE_HIDE";
pub const HIDE_END: &str = "// EXERCISE_HIDE_END";

/// A generated file: where it goes and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Relative to the workspace root.
    pub path: PathBuf,
    pub text: String,
}

impl Starter {
    /// The lesson's crate folder, relative to the workspace root.
    pub fn lesson_dir(&self) -> PathBuf {
        Path::new("lessons").join(crate::LESSONS[usize::from(self.lesson) - 1].dir)
    }

    /// The starter's crate folder, relative to the workspace root.
    pub fn starter_dir(&self) -> PathBuf {
        Path::new("lessons/exercises").join(self.dir)
    }

    /// Writes out every file of this starter, in memory.
    pub fn generate(&self, root: &Path) -> Result<Vec<Generated>, String> {
        self.files
            .iter()
            .map(|file| {
                let from = self.lesson_dir().join(file.from);
                let source = std::fs::read_to_string(root.join(&from))
                    .map_err(|e| format!("{}: {e}", from.display()))?;
                let text = starter_text(self, file, &source, root)
                    .map_err(|e| format!("{}: {e}", from.display()))?;
                Ok(Generated {
                    path: self.starter_dir().join(file.to),
                    text,
                })
            })
            .collect()
    }
}

/// Finds a starter by exercise name.
pub fn find_starter(name: &str) -> Option<&'static Starter> {
    STARTERS.iter().find(|starter| starter.name == name)
}

/// The starter's text of one lesson file.
fn starter_text(
    starter: &Starter,
    file: &StarterFile,
    source: &str,
    root: &Path,
) -> Result<String, String> {
    let mut out = String::new();
    for line in file.doc.lines() {
        out.push_str(format!("//! {line}").trim_end());
        out.push('\n');
    }
    let from = starter.lesson_dir().join(file.from);
    let _ = writeln!(
        out,
        "//!\n//! Written by `just exercises` from the lesson's own code,\n\
         //! `{}`,\n//! with the bodies you write replaced by `todo!()`.",
        from.display()
    );
    let body = source.lines().skip_while(|line| line.starts_with("//!"));
    let mut marked = false;
    let mut lines = body.enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if let Some(hint) = trimmed.strip_prefix(EXERCISE) {
            marked = true;
            let hint = hint.trim();
            if hint.is_empty() {
                return Err(format!("line {}: `{EXERCISE}` without a hint", number + 1));
            }
            skip_to(&mut lines, EXERCISE_END, EXERCISE)?;
            let hint = escape(hint);
            // As rustfmt writes it, so that `cargo fmt` leaves it alone:
            // on one line if it fits in 100 columns, else the hint alone.
            if indent.len() + hint.len() + r#"todo!("")"#.len() <= 100 {
                let _ = writeln!(out, "{indent}todo!(\"{hint}\")");
            } else {
                let _ = writeln!(out, "{indent}todo!(\n{indent}    \"{hint}\"\n{indent})");
            }
        } else if trimmed == HIDE {
            skip_to(&mut lines, HIDE_END, HIDE)?;
        } else if let Some(name) = module_declaration(trimmed) {
            if let Some(given) = given_module(starter, file, name, root) {
                // The lesson's file, compiled here as it is: the given code.
                let _ = writeln!(out, "{indent}#[path = \"{}\"]", given.display());
            }
            out.push_str(line);
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if marked {
        // After the opening block (inner attributes come first): a todo!()
        // body leaves its parameters unused, and what it would call.
        let end = out
            .lines()
            .take_while(|line| line.starts_with("//!"))
            .map(|line| line.len() + 1)
            .sum::<usize>();
        out.insert_str(
            end,
            "// Until you write the todo!() bodies, their parameters, what they\n\
             // would import and the given code they would call are unused.\n\
             #![allow(unused_variables, unused_imports, dead_code)]\n",
        );
    }
    Ok(out)
}

/// Skips the lines up to and including `end`; a marker `open` before it
/// is an error (markers do not nest).
fn skip_to<'a>(
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
    end: &str,
    open: &str,
) -> Result<(), String> {
    for (number, line) in lines {
        let trimmed = line.trim();
        if trimmed == end {
            return Ok(());
        }
        if trimmed.starts_with(open) && trimmed != end {
            return Err(format!(
                "line {}: `{open}` inside another; close the first with `{end}`",
                number + 1
            ));
        }
    }
    Err(format!("`{open}` is never closed with `{end}`"))
}

/// `NAME` of a line `mod NAME;` or `pub mod NAME;` (any visibility).
fn module_declaration(line: &str) -> Option<&str> {
    let rest = line.strip_suffix(';')?;
    let (_, name) = rest.rsplit_once("mod ")?;
    let before = &rest[..rest.len() - name.len() - 4];
    let visibility_only = before.is_empty() || before.trim_end().starts_with("pub");
    (visibility_only && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
}

/// For `mod name;` in `file`: the path, relative to the starter's copy of
/// the file, of the lesson's module file, unless the starter generates that
/// module itself.
fn given_module(starter: &Starter, file: &StarterFile, name: &str, root: &Path) -> Option<PathBuf> {
    let from = Path::new(file.from);
    let dir = from.parent()?;
    let stem = from.file_stem()?.to_str()?;
    let base = if ["lib", "main", "mod"].contains(&stem) {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    let candidates = [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ];
    let module = candidates
        .into_iter()
        .find(|candidate| root.join(starter.lesson_dir()).join(candidate).is_file())?;
    if starter.files.iter().any(|f| Path::new(f.from) == module) {
        return None;
    }
    // From the folder of the starter's file up to the workspace root, then
    // down into the lesson.
    let to = starter.starter_dir().join(file.to);
    let ups = to.parent()?.components().count();
    let mut path = PathBuf::new();
    for _ in 0..ups {
        path.push("..");
    }
    Some(path.join(starter.lesson_dir()).join(module))
}

/// A hint as the text of a `todo!("...")`: quotes and backslashes escaped,
/// braces doubled (the text is a format string).
fn escape(hint: &str) -> String {
    hint.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "{{")
        .replace('}', "}}")
}

/// What `just exercises` does: writes every starter's generated files that
/// differ from what is committed, and returns one line per file written.
///
/// A file about to be overwritten that lacks one of the new text's
/// `todo!()` lines holds a student's work: without `force`, nothing is
/// written and the error names those files.
pub fn write_all(root: &Path, force: bool) -> Result<Vec<String>, String> {
    let mut changes = Vec::new();
    let mut worked_on = Vec::new();
    for starter in STARTERS {
        for generated in starter.generate(root)? {
            let path = root.join(&generated.path);
            let old = std::fs::read_to_string(&path).ok();
            if old.as_deref() == Some(generated.text.as_str()) {
                continue;
            }
            // A `todo!(...)` line of the new text missing from the old: a
            // body someone wrote (or a hint the lesson changed: --force).
            let todo_lines = generated
                .text
                .lines()
                .filter(|line| line.trim_start().starts_with("todo!("));
            if let Some(old) = &old {
                if todo_lines
                    .clone()
                    .any(|todo| !old.lines().any(|line| line == todo))
                {
                    worked_on.push(generated.path.display().to_string());
                }
            }
            changes.push((path, generated));
        }
    }
    if !worked_on.is_empty() && !force {
        return Err(format!(
            "these starters lack a todo!() the lesson gives: bodies someone filled in \
             (or a hint the lesson changed), which `just exercises` would replace:\n  {}\n\
             nothing was written; keep that work elsewhere, or run `just exercises --force`",
            worked_on.join("\n  ")
        ));
    }
    let mut written = Vec::new();
    for (path, generated) in changes {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, &generated.text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(format!("wrote {}", generated.path.display()));
    }
    Ok(written)
}

/// The committed starter files that differ from what the generator writes.
pub fn stale(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut stale = Vec::new();
    for starter in STARTERS {
        for generated in starter.generate(root)? {
            let committed = std::fs::read_to_string(root.join(&generated.path)).ok();
            if committed.as_deref() != Some(generated.text.as_str()) {
                stale.push(generated.path);
            }
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAKE: Starter = Starter {
        name: "fake",
        lesson: 2,
        dir: "fake",
        files: &[StarterFile {
            from: "src/lib.rs",
            to: "src/lib.rs",
            doc: "The starter.",
        }],
    };

    #[test]
    fn marked_bodies_become_todo_with_the_hint() {
        let source = "\
//! The lesson.

pub fn add(a: u32, b: u32) -> u32 {
    // EXERCISE: add \"a\" and {b}
    a + b
    // EXERCISE_END
}
// EXERCISE_HIDE
fn helper() {}
// EXERCISE_HIDE_END
";
        let text = starter_text(&FAKE, &FAKE.files[0], source, Path::new("/nonexistent")).unwrap();
        assert!(text.starts_with("//! The starter.\n"), "{text}");
        assert!(!text.contains("The lesson."), "{text}");
        assert!(
            text.contains("    todo!(\"add \\\"a\\\" and {{b}}\")\n}\n"),
            "{text}"
        );
        assert!(!text.contains("a + b"), "{text}");
        assert!(!text.contains("helper"), "{text}");
        assert!(
            text.contains("#![allow(unused_variables, unused_imports, dead_code)]"),
            "{text}"
        );
    }

    #[test]
    fn a_long_hint_is_wrapped_as_rustfmt_wraps_it() {
        let hint = "word ".repeat(18);
        let source =
            format!("fn f() {{\n    // EXERCISE: {hint}\n    1\n    // EXERCISE_END\n}}\n");
        let text = starter_text(&FAKE, &FAKE.files[0], &source, Path::new("/")).unwrap();
        let wrapped = format!("    todo!(\n        \"{}\"\n    )\n", hint.trim());
        assert!(text.contains(&wrapped), "{text}");
    }

    #[test]
    fn unclosed_or_nested_markers_are_errors() {
        let unclosed = "fn f() {\n    // EXERCISE: x\n    1\n}\n";
        let error = starter_text(&FAKE, &FAKE.files[0], unclosed, Path::new("/")).unwrap_err();
        assert!(error.contains("never closed"), "{error}");
        let nested = "// EXERCISE: a\n// EXERCISE: b\n// EXERCISE_END\n";
        let error = starter_text(&FAKE, &FAKE.files[0], nested, Path::new("/")).unwrap_err();
        assert!(error.contains("inside another"), "{error}");
        let bare = "// EXERCISE:\n// EXERCISE_END\n";
        let error = starter_text(&FAKE, &FAKE.files[0], bare, Path::new("/")).unwrap_err();
        assert!(error.contains("without a hint"), "{error}");
    }

    #[test]
    fn module_declarations_are_recognised() {
        assert_eq!(module_declaration("mod greenlets;"), Some("greenlets"));
        assert_eq!(module_declaration("pub mod jail;"), Some("jail"));
        assert_eq!(module_declaration("pub(crate) mod line;"), Some("line"));
        assert_eq!(module_declaration("mod tests {"), None);
        assert_eq!(module_declaration("let mod x;"), None);
    }

    /// The check behind `just test`: a lesson changed without `just
    /// exercises` leaves its starter behind, and this says which file.
    #[test]
    fn committed_starters_match_their_lessons() {
        let stale = stale(&crate::workspace_root()).unwrap();
        assert!(
            stale.is_empty(),
            "these starters differ from what their lessons generate (run `just exercises`): {stale:?}"
        );
    }
}
