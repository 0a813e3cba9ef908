//! Exercise 23, pipeline: round trips, a pipeline, a transaction, and a
//! WATCH-based transfer.
//!
//! The checker runs the student's `pipeline` program once, with the same
//! flags as lesson 23's, against a throwaway `redis-server`, and puts a
//! [`wiretap`] between the two: a proxy that logs every command and every
//! reply on every connection, with the time it passed. Every requirement
//! then reads that one log, so nothing the program prints is taken on
//! trust:
//!
//! - a group of SETs sent one by one shows each SET leaving only after the
//!   previous reply came back; a pipeline shows them leaving before any
//!   reply; a transaction shows MULTI, QUEUED for each SET, and EXEC's list
//!   of OKs;
//! - the times are the wiretap's, from the first command to the last reply;
//! - the racing clients' connections show whether each transfer WATCHed
//!   the balance before reading it, and how many transactions ran;
//! - just before the program deletes its keys, the wiretap reads the two
//!   accounts itself: their total must still be 2000.

mod resp;
mod wiretap;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use support::redis::KeySpace;
use support::testkit::{RedisServer, unique_name};

use self::resp::Value;
use self::wiretap::{What, Wiretap};
use crate::Result;
use crate::check::{Exercise, Requirement, Subject, describe_failure};

// The titles below name these numbers.
/// SETs sent each way: enough for a round trip's cost to add up, few
/// enough for a debug build to be quick.
const SETS: usize = 2000;
/// Clients racing to transfer money, and transfers each. With amounts of 1
/// to 9 and half the clients going each way, an account can lose at most
/// 2 × 240 = 480 of its 1000: no transfer can be refused, so every one of
/// them must be done.
const WORKERS: usize = 4;
const TRANSFERS: usize = 50;
/// How many times faster than one by one the pipeline must be, at least.
/// Generous: on an idle machine it is 10 to 50 times.
const SPEEDUP: f64 = 3.0;
/// The whole run takes a few seconds; a program that hangs is stopped.
const TIMEOUT: Duration = Duration::from_secs(60);

pub const EXERCISE: Exercise = Exercise {
    name: "pipeline",
    lesson: 23,
    starter: "pipeline",
    programs: &["pipeline"],
    probe: None,
    requirements: &[
        Requirement {
            title: "the program runs to its end (with --sets 2000 --workers 4 --transfers 50)",
            hint: "replace the four todo!()s in src/lib.rs, in this order: by_round_trips, \
                   by_pipeline, by_transaction, transfer",
            check: runs_to_the_end,
        },
        Requirement {
            title: "one by one: SET <prefix>:set:<i> <i> for every i, each sent after the previous reply came back",
            hint: "by_round_trips: one con.set(set_key(keys, i), i) per key, in a loop",
            check: one_by_one,
        },
        Requirement {
            title: "one pipeline: the same SETs, all sent without waiting for replies",
            hint: "by_pipeline: add every SET to one redis::pipe() (with .ignore()), then query \
                   it once; querying inside the loop is one round trip per SET again",
            check: one_pipeline,
        },
        Requirement {
            title: "the pipeline takes at most a third of the time of one by one",
            hint: "by_pipeline: build the whole pipeline first, then send it with one query; \
                   and start the clock just before, stop it just after",
            check: pipeline_is_faster,
        },
        Requirement {
            title: "a transaction: MULTI, the same SETs, EXEC, sent in one go; Redis queues each SET and EXEC answers OK for each",
            hint: "by_transaction: the pipeline of by_pipeline with .atomic(), queried once",
            check: one_transaction,
        },
        Requirement {
            title: "each transfer WATCHes the balance before reading it, then moves the money in MULTI/EXEC",
            hint: "transfer: WATCH from, GET from, then pipe().atomic() with SET from and INCRBY to; \
                   a balance read without WATCH may change before EXEC",
            check: transfers_watch,
        },
        Requirement {
            title: "4 clients making 50 transfers each at once: all 200 are done, and the accounts still hold 2000 together",
            hint: "transfer: when EXEC answers nil (query as Option<()>: None), nothing ran: WATCH \
                   and read the balance again, and retry until EXEC runs",
            check: the_total_is_kept,
        },
        Requirement {
            title: "no key is left under --prefix when the program has ended",
            hint: "support::redis::run_lesson deletes the keys when the parts return: keep main as \
                   given, and make every part run to its end",
            check: cleans_up,
        },
    ],
};

