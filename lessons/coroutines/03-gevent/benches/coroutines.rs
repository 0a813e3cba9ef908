//! `just bench coroutines`: what does one thread, one coroutine and one
//! async task cost?
//!
//! The notes claim that "one CPU runs tens of thousands of coroutines". This
//! measures it. Each contestant spawns its units (10,000 OS threads, 100,000
//! may coroutines, 1,000,000 tokio tasks by default), and every unit waits
//! once, on a gate: a read lock that the main program holds for writing
//! until every unit of the batch has arrived. Each unit really waits, and
//! then all are joined. The benchmark prints the time per unit (spawn,
//! wait, wake, join) and the peak memory per unit alive, side by side, and
//! the ratios.
//!
//! What is alive at once differs, and the table's `alive` column says it:
//! the threads and the tokio tasks are all alive at the same moment, in one
//! batch. may's coroutines are not, past a limit: each stack is a memory
//! mapping plus a guard page, and the kernel allows a process about 65,000
//! mappings (`vm.max_map_count`), so may runs them in *waves* of as many as
//! fit (about 30,000 here), one wave after another. Its time per unit is
//! then the time per unit over all waves, and its memory per unit is the
//! peak divided by one wave.
//!
//! Each contestant runs in a fresh child process (this same program, with
//! `--only`), so that its peak memory is its own and the runtimes do not
//! disturb each other. may and tokio get one worker thread, as gevent has;
//! the threads get whatever cores the OS gives them.
//!
//! Options: `just bench coroutines --help`. `--smoke` runs a few hundred
//! units of each kind, only to show the benchmark works: no verdict.
//! `--plot FILE` also draws the table as an SVG chart.

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

/// Spawns and joins many OS threads, may coroutines and tokio tasks, each
/// waiting once, and compares time and peak memory per unit.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many OS threads.
    #[arg(long, default_value_t = 10_000)]
    threads: usize,
    /// How many may coroutines.
    #[arg(long, default_value_t = 100_000)]
    coroutines: usize,
    /// How many tokio tasks.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: usize,
    /// A quick run that only shows the benchmark works: a few hundred units
    /// of each kind, no verdict.
    #[arg(long)]
    smoke: bool,
    /// Stack size of each may coroutine, in KiB.
    #[arg(long, default_value_t = 4)]
    stack_kib: usize,
    /// Internal: run one contestant in this process and print its result.
    #[arg(long, hide = true)]
    only: Option<Kind>,
    /// Internal: how many units the `--only` contestant spawns.
    #[arg(long, hide = true, default_value_t = 0)]
    count: usize,
    /// Also draw time and memory per unit as an SVG chart into FILE.
    #[arg(long, value_name = "FILE")]
    plot: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The three contestants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Threads,
    Coroutines,
    Tasks,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Threads => "OS threads",
            Kind::Coroutines => "may coroutines",
            Kind::Tasks => "tokio tasks",
        }
    }
}

/// What one contestant measured.
#[derive(Debug, Clone, Copy)]
struct Measurement {
    /// Units spawned, waited and joined.
    units: usize,
    /// The most units alive at one moment (fewer than `units` when they
    /// ran in waves).
    live: usize,
    /// From the first spawn to the last join.
    elapsed: Duration,
    /// CPU time (user + system, all threads of the process) over the same
    /// stretch. Unlike the wall-clock time, other busy programs on the
    /// machine barely change it.
    cpu: Duration,
    /// Resident memory before spawning, in KiB.
    base_kib: u64,
    /// The process's peak resident memory, in KiB.
    peak_kib: u64,
}

impl Measurement {
    fn time_per_unit(&self) -> Duration {
        self.elapsed / self.units.max(1) as u32
    }

    fn cpu_per_unit(&self) -> Duration {
        self.cpu / self.units.max(1) as u32
    }

    /// Peak memory above the starting point, per unit alive at once.
    fn bytes_per_unit(&self) -> f64 {
        (self.peak_kib.saturating_sub(self.base_kib) * 1024) as f64 / self.live.max(1) as f64
    }

    /// The line a child prints and the parent reads.
    fn to_line(self) -> String {
        format!(
            "RESULT {} {} {} {} {} {}",
            self.units,
            self.live,
            self.elapsed.as_nanos(),
            self.cpu.as_nanos(),
            self.base_kib,
            self.peak_kib
        )
    }

