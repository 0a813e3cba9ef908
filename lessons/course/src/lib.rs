//! The course map: every lesson's number, folder, title and programs.
//!
//! `just list` and `just run lesson-NN` are built on this table. The numbers,
//! folders and program names are fixed by the course plan, so they live here
//! as data; a test checks that every lesson folder that exists matches it
//! (same programs in `src/bin/`), so the table cannot drift from the code.

use std::fmt;
use std::path::{Path, PathBuf};

pub mod brokers;
pub mod charts;
pub mod exercises;

/// One lesson of the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lesson {
    /// The number students type: `just run lesson-05`.
    pub number: u8,
    /// Where the crate lives, under `lessons/`.
    pub dir: &'static str,
    /// One line on what it shows.
    pub title: &'static str,
    /// Its programs, the files in `src/bin/`, in the order to try them.
    pub bins: &'static [&'static str],
}

impl Lesson {
    /// The cargo package name: `lesson-` and the folder's last part,
    /// e.g. `lesson-01-generators`.
    pub fn package(&self) -> String {
        let slug = self.dir.rsplit('/').next().unwrap_or(self.dir);
        format!("lesson-{slug}")
    }

    /// The crate's folder inside the workspace.
    pub fn path(&self, root: &Path) -> PathBuf {
        root.join("lessons").join(self.dir)
    }

    /// The cargo target name of one of its programs.
    ///
    /// Usually the program's name. But cargo puts every binary of the
    /// workspace at `target/<profile>/<name>`, so two lessons with a program
    /// called `server` would overwrite each other; such a lesson declares
    /// `[[bin]] name = "lesson-08-server"` with `path = "src/bin/server.rs"`,
    /// and this finds that name.
    pub fn bin_target(&self, root: &Path, program: &str) -> String {
        bin_target_in(&self.path(root).join("Cargo.toml"), program)
    }

    /// Whether the lesson has been written yet (its crate exists).
    pub fn is_written(&self, root: &Path) -> bool {
        self.path(root).join("Cargo.toml").is_file()
    }
}

/// The cargo target name of `program` in the crate whose manifest is
/// `manifest`: the `name` of a `[[bin]]` entry with `path =
/// "src/bin/<program>.rs"`, or else the program's own name.
pub fn bin_target_in(manifest: &Path, program: &str) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    // A starter builds a lesson's program from the lesson's own file, so
    // its path may lead out of the crate: match the end.
    let wanted = format!("/bin/{program}.rs");
    text.split("[[bin]]")
        .skip(1)
        .find_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|line| {
                    let (k, v) = line.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
                })
            };
            let path = format!("/{}", field("path")?);
            path.ends_with(&wanted).then(|| field("name")).flatten()
        })
        .unwrap_or_else(|| program.to_string())
}

