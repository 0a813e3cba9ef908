//! `just transcripts`: runs every checked `$ just run ...` block of the book
//! and compares what the programs print now with what the block shows.
//!
//! ```text
//! just transcripts                 # check every block (part of `just test`)
//! just transcripts 16-connect      # only the blocks of files whose path has this
//! just transcripts --bless         # rewrite the blocks that differ, keeping wildcards
//! ```
//!
//! It never touches a broker a student runs: it starts a throwaway Redis and
//! RabbitMQ (the tests' `support::testkit`) when a checked block needs one,
//! and gives every program their addresses in `REDIS_URL` and `AMQP_URL`.
//! A port written in a command (`--url redis://127.0.0.1:6390/`) is replaced
//! by one of its own: 6379 and 5672 by the throwaway brokers', any other by
//! a port that was free a moment ago; the output gets the book's port back,
//! so the book can show the addresses a student sees. The programs run
//! straight from `target/debug` (`just transcripts` builds them first), with
//! no terminal and an empty stdin; stderr is merged into stdout in order, as
//! a terminal shows them.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use classroom::transcripts::{self, Block};
use support::testkit::{MemcachedServer, RabbitMq, RedisServer};

/// The longest one command may run before it counts as hanging.
const PATIENCE: Duration = Duration::from_secs(120);

/// The ports the book's commands use for the brokers.
const BOOK_REDIS_PORT: u16 = 6379;
const BOOK_AMQP_PORT: u16 = 5672;
const BOOK_MEMCACHED_PORT: u16 = 11211;

fn main() -> ExitCode {
    let mut bless = false;
    let mut filters = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bless" => bless = true,
            "-h" | "--help" => {
                println!("usage: just transcripts [--bless] [PATH-PART...]");
                return ExitCode::SUCCESS;
            }
            other if other.starts_with('-') => {
                eprintln!(
                    "error: unknown option {other}; usage: just transcripts [--bless] [PATH-PART...]"
                );
                return ExitCode::from(2);
            }
            other => filters.push(other.to_string()),
        }
    }
    // Some block differs: the comparison already said which.
    let verdict = |same| match same {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    };
    support::exit(run(bless, &filters).map(verdict))
}