// ---------------------------------------------------------------------------
// One observed run
// ---------------------------------------------------------------------------

/// What one run of the program looked like from the outside.
struct Observation {
    /// The key prefix the program was given.
    prefix: String,
    /// Its exit and output, or why it could not be run.
    run: Result<Output>,
    /// Every command with its reply, in the order they were sent.
    exchanges: Vec<Exchange>,
    /// When (the position in the wiretap's log) each connection opened.
    opened: HashMap<usize, usize>,
    /// The two accounts' values, read before each command that deleted
    /// keys, with the position in the log.
    snapshots: Vec<(usize, Vec<Option<String>>)>,
    /// Keys under the prefix after the program ended, or why they could
    /// not be listed.
    leftovers: Result<Vec<String>>,
    /// What the wiretap could not follow (the bytes passed anyway).
    troubles: Vec<String>,
}

/// A command and its reply.
struct Exchange {
    /// Its position in the wiretap's log: orders commands of different
    /// connections.
    seq: usize,
    conn: usize,
    words: Vec<String>,
    sent: Instant,
    reply: Option<(Instant, Value)>,
    /// Sent only once every earlier command on its connection had been
    /// answered.
    waited: bool,
}

impl Exchange {
    fn name(&self) -> String {
        self.words
            .first()
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default()
    }

    fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or_default()
    }

    fn reply(&self) -> Option<&Value> {
        self.reply.as_ref().map(|(_, value)| value)
    }
}

/// The observation of `subject`'s program: run on the first call, then
/// remembered, since every requirement reads the same run.
fn observe(subject: &Subject) -> Result<Arc<Observation>> {
    type Seen = BTreeMap<(PathBuf, Option<SystemTime>), Arc<Observation>>;
    static SEEN: Mutex<Seen> = Mutex::new(BTreeMap::new());
    let path = subject
        .programs
        .get("pipeline")
        .ok_or("no program called pipeline")?
        .clone();
    // A rebuilt program is a new subject.
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let mut seen = SEEN.lock().map_err(|_| "an earlier check panicked")?;
    if let Some(observation) = seen.get(&(path.clone(), built)) {
        return Ok(Arc::clone(observation));
    }
    let observation = Arc::new(run_once(subject)?);
    seen.insert((path, built), Arc::clone(&observation));
    Ok(observation)
}

/// Runs the program through the wiretap on a throwaway server.
fn run_once(subject: &Subject) -> Result<Observation> {
    // No password: the wiretap takes its own snapshots on the side, and the
    // round trips it counts are the program's, without an AUTH in front.
    let server = RedisServer::start_open()
        .map_err(|e| format!("could not start a throwaway redis-server: {e}"))?;
    let prefix = unique_name("check23");
    let accounts = account_keys(&prefix).to_vec();
    let upstream = SocketAddr::from(([127, 0, 0, 1], server.port()));
    let tap = Wiretap::start(upstream, accounts)
        .map_err(|e| format!("could not start the wiretap: {e}"))?;
    let (sets, workers, transfers) = (SETS.to_string(), WORKERS.to_string(), TRANSFERS.to_string());
    let url = tap.url();
    let run = subject.run(
        "pipeline",
        &[
            "--url",
            &url,
            "--prefix",
            &prefix,
            "--sets",
            &sets,
            "--workers",
            &workers,
            "--transfers",
            &transfers,
        ],
        TIMEOUT,
    );
    let events = tap.finish(Duration::from_secs(10));
    let leftovers = support::redis::connect(&server.url())
        .map_err(|e| e.to_string())
        .and_then(|mut con| {
            KeySpace::new(&prefix)
                .existing(&mut con)
                .map_err(|e| e.to_string())
        });

    let mut observation = Observation {
        prefix,
        run,
        exchanges: Vec::new(),
        opened: HashMap::new(),
        snapshots: Vec::new(),
        leftovers,
        troubles: Vec::new(),
    };
    // Replies answer a connection's commands in order: the oldest
    // unanswered command gets the next reply.
    let mut unanswered: HashMap<usize, VecDeque<usize>> = HashMap::new();
    for (seq, event) in events.into_iter().enumerate() {
        let queue = unanswered.entry(event.conn).or_default();
        match event.what {
            What::Opened => {
                observation.opened.insert(event.conn, seq);
            }
            What::Command(words) => {
                queue.push_back(observation.exchanges.len());
                observation.exchanges.push(Exchange {
                    seq,
                    conn: event.conn,
                    words,
                    sent: event.at,
                    reply: None,
                    waited: queue.len() == 1,
                });
            }
            What::Reply(value) => {
                if let Some(i) = queue.pop_front() {
                    observation.exchanges[i].reply = Some((event.at, value));
                }
            }
            What::Snapshot(values) => observation.snapshots.push((seq, values)),
            What::Trouble(problem) => observation
                .troubles
                .push(format!("connection {}: {problem}", event.conn)),
        }
    }
    Ok(observation)
}