/// The whole course, in order.
#[rustfmt::skip]
pub const LESSONS: &[Lesson] = &[
    lesson(1, "coroutines/01-generators", "Generators: a producer feeds two consumers with send", &["producer-consumer"]),
    lesson(2, "coroutines/02-greenlet", "Greenlet: switching by hand between two stackful coroutines", &["switch"]),
    lesson(3, "coroutines/03-gevent", "gevent: spawning and joining may coroutines; sync vs async timing", &["spawn", "sync-vs-async"]),
    lesson(4, "coroutines/04-io-switch", "Switching on IO: the same downloads one by one and at once", &["fetch", "fetch-async", "delay-server"]),
    lesson(5, "coroutines/05-coroutine-echo", "A coroutine echo server on one thread, a stress client, and the notes' 100-thread client", &["server", "client", "stress", "threads-client"]),
    lesson(6, "event-driven/06-event-loop", "Event-driven: an event queue; sync, threads and an event loop", &["events", "three-models"]),
    lesson(7, "io-multiplexing/07-select-poll-epoll", "select, poll and epoll: one wait written three ways; the five IO models", &["compare", "io-models"]),
    lesson(8, "io-multiplexing/08-select-server", "A select(2) server with a message queue per connection", &["server", "client"]),
    lesson(9, "io-multiplexing/09-selectors", "Selectors with mio: callbacks carried by registrations", &["server"]),
    lesson(10, "rabbitmq/10-hello-world", "RabbitMQ hello world, and connecting as your own user", &["send", "receive"]),
    lesson(11, "rabbitmq/11-work-queues", "Work queues: acks, durability and fair dispatch", &["new-task", "worker"]),
    lesson(12, "rabbitmq/12-publish-subscribe", "Publish/subscribe with a fanout exchange", &["emit-log", "receive-logs"]),
    lesson(13, "rabbitmq/13-routing", "Routing with direct and headers exchanges", &["emit-log-direct", "receive-logs-direct", "emit-log-headers", "receive-logs-headers"]),
    lesson(14, "rabbitmq/14-topics", "Topics: what * and # really match", &["emit-log-topic", "receive-logs-topic"]),
    lesson(15, "rabbitmq/15-rpc", "RPC over RabbitMQ: reply_to and correlation ids", &["rpc-server", "rpc-client"]),
    lesson(16, "redis/16-connect", "Redis: one connection, and a pool shared by many; Memcached by hand", &["connect", "pool", "memcached"]),
    lesson(17, "redis/17-strings", "Redis strings, bits and the online-users bitmap", &["strings"]),
    lesson(18, "redis/18-hashes", "Redis hashes and incremental HSCAN", &["hashes"]),
    lesson(19, "redis/19-lists", "Redis lists and blocking pops", &["lists"]),
    lesson(20, "redis/20-sets", "Redis sets", &["sets"]),
    lesson(21, "redis/21-sorted-sets", "Redis sorted sets", &["sorted-sets"]),
    lesson(22, "redis/22-keys", "Redis keys: expiry, rename, move, type and scan", &["keys"]),
    lesson(23, "redis/23-pipeline", "Redis pipelines and MULTI/EXEC transactions", &["pipeline"]),
    lesson(24, "redis/24-pubsub", "Redis publish/subscribe on channel fm104.5", &["publisher", "subscriber"]),
    lesson(25, "homework/25-ftp", "Homework: an FTP server on one event loop", &["ftp-server", "ftp-client"]),
    lesson(26, "homework/26-rpc-commands", "Homework: run commands on many hosts over RabbitMQ", &["agent", "rpc"]),
    lesson(27, "beyond/27-redis-replication", "Redis after kill -9: persistence, replicas and WAIT, Sentinel failover", &["replicate", "failover"]),
    lesson(28, "beyond/28-rabbitmq-cluster", "A RabbitMQ cluster: a quorum queue loses nothing when its leader is killed", &["cluster", "chaos"]),
];

const fn lesson(
    number: u8,
    dir: &'static str,
    title: &'static str,
    bins: &'static [&'static str],
) -> Lesson {
    Lesson {
        number,
        dir,
        title,
        bins,
    }
}

/// A benchmark: `just bench NAME` runs `cargo bench` on its target, which
/// builds it with optimisations. Benchmarks print ratios measured side by
/// side in one run. `just bench NAME --smoke` runs it with tiny sizes, one
/// round and no verdict, built like the tests: `just test` runs every
/// benchmark that way, so none can rot unnoticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bench {
    /// What students type: `just bench coroutines`.
    pub name: &'static str,
    /// The lesson whose crate holds it, in `benches/<target>.rs`.
    pub lesson: u8,
    /// The `[[bench]]` target (with `harness = false`).
    pub target: &'static str,
    /// One line on what it measures.
    pub about: &'static str,
}

/// The flag that asks a benchmark for its smoke run (each one accepts it).
pub const SMOKE: &str = "--smoke";

