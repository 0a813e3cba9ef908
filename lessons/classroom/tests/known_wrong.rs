//! Known-wrong solutions: for every checker, code that looks right from
//! some angle and is not, and the requirement that must catch it.
//!
//! Each is a copy of the starter or of the solution with a small edit (a
//! line replaced, or one file of `tests/wrong/` put in place of one of the
//! crate's), built as a workspace of its own under the target folder with
//! the course's Cargo.lock and dependencies, its programs renamed so that
//! they never overwrite the real ones in target/debug. Only the requirement
//! it must fail is run, to keep this quick.

use std::fs;
use std::path::{Path, PathBuf};

use classroom::check::{self, Which};

/// One edit of a copied crate.
enum Edit {
    /// In `file`, the text `find` (which must be there once) becomes `with`.
    Replace {
        file: &'static str,
        find: &'static str,
        with: &'static str,
    },
    /// `file` is replaced as a whole.
    File {
        file: &'static str,
        with: &'static str,
    },
}

struct Wrong {
    /// A name for the copy's folder and programs.
    name: &'static str,
    exercise: &'static str,
    /// `Which::Starter` or `Which::Solution`: what the edits apply to.
    base: Which,
    edits: &'static [Edit],
    /// The start of the title of the requirement that must fail.
    fails: &'static str,
}

const WRONG: &[Wrong] = &[
    Wrong {
        // Prints what test1 and test2 would print, switching nothing.
        name: "greenlet-prints-the-numbers",
        exercise: "greenlet",
        base: Which::Solution,
        edits: &[Edit::Replace {
            file: "src/lib.rs",
            find: "// EXERCISE: the trampoline: resume greenlets until one finishes",
            with: r#"if true {
        for (number, then) in [
            ("12", "gr1 switches to gr2"),
            ("56", "gr2 switches to gr1"),
            ("34", "gr1 switches to gr2"),
            ("78", "gr2 finished: back to main"),
        ] {
            println!("{number}");
            if self.trace {
                println!("    ({then})");
            }
        }
        self.all[0].state = State::Suspended;
        self.all[1].state = State::Finished;
        return Ok(());
    }"#,
        }],
        fails: "greenlets the checker writes run in the order",
    },
    Wrong {
        name: "select-server-thread-per-client",
        exercise: "select-server",
        base: Which::Solution,
        edits: &[Edit::File {
            file: "src/bin/server.rs",
            with: include_str!("wrong/thread_per_client_server.rs"),
        }],
        fails: "serves all its clients on one thread",
    },
    Wrong {
        // Stops at the first word with a `;`, as if a shell had ended the
        // command there: `df -h; rm -rf x` runs a bare `df`.
        name: "rpc-commands-cut-at-semicolon",
        exercise: "rpc-commands",
        base: Which::Solution,
        edits: &[Edit::Replace {
            file: "src/exec.rs",
            find: ".args(args)",
            with: ".args(args.iter().take_while(|word| !word.contains(';')))",
        }],
        fails: "`df -h; rm -rf x` runs no shell",
    },
    Wrong {
        // No prefetch limit: the broker pushes every waiting task to the
        // first worker.
        name: "work-queues-no-prefetch",
        exercise: "work-queues",
        base: Which::Solution,
        edits: &[Edit::Replace {
            file: "src/lib.rs",
            find: ".basic_qos(prefetch,",
            with: ".basic_qos(0,",
        }],
        fails: "prefetch 1:",
    },
    Wrong {
        // Reads the balance without WATCH: the transaction cannot notice a
        // concurrent change.
        name: "pipeline-no-watch",
        exercise: "pipeline",
        base: Which::Solution,
        edits: &[Edit::Replace {
            file: "src/lib.rs",
            find: r#"redis::cmd("WATCH").arg(from).exec(con)?;"#,
            with: "",
        }],
        fails: "each transfer WATCHes the balance",
    },
    Wrong {
        // Opens paths beneath the root's handle, but without asking the
        // kernel to keep the walk beneath it: links lead anywhere.
        name: "ftp-jail-without-links",
        exercise: "ftp",
        base: Which::Solution,
        edits: &[Edit::Replace {
            file: "src/jail.rs",
            find: "how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;",
            with: "how.resolve = libc::RESOLVE_NO_MAGICLINKS;",
        }],
        fails: "symbolic links that lead out of the root are refused",
    },
];

#[test]
fn every_checker_has_a_known_wrong_solution() {
    for exercise in check::EXERCISES {
        assert!(
            WRONG.iter().any(|wrong| wrong.exercise == exercise.name),
            "no known-wrong solution for the checker {}",
            exercise.name
        );
    }
}