fn account_keys(prefix: &str) -> [String; 2] {
    [format!("{prefix}:account:a"), format!("{prefix}:account:b")]
}

/// `problem`, and, when the program did not end well, why: the usual reason
/// something was never seen. (And anything the wiretap could not follow.)
fn unseen(observation: &Observation, problem: &str) -> String {
    let mut message = match &observation.run {
        Ok(output) if output.status.success() => problem.to_string(),
        // The first requirement shows how it failed.
        Ok(_) | Err(_) => format!("{problem}\n(the program did not run to its end: see above)"),
    };
    if let Some(trouble) = observation.troubles.first() {
        message.push_str(&format!(
            "\n(the checker's wiretap could not follow {trouble})"
        ));
    }
    message
}

// ---------------------------------------------------------------------------
// The SETs: groups of them, and how they were sent
// ---------------------------------------------------------------------------

/// A group of SETs of `<prefix>:set:<i>` sent in a row on one connection.
struct SetRun {
    conn: usize,
    /// Indices of its exchanges: MULTI (in a transaction), the SETs, EXEC.
    parts: Vec<usize>,
    /// Whether the SETs came right after a MULTI.
    transaction: bool,
}

/// Splits the SETs into runs: a run ends at any other command, or when a
/// key comes again (the next way of sending starts over at the first key).
fn set_runs(observation: &Observation) -> Vec<SetRun> {
    let key_prefix = format!("{}:set:", observation.prefix);
    let mut by_conn: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, exchange) in observation.exchanges.iter().enumerate() {
        by_conn.entry(exchange.conn).or_default().push(i);
    }
    let mut runs = Vec::new();
    for (conn, list) in by_conn {
        let mut current: Option<(SetRun, HashSet<&str>)> = None;
        for (k, &i) in list.iter().enumerate() {
            let exchange = &observation.exchanges[i];
            let key = match exchange.args() {
                [key, _value, ..] if exchange.name() == "SET" && key.starts_with(&key_prefix) => {
                    Some(key.as_str())
                }
                _ => None,
            };
            let Some(key) = key else {
                if let Some((mut run, _)) = current.take() {
                    if run.transaction && exchange.name() == "EXEC" {
                        run.parts.push(i);
                    }
                    runs.push(run);
                }
                continue;
            };
            if current.as_ref().is_some_and(|(_, keys)| keys.contains(key)) {
                runs.extend(current.take().map(|(run, _)| run));
            }
            let (run, keys) = current.get_or_insert_with(|| {
                let multi = k
                    .checked_sub(1)
                    .map(|before| list[before])
                    .filter(|&before| observation.exchanges[before].name() == "MULTI");
                let run = SetRun {
                    conn,
                    parts: multi.into_iter().collect(),
                    transaction: multi.is_some(),
                };
                (run, HashSet::new())
            });
            run.parts.push(i);
            keys.insert(key);
        }
        runs.extend(current.map(|(run, _)| run));
    }
    runs
}

