//! Exercise checkers behind `just check NAME`.
//!
//! An exercise is a starter crate under `lessons/exercises/` that compiles
//! but has the interesting parts left as `todo!()`. Its checker is a list of
//! requirements, each a black-box test of the built programs (run them, read
//! what they print, talk to them over the network), printed as passed or
//! failed, with a hint for each failure. The reference solution, the lesson
//! itself, passes every one; the untouched starter fails with useful hints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// One requirement of an exercise.
pub struct Requirement {
    /// What must be true, as the student reads it: "prints 12, 56, 34, 78".
    pub title: &'static str,
    /// Where to look when it fails.
    pub hint: &'static str,
    /// The test: `Err` says what was seen instead.
    pub check: fn(&Subject) -> Result<()>,
}

/// An exercise: where its starter lives and what it must do.
pub struct Exercise {
    /// What students type: `just check greenlet`.
    pub name: &'static str,
    /// The lesson it comes from; the lesson's crate is the reference solution.
    pub lesson: u8,
    /// The starter crate's folder under `lessons/exercises/`.
    pub starter: &'static str,
    /// The programs the checks run.
    pub programs: &'static [&'static str],
    /// A program of the checker's own, built against the subject's library
    /// (its source; the library is the dependency `subject`), for checks
    /// that must drive the student's code rather than run their programs.
    pub probe: Option<&'static str>,
    pub requirements: &'static [Requirement],
}

/// Every exercise.
pub const EXERCISES: &[Exercise] = &[
    crate::exercises::greenlet::EXERCISE,
    crate::exercises::select_server::EXERCISE,
    crate::exercises::work_queues::EXERCISE,
    crate::exercises::pipeline::EXERCISE,
    crate::exercises::ftp::EXERCISE,
    crate::exercises::rpc_commands::EXERCISE,
];

/// What is being checked: the built programs of a starter or a solution.
pub struct Subject {
    /// Program name → path of the built binary.
    pub programs: HashMap<&'static str, PathBuf>,
    /// Extra settings a checker may take (`--addr` for an external server).
    pub options: HashMap<String, String>,
    /// The exercise's probe built against this subject, or why it is not.
    pub probe: Result<PathBuf, String>,
}

impl Subject {
    /// Runs `program` with `args` and returns its output, killing it if it
    /// runs longer than `timeout`.
    pub fn run(&self, program: &str, args: &[&str], timeout: Duration) -> Result<Output> {
        let path = self
            .programs
            .get(program)
            .ok_or_else(|| format!("no program {program}"))?;
        run_with_timeout(program, path, args, timeout)
    }

    /// Runs the exercise's probe (see [`Exercise::probe`]) like [`Subject::run`].
    pub fn run_probe(&self, args: &[&str], timeout: Duration) -> Result<Output> {
        let path = self.probe.as_ref().map_err(Clone::clone)?;
        run_with_timeout("the checker's probe", path, args, timeout)
    }
}

fn run_with_timeout(
    program: &str,
    path: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<Output> {
    let mut child = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", path.display()))?;
    let deadline = Instant::now() + timeout;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{program} did not finish within {} s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().map_err(|e| e.to_string())
}

/// Which code to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// The starter crate, as the student has edited it.
    Starter,
    /// The lesson's own code, the reference solution.
    Solution,
    /// Another crate folder with the same programs.
    Crate(PathBuf),
}

/// The outcome of one requirement.
pub struct Verdict {
    pub title: &'static str,
    pub hint: &'static str,
    /// `None` when it passed; what went wrong otherwise.
    pub failure: Option<String>,
}

/// Finds an exercise by name, or says which exist.
pub fn find(name: &str) -> Result<&'static Exercise> {
    EXERCISES
        .iter()
        .find(|exercise| exercise.name == name)
        .ok_or_else(|| format!("there is no exercise `{name}`.\n{}", listing()))
}