/// Checks (or blesses) the blocks; `Ok(false)` when some differ.
fn run(bless: bool, filters: &[String]) -> Result<bool, String> {
    let root = workspace_root();
    let docs = root.join("docs/src");
    let mut files = Vec::new();
    markdown_files(&docs, &mut files).map_err(|e| format!("reading {}: {e}", docs.display()))?;
    files.sort();

    let mut all: Vec<Block> = Vec::new();
    for file in &files {
        let text = read(file)?;
        all.extend(transcripts::blocks_in(file, &text));
    }
    let selected: Vec<&Block> = all
        .iter()
        .filter(|block| {
            let place = block.place(&root);
            filters.is_empty() || filters.iter().any(|f| place.contains(f.as_str()))
        })
        .collect();
    // A mark that names a demo (`just demo lesson-11`) must name one that
    // exists: the demo is where that scenario is played and checked.
    for block in &selected {
        if let Some(reason) = &block.illustrative {
            for lesson in demos_named(reason) {
                classroom::demos::find(&lesson).map_err(|e| {
                    format!(
                        "{}: the mark names `just demo {lesson}`: {e}",
                        block.place(&root)
                    )
                })?;
            }
        }
    }
    let checked: Vec<&Block> = selected
        .iter()
        .copied()
        .filter(|b| b.illustrative.is_none())
        .collect();

    // Work out every command first: a block the check cannot run must be
    // marked, not discovered half-way through.
    let mut plans = Vec::new();
    for block in &checked {
        let steps = block
            .steps
            .iter()
            .map(|step| plan(&root, &step.command))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| {
                format!(
                    "{}: {e}\n  (mark the block `{} (why) -->` if it cannot be checked)",
                    block.place(&root),
                    transcripts::ILLUSTRATIVE
                )
            })?;
        plans.push(steps);
    }
    let needs_redis = plans.iter().flatten().any(|s| s.needs().0);
    let needs_rabbit = plans.iter().flatten().any(|s| s.needs().1);
    let mut brokers = Brokers::start(needs_redis, needs_rabbit)?;

    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .ok_or("cannot tell where the built programs are")?;

    let mut differ: Vec<(&Block, Vec<String>)> = Vec::new();
    for (block, steps) in checked.iter().zip(&plans) {
        let started = Instant::now();
        let mut ports = Ports::default();
        // Only a block that talks to RabbitMQ waits for it to be up.
        let wait_for_rabbit = steps.iter().any(|s| s.needs().1);
        let mut env: BTreeMap<String, String> = brokers.env(wait_for_rabbit)?;
        ports.know(brokers.redis_port(), BOOK_REDIS_PORT);
        if let Some(memcached) = &brokers.memcached {
            ports.know(memcached.port(), BOOK_MEMCACHED_PORT);
        }
        if let Some(port) = brokers.rabbit_port(wait_for_rabbit)? {
            ports.know(port, BOOK_AMQP_PORT);
        }
        let mut new_lines = Vec::new();
        let mut report = String::new();
        let mut same = true;
        for (step, planned) in block.steps.iter().zip(steps) {
            let output = match planned {
                Planned::Export(name, value) => {
                    env.insert(name.clone(), ports.map_arg(value, &brokers)?);
                    String::new()
                }
                Planned::Ctl(args) => brokers.ctl(args)?,
                Planned::Program { binary, args, .. } => {
                    let args = args
                        .iter()
                        .map(|arg| ports.map_arg(arg, &brokers))
                        .collect::<Result<Vec<_>, _>>()?;
                    execute(&root, &bin_dir.join(binary), &args, &env)?
                }
            };
            let actual: Vec<String> = trimmed_lines(&ports.restore(&output));
            let alignment = transcripts::align(&step.expected, &actual);
            new_lines.push(format!("$ {}", step.command));
            new_lines.extend(transcripts::bless(&alignment));
            if !transcripts::matches(&alignment) {
                same = false;
                report.push_str(&format!(
                    "  $ {}\n{}",
                    step.command,
                    transcripts::diff(&alignment)
                ));
            }
        }
        let took = started.elapsed().as_secs_f64();
        let command = &block.steps[0].command;
        if same {
            println!("ok      {} ({took:.1} s)  $ {command}", block.place(&root));
        } else {
            println!("DIFFERS {} ({took:.1} s)  $ {command}", block.place(&root));
            print!("{report}");
            differ.push((block, new_lines));
        }
    }

    let illustrative = selected.len() - checked.len();
    println!(
        "\n{} block(s) checked, {} differ; {illustrative} marked illustrative",
        checked.len(),
        differ.len()
    );

    // The workspace guide states the counts over the whole book.
    let guide = docs.join("workspace.md");
    let mut guide_ok = true;
    if filters.is_empty() {
        let total_checked = all.iter().filter(|b| b.illustrative.is_none()).count();
        let total_illustrative = all.len() - total_checked;
        let text = read(&guide)?;
        let mut new_text = text.clone();
        for (words, count) in [
            (transcripts::ILLUSTRATIVE_WORDS, total_illustrative),
            (transcripts::CHECKED_WORDS, total_checked),
        ] {
            match transcripts::stated_count(&new_text, words) {
                Some((stated, _)) if stated == count => {}
                Some((stated, range)) => {
                    println!(
                        "DIFFERS {}: says {stated}{words}, but {count} are",
                        place(&root, &guide)
                    );
                    new_text.replace_range(range, &count.to_string());
                    guide_ok = false;
                }
                None => return Err(format!("{} must say \"N{words}\"", place(&root, &guide))),
            }
        }
        if bless && !guide_ok {
            std::fs::write(&guide, new_text)
                .map_err(|e| format!("writing {}: {e}", guide.display()))?;
            println!("rewrote the counts in {}", place(&root, &guide));
        }
    }

    if bless {
        let mut by_file: BTreeMap<&Path, Vec<(&Block, Vec<String>)>> = BTreeMap::new();
        for (block, lines) in &differ {
            by_file
                .entry(block.file.as_path())
                .or_default()
                .push((block, lines.clone()));
        }
        for (file, updates) in by_file {
            let text = read(file)?;
            let new_text = transcripts::rewrite(&text, &updates);
            std::fs::write(file, new_text)
                .map_err(|e| format!("writing {}: {e}", file.display()))?;
            println!(
                "rewrote {} block(s) in {}",
                updates.len(),
                place(&root, file)
            );
        }
        if !differ.is_empty() {
            println!("read the change with `git diff docs/src` before committing it");
        }
        return Ok(true);
    }
    if !differ.is_empty() || !guide_ok {
        println!(
            "\nerror: the book no longer shows what the programs print (above: `-` the book, `+` the program).\n\
             Fix the program, or, if the change of output is deliberate, rewrite the blocks with:\n\
             \n    just transcripts --bless\n\
             \n(it keeps every `[..]` and `...` that still matches; read `git diff docs/src` after)"
        );
        return Ok(false);
    }
    Ok(true)
}