impl SetRun {
    fn exchanges<'o>(&self, observation: &'o Observation) -> Vec<&'o Exchange> {
        self.parts
            .iter()
            .map(|&i| &observation.exchanges[i])
            .collect()
    }

    /// How many of its commands (after the first) were sent only after
    /// every earlier reply had come back.
    fn waits(&self, observation: &Observation) -> usize {
        self.exchanges(observation)
            .iter()
            .skip(1)
            .filter(|e| e.waited)
            .count()
    }

    /// Each command waited for the previous reply.
    fn one_by_one(&self, observation: &Observation) -> bool {
        self.waits(observation) + 1 == self.parts.len()
    }

    /// (Nearly) no command waited: the client wrote them all, then read.
    /// The wiretap may see a reply slip in between two pieces of one big
    /// write, so a few waits are allowed.
    fn pipelined(&self, observation: &Observation) -> bool {
        self.parts.len() > 1 && self.waits(observation) * 10 <= self.parts.len()
    }

    /// From the first command sent to the last reply received.
    fn duration(&self, observation: &Observation) -> Option<Duration> {
        let all = self.exchanges(observation);
        let first = all.first()?.sent;
        let (last, _) = all.last()?.reply.as_ref()?;
        Some(last.saturating_duration_since(first))
    }

    /// Whether it set exactly the keys `<prefix>:set:0` to `:set:<SETS-1>`
    /// to their numbers, and Redis said yes to each.
    fn values_ok(&self, observation: &Observation) -> Result<()> {
        let key_prefix = format!("{}:set:", observation.prefix);
        let all = self.exchanges(observation);
        let sets: Vec<&&Exchange> = all.iter().filter(|e| e.name() == "SET").collect();
        if sets.len() != SETS {
            return Err(format!("it has {} SETs, not {SETS}", sets.len()));
        }
        let answer = if self.transaction { "QUEUED" } else { "OK" };
        for set in sets {
            let (key, value) = (&set.args()[0], &set.args()[1]);
            let number = &key[key_prefix.len()..];
            if number.parse::<usize>().map_or(true, |n| n >= SETS) {
                return Err(format!(
                    "it sets {key}: the keys are {key_prefix}0 to {SETS}-1"
                ));
            }
            if value != number {
                return Err(format!("it sets {key} to {value:?}, not {number:?}"));
            }
            match set.reply() {
                Some(reply) if reply.is(answer) => {}
                other => {
                    return Err(format!(
                        "SET {key} was answered {other:?}, where {answer} was expected"
                    ));
                }
            }
        }
        if self.transaction {
            let exec = all.last().filter(|e| e.name() == "EXEC");
            match exec.and_then(|e| e.reply()) {
                Some(Value::Array(replies))
                    if replies.len() == SETS && replies.iter().all(|r| r.is("OK")) => {}
                Some(other) => {
                    let shown = format!("{other:?}");
                    return Err(format!(
                        "EXEC answered {}, not a list of {SETS} OKs",
                        shown.chars().take(80).collect::<String>()
                    ));
                }
                None => return Err("the MULTI was never followed by EXEC".into()),
            }
        }
        Ok(())
    }

    /// One line about the run, for failure messages.
    fn describe(&self, observation: &Observation) -> String {
        let sets = self.parts.len() - if self.transaction { 2 } else { 0 };
        let during = self.duration(observation).map_or_else(
            || "never completed".to_string(),
            |d| format!("{:.1} ms", d.as_secs_f64() * 1e3),
        );
        format!(
            "connection {}: {sets} SETs{}, {} of {} commands sent without waiting for the \
             previous reply, {during}{}",
            self.conn,
            if self.transaction {
                " in MULTI/EXEC"
            } else {
                ""
            },
            self.parts.len() - 1 - self.waits(observation),
            self.parts.len() - 1,
            match self.values_ok(observation) {
                Ok(()) => String::new(),
                Err(problem) => format!(" ({problem})"),
            }
        )
    }
}