/// The list `just check` prints with no name.
pub fn listing() -> String {
    let mut out = String::from("Exercises (check one with: just check NAME [--solution]):\n");
    for exercise in EXERCISES {
        out.push_str(&format!(
            "  {:<14} lesson-{:02}  starter: lessons/exercises/{}\n",
            exercise.name, exercise.lesson, exercise.starter
        ));
    }
    out
}

/// Builds the programs of `which` and returns them as a subject.
pub fn build(exercise: &Exercise, which: &Which, root: &Path) -> Result<Subject> {
    let dir = match which {
        Which::Starter => root.join("lessons/exercises").join(exercise.starter),
        Which::Solution => course::find(&exercise.lesson.to_string())
            .map_err(|e| e.to_string())?
            .path(root),
        Which::Crate(dir) => dir.clone(),
    };
    let dir = std::path::absolute(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let manifest = dir.join("Cargo.toml");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    cargo_build(&manifest, root, &target_dir)
        .map_err(|errors| format!("{} does not compile yet:\n{errors}", dir.display()))?;
    let programs = exercise
        .programs
        .iter()
        .map(|program| {
            (
                *program,
                target_dir
                    .join("debug")
                    .join(course::bin_target_in(&manifest, program)),
            )
        })
        .collect();
    let probe = match exercise.probe {
        Some(source) => build_probe(exercise, source, &dir, root, &target_dir),
        None => Err(format!("the exercise {} has no probe", exercise.name)),
    };
    Ok(Subject {
        programs,
        options: HashMap::new(),
        probe,
    })
}

/// `cargo build --bins` of one manifest into `target_dir`; `Err` holds
/// cargo's messages.
fn cargo_build(manifest: &Path, root: &Path, target_dir: &Path) -> Result<()> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--bins")
        .arg("--message-format=short")
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Builds the exercise's probe against the library of the crate in `dir`:
/// a one-file crate of its own under the target folder (a workspace of its
/// own, with the course's Cargo.lock, so it needs no download and shares
/// the built dependencies), named after `dir` so that probes of different
/// subjects never overwrite each other.
fn build_probe(
    exercise: &Exercise,
    source: &str,
    dir: &Path,
    root: &Path,
    target_dir: &Path,
) -> Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| e.to_string())?;
    let package = manifest
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "name").then(|| value.trim().trim_matches('"').to_string())
        })
        .ok_or("the crate's Cargo.toml names no package")?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("probe-{}-{:016x}", exercise.name, hasher.finish());
    let probe_dir = target_dir.join("classroom-probes").join(&name);
    let write = |file: &str, text: &str| -> Result<()> {
        let path = probe_dir.join(file);
        // Unchanged files keep their timestamps: no needless rebuild.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    };
    std::fs::create_dir_all(&probe_dir).map_err(|e| e.to_string())?;
    write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n[[bin]]\nname = \"{name}\"\npath = \"main.rs\"\n\n\
             [dependencies]\nsubject = {{ package = \"{package}\", path = {:?} }}\n\n\
             [workspace]\n",
            dir.display().to_string()
        ),
    )?;
    write("main.rs", source)?;
    // The course's lock each time (cargo trims it to the probe's needs):
    // the versions the workspace has built, whatever changed since.
    if let Ok(lock) = std::fs::read_to_string(root.join("Cargo.lock")) {
        write("Cargo.lock", &lock)?;
    }
    cargo_build(&probe_dir.join("Cargo.toml"), root, target_dir).map_err(|errors| {
        format!(
            "the checker's own program, which drives your library, does not compile \
             against it (did a given signature change?):\n{errors}"
        )
    })?;
    Ok(target_dir.join("debug").join(name))
}

/// Runs every requirement.
pub fn check(exercise: &Exercise, subject: &Subject) -> Vec<Verdict> {
    exercise
        .requirements
        .iter()
        .map(|requirement| Verdict {
            title: requirement.title,
            hint: requirement.hint,
            failure: (requirement.check)(subject).err(),
        })
        .collect()
}