/// Every benchmark. Each is a `[[bench]]` target with `harness = false` in
/// a lesson crate; `cargo bench` passes it a `--bench` flag, which it must
/// accept and ignore, and each accepts [`SMOKE`].
#[rustfmt::skip]
pub const BENCHES: &[Bench] = &[
    Bench { name: "coroutines", lesson: 3, target: "coroutines", about: "10,000 threads, 100,000 may coroutines, 1,000,000 tokio tasks: time and memory per unit" },
    Bench { name: "echo", lesson: 9, target: "echo", about: "The echo arena: lessons 05, 08, 09 and redis-server under one load generator" },
    Bench { name: "rabbitmq", lesson: 10, target: "rabbitmq", about: "RabbitMQ publish and consume rates: lesson code (lapin) vs the notes' pika" },
    Bench { name: "redis", lesson: 23, target: "redis", about: "SET rate per round trip and pipelined, next to redis-benchmark -c 1 (-P 16)" },
    Bench { name: "ftp", lesson: 25, target: "ftp", about: "FTP server vs pyftpdlib (and vsftpd): 1 GiB down/up with curl, 100 clients, peak RSS" },
    Bench { name: "rpc", lesson: 26, target: "rpc", about: "10 agents x 100 tasks: tasks/s, p50/p99 from run to the last result, all checked" },
];

impl Bench {
    /// The lesson crate that holds this benchmark.
    pub fn lesson(&self) -> Lesson {
        LESSONS[usize::from(self.lesson) - 1]
    }
}

/// Finds a benchmark by name, or says which exist.
pub fn find_bench(name: &str) -> Result<Bench, String> {
    BENCHES
        .iter()
        .find(|bench| bench.name == name)
        .copied()
        .ok_or_else(|| format!("there is no benchmark `{name}`.\n{}", bench_listing()))
}

/// The list `just bench` prints with no name.
pub fn bench_listing() -> String {
    if BENCHES.is_empty() {
        return "No benchmarks are written yet.\n".to_string();
    }
    let mut out = String::from(
        "Benchmarks (run one with: just bench NAME [ARGS...]; a quick check that it works: --smoke):\n",
    );
    for bench in BENCHES {
        out.push_str(&format!(
            "  {:<12} lesson-{:02}  {}\n",
            bench.name, bench.lesson, bench.about
        ));
    }
    out
}

