//! `just run` runs the program in the folder the student typed it in, so
//! relative paths (`ftp-client get a.txt`, `--root share`) resolve there,
//! while cargo still finds the workspace.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use course::workspace_root;

/// `course run` hands over to `$CARGO`: a stand-in records the folder it
/// was started in and its arguments, instead of building anything.
#[test]
fn the_program_runs_where_the_command_was_typed() {
    let here = tempfile_dir();
    let record = here.join("record.txt");
    let fake_cargo = here.join("fake-cargo");
    fs::write(
        &fake_cargo,
        format!(
            "#!/bin/sh\npwd > '{}'\necho \"$@\" >> '{}'\n",
            record.display(),
            record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake_cargo, fs::Permissions::from_mode(0o755)).unwrap();

    let status = Command::new(env!("CARGO_BIN_EXE_course"))
        .args(["run", "lesson-25", "ftp-client", "get", "a.txt"])
        .env("CARGO", &fake_cargo)
        .current_dir(&here)
        .status()
        .expect("run course");
    assert!(status.success(), "{status}");
    let recorded = fs::read_to_string(&record).unwrap();
    let mut lines = recorded.lines();
    let cwd = lines.next().unwrap();
    assert_eq!(
        fs::canonicalize(cwd).unwrap(),
        fs::canonicalize(&here).unwrap(),
        "{recorded}"
    );
    let manifest = workspace_root().join("Cargo.toml");
    let args = lines.next().unwrap();
    assert!(
        args.contains(&format!("--manifest-path {}", manifest.display())),
        "{args}"
    );
    assert!(args.ends_with("-- get a.txt"), "{args}");
    fs::remove_dir_all(&here).unwrap();
}

/// The recipe itself must not change into the justfile's folder first.
#[test]
fn the_run_recipe_stays_in_the_users_folder() {
    let justfile = fs::read_to_string(workspace_root().join("justfile")).unwrap();
    let recipe = justfile
        .split("\n\n")
        .find(|block| block.lines().any(|line| line.starts_with("run ")))
        .expect("a run recipe");
    assert!(recipe.contains("[no-cd]"), "{recipe}");
    assert!(recipe.contains("--manifest-path"), "{recipe}");
}

/// A fresh folder of this test's own (no tempfile crate in this package).
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("course-run-here-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}