/// How a whole check ended, and the exit code `just check` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every requirement was checked and met: exit code 0.
    AllPassed,
    /// At least one requirement failed: exit code 1.
    Failed,
    /// None failed, but some could not be checked here: exit code 3. Not a
    /// success: nobody knows whether those requirements are met.
    Unchecked,
}

impl Outcome {
    /// Exit code 2 is taken by usage errors.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::AllPassed => 0,
            Outcome::Failed => 1,
            Outcome::Unchecked => 3,
        }
    }
}

/// The last line of a report, `6 passed, 2 skipped (not checked).`, and
/// what it amounts to.
pub fn summary(verdicts: &[Verdict]) -> (String, Outcome) {
    let passed = verdicts.iter().filter(|v| v.failure.is_none()).count();
    let skipped = verdicts.iter().filter(|v| v.is_skipped()).count();
    let failed = verdicts.len() - passed - skipped;
    let mut line = format!("{passed} passed");
    if failed > 0 {
        line.push_str(&format!(", {failed} failed"));
    }
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped (not checked)"));
    }
    let outcome = if failed > 0 {
        Outcome::Failed
    } else if skipped > 0 {
        Outcome::Unchecked
    } else {
        line.push_str(&format!(": all {} requirements met", verdicts.len()));
        Outcome::AllPassed
    };
    (format!("{line}."), outcome)
}

/// Prints the verdicts and the summary; returns the outcome.
pub fn report(exercise: &Exercise, verdicts: &[Verdict]) -> Outcome {
    println!(
        "Exercise `{}` (lesson {:02})",
        exercise.name, exercise.lesson
    );
    for verdict in verdicts {
        match &verdict.failure {
            None => println!("  PASS  {}", verdict.title),
            Some(failure) => match failure.strip_prefix(SKIPPED) {
                Some(reason) => println!("  SKIP  {}\n          {reason}", verdict.title),
                None => {
                    println!("  FAIL  {}", verdict.title);
                    for line in failure.lines().take(12) {
                        println!("          {line}");
                    }
                    println!("        hint: {}", verdict.hint);
                }
            },
        }
    }
    let (line, outcome) = summary(verdicts);
    println!("{line}");
    outcome
}

/// How a check says "this cannot be checked here" (for example a look
/// inside the root of a server at `--addr`): reported as SKIP, not FAIL.
pub const SKIPPED: &str = "skipped: ";

/// A check's result when it cannot be carried out in this setting.
pub fn skip(reason: impl std::fmt::Display) -> Result<()> {
    Err(format!("{SKIPPED}{reason}"))
}

impl Verdict {
    /// Whether the check was skipped rather than failed.
    pub fn is_skipped(&self) -> bool {
        self.failure
            .as_deref()
            .is_some_and(|failure| failure.starts_with(SKIPPED))
    }
}

/// Why a program failed, in a line or two: its panic message if it
/// panicked (a `todo!()` says "not yet implemented"), or its exit status.
pub fn describe_failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines = stderr.lines();
    let panic = lines.by_ref().find(|line| line.contains("panicked at"));
    match panic {
        Some(at) => {
            let message = lines.next().unwrap_or("").trim();
            format!("it panicked: {message}\n  ({})", at.trim())
        }
        None => format!(
            "it exited with {}; its last words: {}",
            output.status,
            stderr.lines().last().unwrap_or("(nothing)")
        ),
    }
}

/// Compares two texts and describes the first difference, for failures.
pub fn expect_text(what: &str, got: &str, expected: &str) -> Result<()> {
    if got == expected {
        return Ok(());
    }
    let first = got
        .lines()
        .zip(expected.lines())
        .position(|(g, e)| g != e)
        .unwrap_or_else(|| got.lines().count().min(expected.lines().count()));
    Err(format!(
        "{what}: line {} differs\n  expected: {:?}\n  got:      {:?}",
        first + 1,
        expected.lines().nth(first).unwrap_or("(end of output)"),
        got.lines().nth(first).unwrap_or("(end of output)")
    ))
}
