//! The classroom's own machinery: the stage runs and scripts programs, every
//! checker passes the reference solution and fails the untouched starter,
//! every demo plays to its end on throwaway brokers and proves its point.

use std::process::Command;
use std::time::Duration;

use classroom::check::{self, EXERCISES, Which};
use classroom::demos::{self, DEMOS};
use classroom::stage::Stage;

#[test]
fn the_stage_waits_types_and_collects_lines() {
    let mut stage = Stage::new(false);
    let mut echo = Command::new("sh");
    echo.args([
        "-c",
        "echo ready; read name; echo \"hello $name\"; echo oops >&2",
    ]);
    stage.spawn_command("shell", echo).unwrap();
    stage
        .wait_for("shell", "ready", Duration::from_secs(10))
        .unwrap();
    stage.type_line("shell", "class").unwrap();
    let line = stage
        .wait_for("shell", "hello", Duration::from_secs(10))
        .unwrap();
    assert_eq!(line, "hello class");
    assert!(
        stage
            .wait_exit("shell", Duration::from_secs(10))
            .unwrap()
            .success()
    );
    let error = stage.wait_for("shell", "never printed", Duration::from_secs(10));
    assert!(error.is_err());
    let lines = stage.lines_of("shell");
    assert!(lines.contains(&"oops".to_string()), "{lines:?}");
}

#[test]
fn every_checker_passes_the_solution_and_fails_the_starter() {
    let root = course::workspace_root();
    for exercise in EXERCISES {
        let solution = check::build(exercise, &Which::Solution, &root).unwrap();
        for verdict in check::check(exercise, &solution) {
            assert!(
                verdict.failure.is_none(),
                "{}: the solution fails `{}`: {:?}",
                exercise.name,
                verdict.title,
                verdict.failure
            );
        }
        // Every requirement needs the student's code, so the untouched
        // starter fails each one (a SKIP would not do), with a hint.
        let starter = check::build(exercise, &Which::Starter, &root).unwrap();
        for verdict in check::check(exercise, &starter) {
            match &verdict.failure {
                None => panic!(
                    "{}: the untouched starter passes `{}`",
                    exercise.name, verdict.title
                ),
                Some(_) if verdict.is_skipped() => panic!(
                    "{}: `{}` is skipped on the untouched starter, not failed",
                    exercise.name, verdict.title
                ),
                Some(_) => assert!(
                    !verdict.hint.is_empty(),
                    "{}: `{}` fails without a hint",
                    exercise.name,
                    verdict.title
                ),
            }
        }
    }
}

/// A SKIP is not a pass: `just check ftp --addr` cannot look inside the
/// root of a server it did not start, says so, and exits with 3.
#[test]
fn skipped_requirements_are_not_a_success() {
    let root = course::workspace_root();
    let exercise = check::find("ftp").unwrap();
    let solution = check::build(exercise, &Which::Solution, &root).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let server = ftp_server(&solution, folder.path(), "alice:secret");
    let output = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["ftp", "--solution", "--addr", &server.addr().to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("\n6 passed, 2 skipped (not checked).\n"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("  SKIP  ").count(), 2, "{stdout}");
}

/// A check that could do only part of its work (CWD into a directory, on a
/// server where the checker cannot make one) is a SKIP, not a PASS.
#[test]
fn a_check_done_in_part_is_skipped() {
    let root = course::workspace_root();
    let exercise = check::find("ftp").unwrap();
    let mut solution = check::build(exercise, &Which::Solution, &root).unwrap();
    let folder = tempfile::tempdir().unwrap();
    // A read-only account: MKD is refused.
    let server = ftp_server(&solution, folder.path(), "alice:secret:ro");
    solution
        .options
        .insert("addr".into(), server.addr().to_string());
    let requirement = exercise
        .requirements
        .iter()
        .find(|requirement| requirement.title.starts_with("PWD shows"))
        .unwrap();
    let failure = (requirement.check)(&solution).expect_err("a PASS without CWD into a directory");
    assert!(failure.starts_with(check::SKIPPED), "{failure}");
    assert!(failure.contains("no MKD"), "{failure}");
}

fn ftp_server(
    subject: &check::Subject,
    root: &std::path::Path,
    user: &str,
) -> support::testkit::ServerProcess {
    let mut command = Command::new(&subject.programs["ftp-server"]);
    command
        .arg("--root")
        .arg(root)
        .args(["--listen", "127.0.0.1:0", "--user", user]);
    support::testkit::ServerProcess::start(command).unwrap()
}

#[test]
fn the_starter_fails_with_the_todo_message() {
    let root = course::workspace_root();
    let exercise = check::find("greenlet").unwrap();
    let starter = check::build(exercise, &Which::Starter, &root).unwrap();
    let first = &check::check(exercise, &starter)[0];
    let failure = first.failure.as_deref().unwrap_or_default();
    assert!(failure.contains("not yet implemented"), "{failure}");
}

#[test]
fn every_demo_plays_to_its_end_and_proves_its_point() {
    // One throwaway RabbitMQ and one Redis for all demos: each demo uses
    // names of its own, and a broker start costs seconds.
    let brokers = demos::Brokers::at(
        support::testkit::shared_rabbitmq().url(),
        support::testkit::shared_redis().url(),
    );
    for demo in DEMOS {
        let mut stage = Stage::new(false);
        (demo.run)(&mut stage, &brokers)
            .unwrap_or_else(|e| panic!("demo of lesson {:02}: {e}", demo.lesson));
        let transcript = stage.transcript();
        for (actor, text) in demo.proves {
            assert!(
                transcript
                    .iter()
                    .any(|line| line.actor == *actor && line.text.contains(text)),
                "demo of lesson {:02}: no line from {actor} containing `{text}`",
                demo.lesson
            );
        }
    }
}

/// With `--throwaway` (or when nothing answers), a demo gets brokers of its
/// own, off the default ports, and they answer.
#[test]
fn demos_start_throwaway_brokers_of_their_own() {
    let stage = Stage::new(false);
    let needs = demos::Needs {
        rabbitmq: false,
        redis: true,
    };
    let brokers = demos::Brokers::provide(needs, true, &stage).unwrap();
    assert_ne!(brokers.redis_url, support::redis::DEFAULT_REDIS_URL);
    support::redis::connect(&brokers.redis_url).expect("the throwaway Redis answers");
    let narration = stage.lines_of("demo");
    assert!(
        narration
            .iter()
            .any(|line| line.contains("throwaway Redis")),
        "{narration:?}"
    );
}