/// The runs that set every key right and were sent the way `fits` says,
/// or a message listing what was seen instead.
fn runs_that(
    observation: &Observation,
    what: &str,
    fits: impl Fn(&SetRun) -> bool,
) -> Result<Vec<SetRun>> {
    let runs = set_runs(observation);
    let describe_all = |runs: &[SetRun]| {
        runs.iter()
            .take(8)
            .map(|run| format!("\n  {}", run.describe(observation)))
            .collect::<String>()
    };
    let seen = describe_all(&runs);
    let fitting: Vec<SetRun> = runs
        .into_iter()
        .filter(|run| run.values_ok(observation).is_ok() && fits(run))
        .collect();
    if !fitting.is_empty() {
        return Ok(fitting);
    }
    let problem = if seen.is_empty() {
        format!(
            "no SETs of {}:set:<i> were seen, so no {what}",
            observation.prefix
        )
    } else {
        format!("no {what} among the SETs seen:{seen}")
    };
    Err(unseen(observation, &problem))
}

fn runs_to_the_end(subject: &Subject) -> Result<()> {
    match &observe(subject)?.run {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(describe_failure(output)),
        Err(error) => Err(error.clone()),
    }
}

fn one_by_one(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    runs_that(&observation, "group of SETs sent one by one", |run| {
        !run.transaction && run.one_by_one(&observation)
    })
    .map(drop)
}

fn one_pipeline(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    runs_that(&observation, "pipeline of all the SETs", |run| {
        !run.transaction && run.pipelined(&observation)
    })
    .map(drop)
}

fn pipeline_is_faster(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    let fastest = |runs: Vec<SetRun>| {
        runs.iter()
            .filter_map(|run| run.duration(&observation))
            .min()
            .unwrap_or_default()
    };
    let one_by_one = fastest(runs_that(&observation, "SETs sent one by one", |run| {
        !run.transaction && run.one_by_one(&observation)
    })?);
    let pipelined = fastest(runs_that(&observation, "pipeline", |run| {
        !run.transaction && run.pipelined(&observation)
    })?);
    let speedup = one_by_one.as_secs_f64() / pipelined.as_secs_f64().max(1e-6);
    let measured = format!(
        "{SETS} SETs one by one took {:.1} ms, in a pipeline {:.1} ms: {speedup:.1}x faster \
         (timed by the checker, from the first command to the last reply)",
        one_by_one.as_secs_f64() * 1e3,
        pipelined.as_secs_f64() * 1e3,
    );
    if speedup >= SPEEDUP {
        Ok(())
    } else {
        Err(format!(
            "{measured}; at least {SPEEDUP}x was expected (a machine busy with other work can \
             also slow the pipeline: run the check again)"
        ))
    }
}

fn one_transaction(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    runs_that(
        &observation,
        "transaction of all the SETs sent in one go",
        |run| run.transaction && run.pipelined(&observation),
    )
    .map(drop)
}

// ---------------------------------------------------------------------------
// The race
// ---------------------------------------------------------------------------

/// The connections of the race with WATCH: those the program opened after
/// it last set both accounts to 1000 (the race without WATCH came first,
/// on connections of its own).
fn racers(observation: &Observation) -> Result<(usize, BTreeSet<usize>)> {
    let [a, _] = account_keys(&observation.prefix);
    let start = observation
        .exchanges
        .iter()
        .filter(|e| e.name() == "MSET" && e.args().contains(&a))
        .map(|e| e.seq)
        .next_back()
        .ok_or_else(|| {
            unseen(
                observation,
                &format!("the race never started: no MSET of {a} was seen"),
            )
        })?;
    let conns: BTreeSet<usize> = observation
        .opened
        .iter()
        .filter(|&(_, &opened)| opened > start)
        .map(|(&conn, _)| conn)
        .collect();
    if conns.is_empty() {
        return Err(unseen(
            observation,
            "no client connected for the race after the accounts were set",
        ));
    }
    Ok((start, conns))
}