/// One command of a block, worked out before anything runs.
enum Planned {
    /// `just run lesson-NN ...`: a program, straight from `target/debug`.
    Program {
        binary: String,
        args: Vec<String>,
        /// Which brokers its lesson talks to: (Redis, RabbitMQ).
        needs: (bool, bool),
    },
    /// `export NAME=VALUE`: for the block's later commands.
    Export(String, String),
    /// `just rabbitmqctl ...`: against the throwaway RabbitMQ.
    Ctl(Vec<String>),
}

impl Planned {
    fn needs(&self) -> (bool, bool) {
        match self {
            Planned::Program { needs, .. } => *needs,
            Planned::Export(..) => (false, false),
            Planned::Ctl(_) => (false, true),
        }
    }
}

fn plan(root: &Path, command: &str) -> Result<Planned, String> {
    let words = shell_words::split(command).map_err(|e| format!("`{command}`: {e}"))?;
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["just", "run", lesson, ..] => {
            let plan = course::plan(root, lesson, &words[3..]).map_err(|e| e.to_string())?;
            let found = course::find(lesson).map_err(|e| e.to_string())?;
            let needs = match found.dir.split('/').next() {
                Some("redis") => (true, false),
                Some("rabbitmq") => (false, true),
                _ if found.number == 26 => (true, true),
                _ => (false, false),
            };
            Ok(Planned::Program {
                binary: plan.bin,
                args: plan.args,
                needs,
            })
        }
        ["export", assignment] => match assignment.split_once('=') {
            Some((name, value)) => Ok(Planned::Export(name.to_string(), value.to_string())),
            None => Err(format!("`{command}`: export NAME=VALUE expected")),
        },
        ["just", "rabbitmqctl", ..] => Ok(Planned::Ctl(words[2..].to_vec())),
        _ => Err(format!(
            "`$ {command}`: the check runs `just run`, `just rabbitmqctl` and `export` only"
        )),
    }
}

/// The lessons of every `just demo lesson-NN` in a text.
fn demos_named(text: &str) -> Vec<String> {
    text.match_indices("just demo ")
        .filter_map(|(at, words)| {
            text[at + words.len()..]
                .split([' ', '`', ')', ',', ':', ';'])
                .next()
        })
        .map(str::to_string)
        .collect()
}

/// The throwaway brokers, started only when a checked block needs them.
struct Brokers {
    redis: Option<RedisServer>,
    /// Lesson 16's `memcached` program sits among the Redis lessons: a
    /// memcached starts (at once) whenever Redis does.
    memcached: Option<MemcachedServer>,
    /// RabbitMQ takes seconds to start: it starts in the background while
    /// the first chapters' blocks run.
    rabbit_starting: Option<JoinHandle<std::io::Result<RabbitMq>>>,
    rabbit: Option<RabbitMq>,
    /// A port nothing listens on, for a broker that was not started, so a
    /// program never reaches one on the default port.
    closed: u16,
}

impl Brokers {
    fn start(redis: bool, rabbit: bool) -> Result<Self, String> {
        let rabbit_starting = rabbit.then(|| std::thread::spawn(RabbitMq::start));
        let redis = if redis {
            Some(
                RedisServer::start()
                    .map_err(|e| format!("could not start a throwaway Redis: {e}"))?,
            )
        } else {
            None
        };
        let memcached = if redis.is_some() {
            Some(
                MemcachedServer::start()
                    .map_err(|e| format!("could not start a throwaway memcached: {e}"))?,
            )
        } else {
            None
        };
        Ok(Brokers {
            redis,
            memcached,
            rabbit_starting,
            rabbit: None,
            closed: free_port()?,
        })
    }

    fn rabbit(&mut self) -> Result<Option<&RabbitMq>, String> {
        if let Some(starting) = self.rabbit_starting.take() {
            let started = starting
                .join()
                .map_err(|_| "starting RabbitMQ panicked".to_string())?
                .map_err(|e| format!("could not start a throwaway RabbitMQ: {e}"))?;
            self.rabbit = Some(started);
        }
        Ok(self.rabbit.as_ref())
    }

    fn redis_port(&self) -> u16 {
        self.redis.as_ref().map_or(self.closed, RedisServer::port)
    }

    /// RabbitMQ's port: once it is up, if `wait`; else only if it already is.
    fn rabbit_port(&mut self, wait: bool) -> Result<Option<u16>, String> {
        if wait {
            Ok(self.rabbit()?.map(RabbitMq::port))
        } else {
            Ok(self.rabbit.as_ref().map(RabbitMq::port))
        }
    }