#[test]
fn each_known_wrong_solution_fails_its_requirement_with_a_hint() {
    let root = course::workspace_root();
    let mut problems = Vec::new();
    for wrong in WRONG {
        let exercise = check::find(wrong.exercise).unwrap();
        let requirement = exercise
            .requirements
            .iter()
            .find(|requirement| requirement.title.starts_with(wrong.fails))
            .unwrap_or_else(|| panic!("{}: no requirement `{}...`", wrong.name, wrong.fails));
        let dir = copy_with_edits(wrong, &root);
        let subject = check::build(exercise, &Which::Crate(dir), &root)
            .unwrap_or_else(|e| panic!("{}: {e}", wrong.name));
        match (requirement.check)(&subject) {
            Ok(()) => problems.push(format!(
                "{}: passes `{}`, which it breaks",
                wrong.name, requirement.title
            )),
            Err(failure) if failure.starts_with(check::SKIPPED) => problems.push(format!(
                "{}: `{}` was skipped: {failure}",
                wrong.name, requirement.title
            )),
            Err(failure) => {
                assert!(!requirement.hint.is_empty(), "{}: no hint", wrong.name);
                // Shown with --nocapture: what a student with this bug reads.
                eprintln!(
                    "{}: FAIL  {}\n  {}\n  hint: {}",
                    wrong.name,
                    requirement.title,
                    failure.replace('\n', "\n  "),
                    requirement.hint
                );
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Copies the base crate's manifest and sources to a folder of the wrong
/// solution's own, applies its edits, and makes the manifest stand alone.
fn copy_with_edits(wrong: &Wrong, root: &Path) -> PathBuf {
    let exercise = check::find(wrong.exercise).unwrap();
    let base = match wrong.base {
        Which::Starter => root.join("lessons/exercises").join(exercise.starter),
        Which::Solution => course::find(&exercise.lesson.to_string())
            .unwrap()
            .path(root),
        Which::Crate(_) => unreachable!("a known-wrong solution edits the starter or solution"),
    };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = target.join("classroom-wrong").join(wrong.name);
    let mut files = Vec::new();
    list_files(&base, Path::new("src"), &mut files);
    for edit in wrong.edits {
        let (file, edited) = match edit {
            Edit::Replace { file, find, with } => {
                let text = fs::read_to_string(base.join(file)).unwrap();
                assert_eq!(
                    text.matches(find).count(),
                    1,
                    "{}: `{find}` is no longer in {} exactly once: update the edit",
                    wrong.name,
                    base.join(file).display()
                );
                (file, text.replacen(find, with, 1))
            }
            Edit::File { file, with } => (file, with.to_string()),
        };
        let slot = files
            .iter_mut()
            .find(|(path, _)| path == Path::new(file))
            .unwrap_or_else(|| panic!("{}: {file} is not in {}", wrong.name, base.display()));
        slot.1 = edited.into_bytes();
    }
    // Unchanged files keep their timestamps: cargo rebuilds only what changed.
    for (path, bytes) in &files {
        write_if_changed(&dir.join(path), bytes);
    }
    let manifest = fs::read_to_string(base.join("Cargo.toml")).unwrap();
    let workspace = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    write_if_changed(
        &dir.join("Cargo.toml"),
        standalone(&manifest, &workspace, root, &dir, wrong.name).as_bytes(),
    );
    // The course's lock each time (cargo trims it): the versions the
    // workspace has built, whatever changed since the last run.
    write_if_changed(
        &dir.join("Cargo.lock"),
        &fs::read(root.join("Cargo.lock")).unwrap(),
    );
    dir
}

/// The crate's manifest as a workspace of its own: its `[[bin]]`,
/// `[[bench]]` and `[[test]]` tables dropped, each `src/bin/NAME.rs`
/// declared as `NAME-<wrong>`, and the course's `[workspace.*]` tables (path
/// dependencies made absolute) added, for the `.workspace = true` keys.
fn standalone(manifest: &str, workspace: &str, root: &Path, dir: &Path, name: &str) -> String {
    let mut out = String::new();
    let mut keep = true;
    for line in manifest.lines() {
        if line.starts_with('[') {
            keep = !["[[bin]]", "[[bench]]", "[[test]]", "[[example]]"].contains(&line.trim());
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
        if line.trim() == "[package]" {
            out.push_str("autobins = false\n");
        }
    }
    let mut bins: Vec<_> = fs::read_dir(dir.join("src/bin"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            file.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    bins.sort();
    for bin in bins {
        out.push_str(&format!(
            "\n[[bin]]\nname = \"{bin}-{name}\"\npath = \"src/bin/{bin}.rs\"\n"
        ));
    }
    let tables = &workspace[workspace
        .find("[workspace.package]")
        .expect("the course's Cargo.toml has [workspace.package]")..];
    out.push_str("\n[workspace]\n\n");
    out.push_str(&tables.replace(
        "path = \"lessons/",
        &format!("path = \"{}/lessons/", root.display()),
    ));
    out
}

/// Every file under `base/folder`, as (path relative to `base`, contents).
fn list_files(base: &Path, folder: &Path, into: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in fs::read_dir(base.join(folder)).unwrap().flatten() {
        let path = folder.join(entry.file_name());
        if entry.path().is_dir() {
            list_files(base, &path, into);
        } else {
            into.push((path, fs::read(entry.path()).unwrap()));
        }
    }
}

/// Leaves an unchanged file alone, so that cargo does not rebuild for nothing.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).ok().as_deref() != Some(bytes) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
}