    fn from_line(line: &str) -> Option<Measurement> {
        let mut words = line.strip_prefix("RESULT ")?.split_whitespace();
        let mut next = || words.next()?.parse::<u64>().ok();
        Some(Measurement {
            units: next()? as usize,
            live: next()? as usize,
            elapsed: Duration::from_nanos(next()?),
            cpu: Duration::from_nanos(next()?),
            base_kib: next()?,
            peak_kib: next()?,
        })
    }
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.smoke {
        args.threads = 100;
        args.coroutines = 1_000;
        args.tasks = 10_000;
        // A smoke run is an unoptimised build (`cargo test --bench`), whose
        // stack frames are many times larger: 4 KiB overflows.
        args.stack_kib = args.stack_kib.max(64);
    }
    match args.only {
        Some(kind) => child(kind, args.count, args.stack_kib),
        None => parent(&args),
    }
}

// ---------------------------------------------------------------------------
// The parent: runs each contestant in a child process and compares.

fn parent(args: &Args) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            eprintln!("error: cannot find this program to run its contestants: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("Spawn, wait once, join: one unit = one thread, coroutine or task.");
    println!(
        "\"alive\": the most units alive at one moment; below \"units\", they ran in waves of that many."
    );
    println!(
        "may and tokio run on one worker thread; may stacks are {} KiB.",
        args.stack_kib
    );
    println!(
        "Machine: {} cores, load average {} (other programs running make every number slower).\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    let mut results = Vec::new();
    let mut notes = Vec::new();
    for (kind, count) in [
        (Kind::Threads, args.threads),
        (Kind::Coroutines, args.coroutines),
        (Kind::Tasks, args.tasks),
    ] {
        eprintln!("running {count} {} ...", kind.label());
        let output = Command::new(&exe)
            .args(["--only", &format!("{kind:?}").to_lowercase()])
            .args(["--count", &count.to_string()])
            .args(["--stack-kib", &args.stack_kib.to_string()])
            .output();
        let result = match output {
            Ok(output) if output.status.success() => {
                // Notes a contestant printed (such as may's waves).
                notes.extend(
                    String::from_utf8_lossy(&output.stderr)
                        .lines()
                        .map(str::to_string),
                );
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .find_map(Measurement::from_line)
                    .ok_or_else(|| "printed no result".to_string())
            }
            Ok(output) => Err(format!(
                "failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Err(format!("could not start: {error}")),
        };
        results.push((kind, result));
    }
    let mut code = report(&results, !args.smoke);
    if let Some(path) = &args.plot {
        match chart(&results).write(path) {
            Ok(()) => println!("chart: {}", path.display()),
            Err(error) => {
                eprintln!("error: {error}");
                code = ExitCode::FAILURE;
            }
        }
    }
    for note in notes {
        println!("{note}");
    }
    code
}

/// Prints the table, and the ratios with a verdict if `judge` (not in a
/// smoke run, whose sizes are too small to mean anything).
fn report(results: &[(Kind, Result<Measurement, String>)], judge: bool) -> ExitCode {
    println!(
        "{:<16} {:>9} {:>8} {:>13} {:>12} {:>14}",
        "", "units", "alive", "time / unit", "CPU / unit", "memory / unit"
    );
    let mut ok = true;
    for (kind, result) in results {
        match result {
            Ok(m) => println!(
                "{:<16} {:>9} {:>8} {:>10.2} µs {:>9.2} µs {:>12.0} B",
                kind.label(),
                m.units,
                m.live,
                m.time_per_unit().as_secs_f64() * 1e6,
                m.cpu_per_unit().as_secs_f64() * 1e6,
                m.bytes_per_unit()
            ),
            Err(error) => {
                ok = false;
                println!("{:<16} {error}", kind.label());
            }
        }
    }
    let find = |wanted: Kind| {
        results
            .iter()
            .find(|(kind, _)| *kind == wanted)
            .and_then(|(_, r)| r.as_ref().ok())
    };
    if !judge {
        println!("\nsmoke run: sizes too small to judge, no verdict");
    } else if let (Some(threads), Some(coroutines), Some(tasks)) = (
        find(Kind::Threads),
        find(Kind::Coroutines),
        find(Kind::Tasks),
    ) {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-12);
        println!();
        println!("cheaper than a thread, per unit:  time      CPU   memory");
        for (m, name, target) in [
            (coroutines, "may coroutine", 10.0),
            (tasks, "tokio task", 100.0),
        ] {
            let time_ratio = ratio(threads.time_per_unit(), m.time_per_unit());
            let cpu_ratio = ratio(threads.cpu_per_unit(), m.cpu_per_unit());
            let memory_ratio = threads.bytes_per_unit() / m.bytes_per_unit().max(1.0);
            let verdict = if time_ratio >= target {
                "met"
            } else {
                "NOT met"
            };
            println!(
                "  {name:<15} {time_ratio:>13.1}x {cpu_ratio:>7.1}x {memory_ratio:>7.1}x   (target: time {target}x or more: {verdict})"
            );
        }
        println!(
            "\nMemory is resident memory (RSS) as the process sees it, per unit alive at once. \
             A thread also costs kernel memory that RSS does not show (its kernel stack, about 16 KiB)."
        );
        if coroutines.live < coroutines.units {
            println!(
                "may's coroutines ran in waves of {} (not all {} alive at once): its time per unit \
                 covers every wave, its memory per unit one wave's peak.",
                coroutines.live, coroutines.units
            );
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------------------
// The children: one contestant each.

fn child(kind: Kind, count: usize, stack_kib: usize) -> ExitCode {
    let result = match kind {
        Kind::Threads => threads(count),
        Kind::Coroutines => coroutines(count, stack_kib),
        Kind::Tasks => tasks(count),
    };
    match result {
        Ok(measurement) => {
            println!("{}", measurement.to_line());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time this process has used so far, all threads, user and system.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a complete `rusage` into the pointer, which
    // points to memory of the right size; it only fails for a bad `who`.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return Duration::ZERO;
        }
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The 1-minute load average, or "unknown".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// A field of /proc/self/status, in KiB (0 where there is no /proc).
fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Waits, by bounded polling, until `arrived` reaches `count`.
fn wait_for_arrivals(arrived: &AtomicUsize, count: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrived.load(Ordering::Acquire) < count {
        if Instant::now() > deadline {
            return Err("units did not all arrive within 5 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

// ANCHOR: threads
fn threads(count: usize) -> Result<Measurement, String> {
    let base_kib = memory_kib("VmRSS:");
    let gate = Arc::new(std::sync::RwLock::new(()));
    let arrived = Arc::new(AtomicUsize::new(0));
    let (began, cpu_began) = (Instant::now(), cpu_time());
    let closed = gate.write().map_err(|_| "poisoned gate")?;
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let (gate, arrived) = (Arc::clone(&gate), Arc::clone(&arrived));
        let handle = std::thread::Builder::new()
            .spawn(move || {
                arrived.fetch_add(1, Ordering::Release);
                // The one wait: blocks until the main thread opens the gate.
                drop(gate.read());
            })
            .map_err(|error| format!("thread {} of {count}: {error}", handles.len()))?;
        handles.push(handle);
    }
    wait_for_arrivals(&arrived, count)?;
    drop(closed);
    for handle in handles {
        handle.join().map_err(|_| "a thread panicked")?;
    }
    Ok(Measurement {
        units: count,
        live: count,
        elapsed: began.elapsed(),
        cpu: cpu_time().saturating_sub(cpu_began),
        base_kib,
        peak_kib: memory_kib("VmHWM:"),
    })
}
// ANCHOR_END: threads

// ANCHOR: coroutines
fn coroutines(count: usize, stack_kib: usize) -> Result<Measurement, String> {
    // may counts stack sizes in machine words.
    let words = stack_kib * 1024 / size_of::<usize>();
    may::config().set_workers(1).set_stack_size(words);
    may::config().set_worker_pin(false);
    // Start the scheduler before measuring.
    may::go!(|| ()).join().map_err(|_| "may did not start")?;

    // Each coroutine's stack is its own memory mapping plus a guard page: two
    // of the kernel's `vm.max_map_count` mappings (65,530 by default). Past
    // that, stacks cannot be allocated, so hold at most what fits, in waves.
    let wave = live_coroutines_that_fit().min(count).max(1);
    if wave < count {
        eprintln!(
            "note: vm.max_map_count allows about {wave} coroutine stacks at once; \
             running {count} in waves of {wave}"
        );
    }

    let base_kib = memory_kib("VmRSS:");
    let (began, cpu_began) = (Instant::now(), cpu_time());
    // Everything happens inside one coroutine on the one worker, as in
    // gevent everything happens on one thread (and as the tokio contestant
    // runs everything inside `block_on`). Spawning from a plain thread
    // instead would add a cross-thread hand-off and wake-up to every spawn.
    let waves = may::go!(move || -> Result<(), String> {
        let mut done = 0;
        while done < count {
            let this_wave = wave.min(count - done);
            let gate = Arc::new(may::sync::RwLock::new(()));
            let arrived = Arc::new(AtomicUsize::new(0));
            let closed = gate.write().map_err(|_| "poisoned gate")?;
            let mut handles = Vec::with_capacity(this_wave);
            for _ in 0..this_wave {
                let (gate, arrived) = (Arc::clone(&gate), Arc::clone(&arrived));
                handles.push(may::go!(move || {
                    arrived.fetch_add(1, Ordering::Release);
                    // The one wait: parks the coroutine, not the thread.
                    drop(gate.read());
                }));
            }
            // Wait for every unit to arrive at the gate. A may sleep, not
            // `yield_now`: a yielding coroutine goes back on the worker's
            // local queue, which the worker empties before it looks at the
            // global queue where new coroutines wait, so a loop of
            // `yield_now` would starve them.
            while arrived.load(Ordering::Acquire) < this_wave {
                may::coroutine::sleep(Duration::from_millis(1));
            }
            drop(closed);
            for handle in handles {
                handle.join().map_err(|_| "a coroutine panicked")?;
            }
            done += this_wave;
        }
        Ok(())
    });
    waves
        .join()
        .map_err(|_| "the spawning coroutine panicked")??;
    Ok(Measurement {
        units: count,
        live: wave,
        elapsed: began.elapsed(),
        cpu: cpu_time().saturating_sub(cpu_began),
        base_kib,
        peak_kib: memory_kib("VmHWM:"),
    })
}

/// How many coroutine stacks (two mappings each) fit under the kernel's
/// limit, leaving room for everything else the process maps.
fn live_coroutines_that_fit() -> usize {
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(65_530);
    let in_use =
        std::fs::read_to_string("/proc/self/maps").map_or(1_000, |maps| maps.lines().count());
    let free = limit.saturating_sub(in_use + 2_000) / 2;
    // Round down to a thousand, for a readable table.
    (free / 1_000 * 1_000).max(1_000)
}
// ANCHOR_END: coroutines

// ANCHOR: tasks
fn tasks(count: usize) -> Result<Measurement, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|error| format!("tokio runtime: {error}"))?;
    let base_kib = memory_kib("VmRSS:");
    let (began, cpu_began) = (Instant::now(), cpu_time());
    runtime.block_on(async {
        let gate = Arc::new(tokio::sync::RwLock::new(()));
        let arrived = Arc::new(AtomicUsize::new(0));
        let closed = gate.write().await;
        let mut handles = Vec::with_capacity(count);
        for _ in 0..count {
            let (gate, arrived) = (Arc::clone(&gate), Arc::clone(&arrived));
            handles.push(tokio::spawn(async move {
                arrived.fetch_add(1, Ordering::Release);
                // The one wait: the task returns Pending and is parked.
                drop(gate.read().await);
            }));
        }
        // On one thread, the tasks run only when this one yields.
        while arrived.load(Ordering::Acquire) < count {
            tokio::task::yield_now().await;
        }
        drop(closed);
        for handle in handles {
            handle.await.map_err(|_| "a task panicked")?;
        }
        Ok::<_, String>(())
    })?;
    Ok(Measurement {
        units: count,
        live: count,
        elapsed: began.elapsed(),
        cpu: cpu_time().saturating_sub(cpu_began),
        base_kib,
        peak_kib: memory_kib("VmHWM:"),
    })
}
// ANCHOR_END: tasks

/// The table as a chart: time and CPU per unit, and memory per unit, one
/// bar per contestant, on log axes (they differ a hundredfold).
fn chart(results: &[(Kind, Result<Measurement, String>)]) -> support::chart::Figure {
    use support::chart::{Bars, Figure};
    let mut time = Bars::new(
        "Time per unit: spawn, wait once, join",
        "µs per unit",
        ["wall clock", "CPU"],
    )
    .log()
    .unit(" µs");
    let mut memory = Bars::new(
        "Memory per unit alive",
        "bytes per unit (RSS)",
        ["peak RSS"],
    )
    .log()
    .unit(" B");
    for (kind, result) in results {
        let m = result.as_ref().ok();
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        time = time.series(
            kind.label(),
            [
                m.map(|m| micros(m.time_per_unit())),
                m.map(|m| micros(m.cpu_per_unit())),
            ],
        );
        memory = memory.series(kind.label(), [m.map(Measurement::bytes_per_unit)]);
    }
    let units: Vec<String> = results
        .iter()
        .filter_map(|(kind, r)| {
            r.as_ref()
                .ok()
                .map(|m| format!("{} {}", m.units, kind.label()))
        })
        .collect();
    Figure::new("One OS thread, one may coroutine, one tokio task: what each costs")
        .bars(time)
        .bars(memory)
        .note(&units.join(", "))
}