    /// `REDIS_URL`, `MEMCACHED_URL` and `AMQP_URL` for every program of a
    /// block. The Redis URL carries the throwaway server's password, as the
    /// course's carries the course's (programs print it hidden: `:***@`).
    fn env(&mut self, wait_for_rabbit: bool) -> Result<BTreeMap<String, String>, String> {
        let amqp_port = self.rabbit_port(wait_for_rabbit)?.unwrap_or(self.closed);
        let redis_url = match &self.redis {
            Some(redis) => redis.url(),
            None => format!("redis://127.0.0.1:{}/", self.closed),
        };
        let memcached_port = self
            .memcached
            .as_ref()
            .map_or(self.closed, MemcachedServer::port);
        Ok(BTreeMap::from([
            ("REDIS_URL".to_string(), redis_url),
            (
                "MEMCACHED_URL".to_string(),
                format!("memcache://127.0.0.1:{memcached_port}"),
            ),
            (
                "AMQP_URL".to_string(),
                format!("amqp://guest:guest@127.0.0.1:{amqp_port}/%2f"),
            ),
        ]))
    }

    fn ctl(&mut self, args: &[String]) -> Result<String, String> {
        let rabbit = self.rabbit()?.ok_or("no RabbitMQ was started")?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Ok(rabbit.ctl(&args).unwrap_or_else(|e| e.to_string()))
    }
}

impl Drop for Brokers {
    /// A RabbitMQ still starting when the check ends early is waited for
    /// and then stopped (dropped), so that neither it nor its folder stays.
    fn drop(&mut self) {
        if let Some(starting) = self.rabbit_starting.take() {
            let _ = starting.join();
        }
    }
}

/// The book's ports and the real ones of one block.
#[derive(Default)]
struct Ports {
    /// (real, book) pairs.
    pairs: Vec<(u16, u16)>,
}

impl Ports {
    fn know(&mut self, real: u16, book: u16) {
        self.pairs.push((real, book));
    }

    /// The argument with every `127.0.0.1:PORT` replaced by a real port.
    fn map_arg(&mut self, arg: &str, brokers: &Brokers) -> Result<String, String> {
        const HOST: &str = "127.0.0.1:";
        let mut out = String::new();
        let mut rest = arg;
        while let Some(at) = rest.find(HOST) {
            let after = &rest[at + HOST.len()..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            out.push_str(&rest[..at + HOST.len()]);
            match after[..digits].parse::<u16>() {
                Ok(book) => {
                    let real = match self.pairs.iter().find(|(_, b)| *b == book) {
                        Some((real, _)) => *real,
                        None if book == BOOK_REDIS_PORT => brokers.redis_port(),
                        None => {
                            let real = free_port()?;
                            self.know(real, book);
                            real
                        }
                    };
                    out.push_str(&real.to_string());
                }
                Err(_) => out.push_str(&after[..digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The output with the book's ports back in place of the real ones.
    fn restore(&self, output: &str) -> String {
        let mut text = output.to_string();
        for (real, book) in &self.pairs {
            text = replace_port(&text, *real, *book);
        }
        text
    }
}

/// Replaces `127.0.0.1:FROM` (and not `127.0.0.1:FROMx`) with `127.0.0.1:TO`.
fn replace_port(text: &str, from: u16, to: u16) -> String {
    let needle = format!("127.0.0.1:{from}");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let end = at + needle.len();
        let whole = !rest[end..].starts_with(|c: char| c.is_ascii_digit());
        out.push_str(&rest[..at]);
        if whole {
            out.push_str(&format!("127.0.0.1:{to}"));
        } else {
            out.push_str(&needle);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A port that was free a moment ago (nothing listens there now).
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Runs a program with no terminal and an empty stdin, and returns what it
/// wrote to stdout and stderr, in the order it wrote it.
fn execute(
    root: &Path,
    binary: &Path,
    args: &[String],
    env: &BTreeMap<String, String>,
) -> Result<String, String> {
    if !binary.is_file() {
        return Err(format!(
            "{} is not built: `just transcripts` builds every program first (cargo build --workspace --bins)",
            binary.display()
        ));
    }
    // One pipe for both streams keeps their order: the shell points
    // stderr at stdout, then becomes the program.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(binary)
        .args(args)
        .envs(env)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + PATIENCE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} {} ran over {} s: a program that waits for Ctrl-C or input belongs in an illustrative block",
                    binary.display(),
                    args.join(" "),
                    PATIENCE.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for {}: {e}", binary.display())),
        }
    }
    let bytes = reader.join().map_err(|_| "the output reader panicked")?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Lines without trailing spaces, and without empty lines at the end.
fn trimmed_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// The workspace this is run in: the nearest folder up from here with
/// `docs/book.toml` (`just` runs recipes from the top folder), else the one
/// this program was built from.
fn workspace_root() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|here| {
            here.ancestors()
                .find(|dir| dir.join("docs/book.toml").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(course::workspace_root)
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            markdown_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    Ok(())
}

fn read(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))
}

fn place(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}