/// Why a `just run` request cannot be carried out.
#[derive(Debug, PartialEq, Eq)]
pub enum RunError {
    /// Not of the form `lesson-NN`, `NN` or `N`.
    NotALesson(String),
    /// A number the course does not have.
    NoSuchLesson(String),
    /// On the map, but its crate does not exist yet.
    NotWritten(Lesson),
    /// Several programs and none named: the student must choose.
    ChooseProgram(Lesson),
    /// A program name the lesson does not have.
    NoSuchProgram(Lesson, String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = format!("lesson-01 to lesson-{:02}", LESSONS.len());
        match self {
            RunError::NotALesson(name) => write!(
                f,
                "`{name}` is not a lesson name: write lesson-NN, from {range} (see `just list`)"
            ),
            RunError::NoSuchLesson(name) => write!(
                f,
                "there is no {name}: the course has {range} (see `just list`)"
            ),
            RunError::NotWritten(lesson) => write!(
                f,
                "lesson-{:02} ({}) is on the course map but not written yet",
                lesson.number, lesson.title
            ),
            RunError::ChooseProgram(lesson) => {
                writeln!(
                    f,
                    "lesson-{:02} has {} programs; name the one to run:",
                    lesson.number,
                    lesson.bins.len()
                )?;
                for bin in lesson.bins {
                    writeln!(f, "  just run lesson-{:02} {bin}", lesson.number)?;
                }
                write!(f, "(add --help after a program's name to see its options)")
            }
            RunError::NoSuchProgram(lesson, name) => write!(
                f,
                "lesson-{:02} has no program `{name}`; its programs are: {}",
                lesson.number,
                lesson.bins.join(", ")
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// Finds a lesson by `lesson-05`, `05` or `5`.
pub fn find(name: &str) -> Result<Lesson, RunError> {
    let digits = name.strip_prefix("lesson-").unwrap_or(name);
    let number: u8 = digits
        .parse()
        .ok()
        .filter(|_| digits.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| RunError::NotALesson(name.to_string()))?;
    LESSONS
        .iter()
        .find(|lesson| lesson.number == number)
        .copied()
        .ok_or_else(|| RunError::NoSuchLesson(name.to_string()))
}

/// What `just run` will execute: which package, which program, which
/// arguments for the program.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub package: String,
    /// The cargo target name (see [`Lesson::bin_target`]).
    pub bin: String,
    pub args: Vec<String>,
}

/// Decides what `just run <lesson> [args...]` runs.
///
/// A lesson with one program runs it with all the arguments (naming the
/// program first is allowed too). A lesson with several needs the program's
/// name as the first argument.
pub fn plan(root: &Path, name: &str, args: &[String]) -> Result<Plan, RunError> {
    let lesson = find(name)?;
    if !lesson.is_written(root) {
        return Err(RunError::NotWritten(lesson));
    }
    let named = args
        .first()
        .and_then(|first| lesson.bins.iter().find(|bin| **bin == first.as_str()));
    let (bin, rest) = match (named, lesson.bins) {
        (Some(bin), _) => (*bin, &args[1..]),
        (None, [only]) => (*only, args),
        (None, _) => match args.first() {
            None => return Err(RunError::ChooseProgram(lesson)),
            Some(first) if first.starts_with('-') => return Err(RunError::ChooseProgram(lesson)),
            Some(first) => return Err(RunError::NoSuchProgram(lesson, first.clone())),
        },
    };
    Ok(Plan {
        package: lesson.package(),
        bin: lesson.bin_target(root, bin),
        args: rest.to_vec(),
    })
}

/// The table `just list` prints.
pub fn listing(root: &Path) -> String {
    let mut out =
        String::from("The course (run one with: just run lesson-NN [PROGRAM] [ARGS...])\n\n");
    let width = LESSONS.iter().map(|l| l.title.len()).max().unwrap_or(0);
    let mut section = "";
    for lesson in LESSONS {
        let this_section = lesson.dir.split('/').next().unwrap_or("");
        if this_section != section {
            section = this_section;
            out.push_str(&format!("{section}\n"));
        }
        let programs = if lesson.is_written(root) {
            lesson.bins.join(", ")
        } else {
            "(not written yet)".to_string()
        };
        out.push_str(&format!(
            "  lesson-{:02}  {:<width$}  {programs}\n",
            lesson.number, lesson.title
        ));
    }
    out
}

/// The workspace root: two levels above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        workspace_root()
    }

    #[test]
    fn numbers_run_from_one_without_gaps() {
        for (index, lesson) in LESSONS.iter().enumerate() {
            assert_eq!(usize::from(lesson.number), index + 1, "{lesson:?}");
        }
    }

    #[test]
    fn lessons_are_found_by_any_spelling() {
        assert_eq!(find("lesson-05").unwrap().number, 5);
        assert_eq!(find("05").unwrap().number, 5);
        assert_eq!(find("5").unwrap().number, 5);
        assert!(matches!(find("lesson-99"), Err(RunError::NoSuchLesson(_))));
        assert!(matches!(find("lesson-+5"), Err(RunError::NotALesson(_))));
        assert!(matches!(find("hello"), Err(RunError::NotALesson(_))));
    }

    #[test]
    fn a_single_program_needs_no_name() {
        let plan = plan(&root(), "lesson-01", &[]).unwrap();
        assert_eq!(plan.package, "lesson-01-generators");
        assert_eq!(plan.bin, "producer-consumer");
        let args = vec!["producer-consumer".to_string(), "--rounds".to_string()];
        let named = super::plan(&root(), "1", &args).unwrap();
        assert_eq!(named.args, vec!["--rounds"]);
    }

    #[test]
    fn unknown_lessons_and_programs_are_clear_errors() {
        let error = plan(&root(), "lesson-99", &[]).unwrap_err().to_string();
        assert!(error.contains("there is no lesson-99"), "{error}");
        let args = vec!["nope".to_string()];
        let error = plan(&root(), "lesson-02", &args);
        // lesson 02 has one program, so `nope` is an argument for it.
        assert_eq!(error.unwrap().args, args);
    }
}