fn transfers_watch(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    let (_, conns) = racers(&observation)?;
    let accounts = account_keys(&observation.prefix);
    let mut transactions = 0;
    let mut unwatched_reads = Vec::new();
    let mut blind_transactions = 0;
    for &conn in &conns {
        let mut watched: HashSet<&str> = HashSet::new();
        let (mut in_multi, mut watched_read) = (false, false);
        for exchange in observation.exchanges.iter().filter(|e| e.conn == conn) {
            match exchange.name().as_str() {
                "WATCH" => watched.extend(exchange.args().iter().map(String::as_str)),
                "UNWATCH" => watched.clear(),
                "MULTI" => in_multi = true,
                "DISCARD" => (in_multi, watched_read) = (false, false),
                "EXEC" => {
                    transactions += 1;
                    if !watched_read {
                        blind_transactions += 1;
                    }
                    (in_multi, watched_read) = (false, false);
                    watched.clear();
                }
                "GET" | "MGET" if !in_multi => {
                    for key in exchange.args().iter().filter(|k| accounts.contains(k)) {
                        if watched.contains(key.as_str()) {
                            watched_read = true;
                        } else {
                            unwatched_reads.push(format!("{} {key}", exchange.name()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if transactions == 0 {
        return Err(unseen(
            &observation,
            &format!(
                "no MULTI/EXEC was seen on the {} racing clients' connections",
                conns.len()
            ),
        ));
    }
    if let Some(example) = unwatched_reads.first() {
        return Err(format!(
            "{} times a balance was read without a WATCH of it first (for example {example}): \
             another client can change it before EXEC, and the transaction would still run",
            unwatched_reads.len()
        ));
    }
    if blind_transactions > 0 {
        return Err(format!(
            "{blind_transactions} of {transactions} transactions did not follow a WATCH and a \
             read of the balance: a transfer must check the money is there"
        ));
    }
    Ok(())
}

fn the_total_is_kept(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    let (start, conns) = racers(&observation)?;
    let (mut ran, mut thrown_away) = (0, 0);
    for exchange in &observation.exchanges {
        if conns.contains(&exchange.conn) && exchange.name() == "EXEC" {
            match exchange.reply() {
                Some(Value::Array(_)) => ran += 1,
                Some(Value::Nil) => thrown_away += 1,
                _ => {}
            }
        }
    }
    let Some((_, values)) = observation.snapshots.iter().find(|(seq, _)| *seq > start) else {
        return Err(unseen(
            &observation,
            "the program never got to delete its keys, so the balances after the race could \
             not be read",
        ));
    };
    let balances: Vec<i64> = values
        .iter()
        .filter_map(|v| v.as_deref().and_then(|v| v.parse().ok()))
        .collect();
    let [a, b] = balances[..] else {
        return Err(format!(
            "after the race the accounts held {values:?}, not two numbers"
        ));
    };
    let expected = WORKERS * TRANSFERS;
    if a + b != 2000 {
        return Err(format!(
            "after the race the accounts held {a} + {b} = {}, not 2000: money was created or \
             lost ({ran} transactions ran, {thrown_away} were thrown away by EXEC)",
            a + b
        ));
    }
    if ran != expected {
        return Err(format!(
            "{ran} transfers ran (EXEC answered with results), where {expected} were asked for \
             and none can be refused; {thrown_away} transactions were thrown away by EXEC"
        ));
    }
    Ok(())
}

fn cleans_up(subject: &Subject) -> Result<()> {
    let observation = observe(subject)?;
    match &observation.run {
        Ok(output) if output.status.success() => {}
        _ => {
            return Err(unseen(
                &observation,
                "the program did not run to its end, so its cleanup never ran",
            ));
        }
    }
    let leftovers = observation.leftovers.as_ref().map_err(Clone::clone)?;
    match leftovers.first() {
        None => Ok(()),
        Some(example) => Err(format!(
            "{} key(s) were left under {}: (for example {example})",
            leftovers.len(),
            observation.prefix
        )),
    }
}
