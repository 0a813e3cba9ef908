//! `just bench ftp`: the lesson's server against pyftpdlib (and vsftpd, if
//! installed), side by side in one run, with curl as the one client.
//!
//! ```text
//! just bench ftp                      # 1 GiB file, 100 clients of 1 MiB, median of 5
//! just bench ftp --size 256MiB --rounds 1
//! just bench ftp --no-pyftpdlib       # only the lesson's server
//! just bench ftp --smoke              # a few seconds: does the bench work?
//! just bench ftp --plot ftp.svg       # the table as a chart, too
//! ```
//!
//! `--smoke` moves a 4 MiB file once and runs 5 clients of 64 KiB, with no
//! verdict, and uses pyftpdlib only if it is already installed.
//!
//! For each server: download and upload of one large file (MB/s, the
//! median of `--rounds`), then `--clients` curl processes at once, each uploading its
//! own file and downloading it again over the same connection, every byte
//! checked (the median of `--rounds` such rounds, the servers taking turns);
//! and the server's peak memory (RSS, from /proc), sampled during
//! the large transfers and again during the many clients. Ratios are the
//! lesson's server over pyftpdlib. A figure that could not be measured (a
//! server that did not start, a process gone before it was sampled) is
//! printed as "not measured", and so is any verdict that needs it. Each
//! round also makes the same upload into a sink: a minimal FTP server that
//! reads every byte and drops it. No server can do less, so its rate is the
//! most curl can upload on this machine, whatever the server.
//!
//! pyftpdlib is installed into a virtual environment under `target/` on
//! first use (`python3 -m venv`, then `pip install pyftpdlib`); if that is
//! impossible the run says so and goes on without it. vsftpd is used only if
//! it is installed. Everything runs on 127.0.0.1.
//!
//! The numbers depend on the machine and on what else runs on it: on a
//! shared machine run it twice and trust what repeats.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use support::stats::median;

/// Compares FTP servers with curl: a large file down and up, many clients at
/// once, and peak memory.
#[derive(Parser)]
struct Args {
    /// Size of the large file (1GiB, 300MiB, 5000000).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    size: u64,
    /// How many times to move the large file each way; the median counts.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// How many clients at once in the concurrency round.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Size of each of those clients' files.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    client_size: u64,
    /// Leave pyftpdlib out.
    #[arg(long)]
    no_pyftpdlib: bool,
    /// Leave vsftpd out even if it is installed.
    #[arg(long)]
    no_vsftpd: bool,
    /// A quick run that only shows the bench works: a 4 MiB file, one
    /// round, 5 clients of 64 KiB, no verdict, pyftpdlib only if installed.
    #[arg(long)]
    smoke: bool,
    /// Also draw throughput and peak memory as an SVG chart into FILE.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("not a size: {text}"))?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(format!("unknown unit in {text} (use KiB, MiB, GiB)")),
    };
    Ok(number * factor)
}

fn main() {
    let mut args = Args::parse();
    if args.smoke {
        args.size = 4 << 20;
        args.rounds = 1;
        args.clients = 5;
        args.client_size = 64 << 10;
    }
    if let Err(error) = run(&args) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

/// What was measured for one server.
#[derive(Default)]
struct Results {
    name: String,
    /// Every round of the large file, one after another.
    rounds: Vec<Round>,
    /// The concurrency rounds, one after another.
    clients: Vec<Crowd>,
    /// Peak resident memory during the large transfers, bytes (`None`: not
    /// measured).
    peak_rss: Option<u64>,
    /// Peak resident memory during the many-clients round, bytes.
    clients_rss: Option<u64>,
    /// Why a part could not run.
    note: Option<String>,
}

/// One round of the large file through one server.
#[derive(Clone, Copy)]
struct Round {
    /// Download and upload rates, bytes per second.
    download: f64,
    upload: f64,
    /// Server CPU time (user + system) per GiB moved, seconds: far less
    /// disturbed by a busy machine than the rates.
    download_cpu: f64,
    upload_cpu: f64,
}

impl Results {
    /// The median over the rounds of one measure, e.g. `|r| r.download`.
    fn median(&self, measure: impl Fn(&Round) -> f64) -> f64 {
        median(&self.rounds.iter().map(measure).collect::<Vec<_>>()).unwrap_or(0.0)
    }

    /// The median concurrency round's wall time and slowest client, in
    /// seconds (`None`: no round ran).
    fn crowd(&self) -> Option<(f64, f64)> {
        if self.clients.is_empty() {
            return None;
        }
        let walls: Vec<f64> = self
            .clients
            .iter()
            .map(|c| c.elapsed.as_secs_f64())
            .collect();
        let slowest: Vec<f64> = self.clients.iter().map(|c| c.slowest).collect();
        Some((median(&walls)?, median(&slowest)?))
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    which("curl").context("curl is the client for every server: apt-get install curl")?;
    let version = Command::new("curl").arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout);
    let work = target_dir().join("ftp-bench");
    let data = work.join("data");
    fs::create_dir_all(&data)?;
    let big = data.join("big.bin");
    println!(
        "FTP benchmark, {} as the client, everything on 127.0.0.1",
        version
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "({} cores; numbers from a busy machine are noisy: run it twice)",
        cores()
    );
    make_file(&big, args.size)?;

    // Every server is started first, each in its own root; then each
    // round moves the large file through each server in turn, so a change
    // in the machine's load during the run touches all of them alike.
    let mut contenders = vec![start(&work, &big, "lesson-25", &mut lesson_server)];
    if args.no_pyftpdlib {
        println!("pyftpdlib: left out (--no-pyftpdlib)");
    } else {
        match pyftpdlib_python(&work, !args.smoke) {
            Ok(python) => contenders.push(start(&work, &big, "pyftpdlib", &mut |dir: &Path| {
                pyftpdlib(&python, dir, &work)
            })),
            Err(error) => println!("pyftpdlib: unavailable, left out ({error:#})"),
        }
    }
    match which("vsftpd").or_else(|_| which("/usr/sbin/vsftpd")) {
        _ if args.no_vsftpd => println!("vsftpd: left out (--no-vsftpd)"),
        Ok(vsftpd) => contenders.push(start(&work, &big, "vsftpd", &mut |dir: &Path| {
            vsftpd_server(&vsftpd, dir, &work)
        })),
        Err(_) => {
            println!("vsftpd: not installed, left out (apt-get install vsftpd to include it)")
        }
    }

    let size = fs::metadata(&big)?.len();
    let pids: Vec<u32> = contenders
        .iter()
        .map(|c| c.server.as_ref().map_or(0, |server| server.child.id()))
        .collect();
    let sampler = RssSampler::start(pids);
    // The sink takes its turn in every round too, so that the ceiling is
    // measured under the same load as the servers' uploads.
    let sink = start_sink()?;
    let mut sink_rates = Vec::new();
    for round in 1..=args.rounds {
        for contender in contenders.iter_mut() {
            large_file(contender, &big, size, round)?;
        }
        let rate = sink_upload(sink, &big, size)?;
        println!(
            "round {round}: {:<10} upload   {:>10}",
            "sink",
            per_sec(rate)
        );
        sink_rates.push(rate);
    }
    let ceiling = median(&sink_rates).unwrap_or(0.0);
    println!(
        "upload ceiling: curl into a sink that drops every byte: {} (median of {})",
        per_sec(ceiling),
        args.rounds
    );
    for (contender, peak) in contenders.iter_mut().zip(sampler.stop(true)) {
        contender.results.peak_rss = peak;
    }
    // The servers take turns here too: one busy moment on the machine
    // then spoils one round of each, not every round of one.
    for round in 1..=args.rounds {
        for contender in contenders.iter_mut() {
            let Some(server) = &contender.server else {
                continue;
            };
            let results = &mut contender.results;
            let name = &results.name;
            // Memory while the clients are connected: the kernel's own peak
            // (VmHWM) would still hold the large files' peak, so only samples.
            let sampler = RssSampler::start(vec![server.child.id()]);
            let crowd = many_clients(
                args,
                server,
                &work.join(format!("clients-{name}")),
                &contender.root,
            );
            let peak = sampler.stop(false).into_iter().next().flatten();
            results.clients_rss = results.clients_rss.max(peak);
            let crowd = crowd?;
            println!(
                "round {round}: {name:<10} {} clients at once: {:.2} s wall, the slowest moved its bytes in {:.3} s (all verified)",
                args.clients,
                crowd.elapsed.as_secs_f64(),
                crowd.slowest,
            );
            results.clients.push(crowd);
        }
    }
    let all: Vec<Results> = contenders
        .into_iter()
        .map(|contender| {
            drop(contender.server);
            let _ = fs::remove_dir_all(&contender.root);
            contender.results
        })
        .collect();
    report(args, &all, ceiling);
    if let Some(path) = &args.plot {
        chart(args, &all, ceiling).write(path)?;
        println!("chart: {}", path.display());
    }
    Ok(())
}

/// The workspace's target directory: this benchmark runs from
/// `target/release/deps/`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target"))
}

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Writes `size` bytes that do not compress, unless the file is there.
fn make_file(path: &Path, size: u64) -> anyhow::Result<()> {
    if fs::metadata(path).is_ok_and(|meta| meta.len() == size) {
        return Ok(());
    }
    println!(
        "writing a {} test file to {} ...",
        human(size),
        path.display()
    );
    let mut file = std::io::BufWriter::new(File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(())
}

/// A server under test: its process (killed on drop) and port.
struct Running {
    child: Child,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lesson_server(root: &Path) -> anyhow::Result<Running> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ftp-server"))
        .arg("--root")
        .arg(root)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--anonymous-write",
            "--max-connections",
            "1000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start ftp-server")?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    // Keep reading its log so it never blocks on a full pipe.
    thread::spawn(move || lines.for_each(drop));
    let port = first
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .with_context(|| format!("unexpected first line {first:?}"))?;
    Ok(Running { child, port })
}

/// The virtual environment's python with pyftpdlib, made on first use.
fn pyftpdlib_python(work: &Path, may_install: bool) -> anyhow::Result<PathBuf> {
    let venv = work.join("venv");
    let python = venv.join("bin/python");
    let has_it = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pyftpdlib"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if has_it(&python) {
        return Ok(python);
    }
    if !may_install {
        bail!("not installed, and a smoke run installs nothing");
    }
    println!("installing pyftpdlib into {} ...", venv.display());
    let made = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status();
    if !made.is_ok_and(|status| status.success()) {
        bail!("python3 -m venv failed (apt-get install python3-venv)");
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "pyftpdlib"])
        .status()
        .context("run pip")?;
    if !pip.success() || !has_it(&python) {
        bail!("pip install pyftpdlib failed");
    }
    Ok(python)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until an FTP greeting comes from the port.
fn wait_for_greeting(port: u16, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited: {status}");
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            let mut line = String::new();
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            if BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("220") {
                return Ok(());
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    bail!("no greeting on port {port} within 20 s")
}

fn pyftpdlib(python: &Path, root: &Path, work: &Path) -> anyhow::Result<Running> {
    let port = free_port()?;
    let log = File::create(work.join("pyftpdlib.log"))?;
    let mut child = Command::new(python)
        .args([
            "-m",
            "pyftpdlib",
            "--interface",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--write",
        ])
        .arg("--directory")
        .arg(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("start pyftpdlib")?;
    wait_for_greeting(port, &mut child)?;
    Ok(Running { child, port })
}

fn vsftpd_server(vsftpd: &Path, root: &Path, work: &Path) -> anyhow::Result<Running> {
    let port = free_port()?;
    let empty = work.join("vsftpd-empty");
    fs::create_dir_all(&empty)?;
    let config = work.join("vsftpd.conf");
    // Anonymous read-write, run as the launching user (no chroot, no
    // privilege separation), listening on loopback only.
    fs::write(
        &config,
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             background=NO\nrun_as_launching_user=YES\nanonymous_enable=YES\n\
             no_anon_password=YES\nanon_root={}\nwrite_enable=YES\nanon_upload_enable=YES\n\
             anon_other_write_enable=YES\nanon_mkdir_write_enable=YES\nanon_umask=022\n\
             local_enable=NO\nseccomp_sandbox=NO\nsecure_chroot_dir={}\nxferlog_enable=NO\n\
             max_clients=0\nmax_per_ip=0\npasv_enable=YES\n",
            root.display(),
            empty.display()
        ),
    )?;
    let log = File::create(work.join("vsftpd.log"))?;
    let mut child = Command::new(vsftpd)
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("start vsftpd")?;
    wait_for_greeting(port, &mut child)?;
    Ok(Running { child, port })
}

/// One server under test, with its root and what was measured.
struct Contender {
    /// `None` if it could not be started (`results.note` says why).
    server: Option<Running>,
    root: PathBuf,
    results: Results,
}

/// Starts one server in a fresh root holding (a link to) the large file.
fn start(
    work: &Path,
    big: &Path,
    name: &str,
    start: &mut dyn FnMut(&Path) -> anyhow::Result<Running>,
) -> Contender {
    let root = work.join(format!("root-{name}"));
    let mut results = Results {
        name: name.to_string(),
        ..Results::default()
    };
    let prepared = (|| -> anyhow::Result<Running> {
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root)?;
        fs::hard_link(big, root.join("big.bin"))
            .or_else(|_| fs::copy(big, root.join("big.bin")).map(drop))?;
        start(&root)
    })();
    let server = match prepared {
        Ok(server) => {
            println!("{name}: started, port {}", server.port);
            Some(server)
        }
        Err(error) => {
            println!("{name}: could not start, left out ({error:#})");
            results.note = Some(format!("{error:#}"));
            None
        }
    };
    Contender {
        server,
        root,
        results,
    }
}

/// One round of the large file, down then up, through one server: the
/// rate as curl measures it, and the server's CPU time per GiB.
fn large_file(contender: &mut Contender, big: &Path, size: u64, round: u32) -> anyhow::Result<()> {
    let Some(server) = &contender.server else {
        return Ok(());
    };
    let pid = server.child.id();
    let url = |path: &str| format!("ftp://127.0.0.1:{}/{path}", server.port);
    let gib = size as f64 / (1u64 << 30) as f64;
    let results = &mut contender.results;
    let name = &results.name;

    let cpu = cpu_seconds(pid);
    let secs = curl_transfer(&["-o", "/dev/null", &url("big.bin")])?;
    let cpu = (cpu_seconds(pid) - cpu) / gib;
    println!(
        "round {round}: {name:<10} download {:>10}, server CPU {cpu:.2} s/GiB",
        per_sec(size as f64 / secs)
    );
    let (download, download_cpu) = (size as f64 / secs, cpu);

    let cpu = cpu_seconds(pid);
    let secs = curl_transfer(&["-T", big.to_str().unwrap_or_default(), &url("up.bin")])?;
    let cpu = (cpu_seconds(pid) - cpu) / gib;
    println!(
        "round {round}: {name:<10} upload   {:>10}, server CPU {cpu:.2} s/GiB",
        per_sec(size as f64 / secs)
    );
    results.rounds.push(Round {
        download,
        upload: size as f64 / secs,
        download_cpu,
        upload_cpu: cpu,
    });

    let uploaded = contender.root.join("up.bin");
    same_file(big, &uploaded).with_context(|| format!("{name}: the uploaded file differs"))?;
    fs::remove_file(uploaded)?;
    Ok(())
}

/// `clients` curl processes at once; each uploads its own file and, over
/// the same connection (`--next`), downloads it again. Returns the wall
/// time; fails unless every byte came back.
fn many_clients(args: &Args, server: &Running, dir: &Path, root: &Path) -> anyhow::Result<Crowd> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    for i in 0..args.clients {
        let mut bytes = vec![0u8; args.client_size as usize];
        let mut state = (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
        for byte in bytes.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        fs::write(dir.join(format!("up-{i}")), bytes)?;
    }
    let started = Instant::now();
    let mut children = Vec::new();
    for i in 0..args.clients {
        let url = format!("ftp://127.0.0.1:{}/client-{i}.bin", server.port);
        let up = dir.join(format!("up-{i}"));
        let down = dir.join(format!("down-{i}"));
        // Each of the two transfers reports curl's own timers.
        let options = ["--silent", "--show-error", "--max-time", "300"];
        let timers = ["--write-out", "%{time_pretransfer} %{time_total}\n"];
        let child = Command::new("curl")
            .args(options)
            .args(timers)
            .arg("-T")
            .arg(&up)
            .arg(&url)
            .arg("--next")
            .args(options)
            .args(timers)
            .arg("-o")
            .arg(&down)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("start curl")?;
        children.push(child);
    }
    let mut failures = Vec::new();
    let mut slowest: f64 = 0.0;
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output()?;
        if !output.status.success() {
            failures.push(format!(
                "client {i}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        // Its time moving bytes: up and down, curl's stalls left out.
        let numbers: Vec<f64> = String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let moving: f64 = numbers
            .chunks(2)
            .map(|pair| pair[pair.len() - 1] - pair[0])
            .sum();
        slowest = slowest.max(moving);
    }
    let elapsed = started.elapsed();
    if let Some(first) = failures.first() {
        bail!(
            "{} of {} clients failed; the first: {first}",
            failures.len(),
            args.clients
        );
    }
    for i in 0..args.clients {
        let up = dir.join(format!("up-{i}"));
        same_file(&up, &dir.join(format!("down-{i}")))
            .with_context(|| format!("client {i} downloaded other bytes"))?;
        let stored = root.join(format!("client-{i}.bin"));
        same_file(&up, &stored).with_context(|| format!("client {i}'s stored file differs"))?;
        // The next round then creates every file again, as this one did.
        fs::remove_file(stored)?;
    }
    let _ = fs::remove_dir_all(dir);
    Ok(Crowd { elapsed, slowest })
}

/// What the many-clients round measured.
struct Crowd {
    /// Wall time, first curl started to last one done.
    elapsed: Duration,
    /// The longest any one client spent moving bytes (curl's timers).
    slowest: f64,
}

/// Runs one curl transfer and returns the seconds the transfer itself took,
/// as curl measures it: from "about to transfer" (after login and the data
/// connection are set up) to the end. That leaves out curl's start-up and
/// a curl 7.88 stall before some data connections (see `report`).
fn curl_transfer(args: &[&str]) -> anyhow::Result<f64> {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "600"])
        .args(["--write-out", "%{time_pretransfer} %{time_total}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("run curl")?;
    if !output.status.success() {
        bail!(
            "curl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let times = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<f64> = times
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    match numbers[..] {
        [pretransfer, total] if total > pretransfer => Ok(total - pretransfer),
        _ => bail!("cannot read curl's timings from {times:?}"),
    }
}

// ANCHOR: sink
/// Starts the sink, [`sink_session`]: a server that reads every byte of an
/// upload into a buffer and throws it away. No real server does less work
/// than that, so the rate of an upload into it is the fastest an upload
/// can go here with curl as the client; if it is low, the client is the
/// limit. Returns its port.
fn start_sink() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    // The thread stays in `accept` until the benchmark exits.
    thread::spawn(move || {
        for control in listener.incoming().flatten() {
            if let Err(error) = sink_session(control) {
                eprintln!("sink: {error}");
            }
        }
    });
    Ok(port)
}

/// One upload of `big` into the sink: its rate, bytes per second.
fn sink_upload(port: u16, big: &Path, size: u64) -> anyhow::Result<f64> {
    let url = format!("ftp://127.0.0.1:{port}/sink.bin");
    let secs = curl_transfer(&["-T", big.to_str().unwrap_or_default(), &url])?;
    Ok(size as f64 / secs)
}

/// Just enough FTP for `curl -T`: it logs in, asks for the directory, opens
/// a passive data connection (EPSV) and stores. The stored bytes are read
/// and dropped.
fn sink_session(control: TcpStream) -> std::io::Result<()> {
    let mut lines = BufReader::new(control.try_clone()?);
    let mut out = control;
    out.write_all(b"220 sink ready\r\n")?;
    let mut passive: Option<TcpListener> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.split_whitespace().next().unwrap_or("");
        match verb.to_ascii_uppercase().as_str() {
            "USER" | "PASS" => out.write_all(b"230 Logged in\r\n")?,
            "PWD" => out.write_all(b"257 \"/\"\r\n")?,
            "TYPE" => out.write_all(b"200 Type set\r\n")?,
            "EPSV" => {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let port = listener.local_addr()?.port();
                write!(out, "229 Entering Extended Passive Mode (|||{port}|)\r\n")?;
                passive = Some(listener);
            }
            "STOR" => {
                let Some(listener) = passive.take() else {
                    out.write_all(b"425 Use EPSV first\r\n")?;
                    continue;
                };
                out.write_all(b"150 Send it\r\n")?;
                let (mut data, _) = listener.accept()?;
                let mut buffer = vec![0u8; 1 << 20];
                while data.read(&mut buffer)? > 0 {}
                out.write_all(b"226 Dropped\r\n")?;
            }
            "QUIT" => return out.write_all(b"221 Bye\r\n"),
            _ => out.write_all(b"502 Not in the sink\r\n")?,
        }
    }
}
// ANCHOR_END: sink

/// Compares two files chunk by chunk.
fn same_file(a: &Path, b: &Path) -> anyhow::Result<()> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    if a.metadata()?.len() != b.metadata()?.len() {
        bail!("the sizes differ");
    }
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut x)?;
        if n == 0 {
            return Ok(());
        }
        b.read_exact(&mut y[..n])?;
        if x[..n] != y[..n] {
            bail!("the contents differ");
        }
    }
}

/// Samples the resident memory of processes and their children every few
/// milliseconds (vsftpd forks one process per client), keeping each peak.
struct RssSampler {
    pids: Vec<u32>,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let watched = pids.clone();
        let thread = thread::spawn(move || {
            let mut peaks = vec![0; watched.len()];
            while !flag.load(Ordering::Relaxed) {
                for (peak, &pid) in peaks.iter_mut().zip(&watched) {
                    *peak = (*peak).max(tree_rss(pid));
                }
                thread::sleep(Duration::from_millis(5));
            }
            peaks
        });
        RssSampler { pids, stop, thread }
    }

    /// Each process's peak, `None` where nothing could be read (no
    /// process, or it was gone). With `lifetime`, the kernel's own peak for
    /// the main process (VmHWM, since it started) counts too.
    fn stop(self, lifetime: bool) -> Vec<Option<u64>> {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.thread.join().unwrap_or_default();
        self.pids
            .iter()
            .zip(sampled)
            .map(|(&pid, peak)| {
                let kernel = if lifetime {
                    status_kib(pid, "VmHWM:") * 1024
                } else {
                    0
                };
                Some(peak.max(kernel)).filter(|&peak| peak > 0)
            })
            .collect()
    }
}

/// CPU time (user + system) of a process, its children that have exited,
/// and its live descendants, in seconds, from /proc: a process's time is in
/// its own stat while it lives, and in its parent's once it is reaped.
fn cpu_seconds(pid: u32) -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (in parentheses): utime, stime, cutime
    // and cstime are the 12th to the 15th.
    let Some((_, after)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let ticks: f64 = after
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|field| field.parse::<f64>().ok())
        .sum();
    ticks / ticks_per_second + children(pid).into_iter().map(cpu_seconds).sum::<f64>()
}

/// The live children of a process.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    // The field after the command name, in parentheses.
                    let after = stat.rsplit_once(')')?.1;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// A field of /proc/PID/status in KiB (0 if the process is gone).
fn status_kib(pid: u32, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// RSS of `pid` plus all its descendants, in bytes.
fn tree_rss(pid: u32) -> u64 {
    if pid == 0 {
        return 0;
    }
    status_kib(pid, "VmRSS:") * 1024 + children(pid).into_iter().map(tree_rss).sum::<u64>()
}

fn which(program: &str) -> anyhow::Result<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if path.is_file() {
            Ok(path)
        } else {
            bail!("{program} not found")
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("{program} is not on PATH"))
}

fn per_sec(bytes_per_sec: f64) -> String {
    if bytes_per_sec >= 1e9 {
        format!("{:.2} GB/s", bytes_per_sec / 1e9)
    } else {
        format!("{:.0} MB/s", bytes_per_sec / 1e6)
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{b} bytes"),
    }
}

fn report(args: &Args, all: &[Results], ceiling: f64) {
    println!();
    println!(
        "{} file, median of {} rounds; {} clients x {} up and down, median of {} rounds",
        human(args.size),
        args.rounds,
        args.clients,
        human(args.client_size),
        args.rounds
    );
    println!(
        "{:<10} {:>10} {:>10} {:>11} {:>11} {:>12} {:>14} {:>10} {:>11}",
        "server",
        "download",
        "upload",
        "CPU/GiB dn",
        "CPU/GiB up",
        "clients wall",
        "slowest client",
        "peak RSS",
        "RSS clients"
    );
    for r in all {
        if let Some(note) = &r.note {
            println!("{:<10} not measured: {note}", r.name);
            continue;
        }
        let (wall, slowest) = r
            .crowd()
            .map_or(("-".into(), "-".into()), |(wall, slowest)| {
                (format!("{wall:.2} s"), format!("{slowest:.3} s"))
            });
        let rss = |peak: Option<u64>| peak.map_or("-".to_string(), human);
        println!(
            "{:<10} {:>10} {:>10} {:>9.2} s {:>9.2} s {:>12} {:>14} {:>10} {:>11}",
            r.name,
            per_sec(r.median(|round| round.download)),
            per_sec(r.median(|round| round.upload)),
            r.median(|round| round.download_cpu),
            r.median(|round| round.upload_cpu),
            wall,
            slowest,
            rss(r.peak_rss),
            rss(r.clients_rss)
        );
    }
    let ours = all.iter().find(|r| r.name == "lesson-25");
    let theirs = all
        .iter()
        .find(|r| r.name == "pyftpdlib" && r.note.is_none());
    if args.smoke {
        println!();
        println!("smoke run: sizes too small to judge, no verdict");
        return;
    }
    let ours = ours.filter(|r| !r.rounds.is_empty());
    let theirs = theirs.filter(|r| !r.rounds.is_empty());
    if let (Some(ours), Some(theirs)) = (ours, theirs) {
        println!();
        println!("lesson-25 / pyftpdlib:");
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        let down = ours.median(|r| r.download) / theirs.median(|r| r.download);
        let up = ours.median(|r| r.upload) / theirs.median(|r| r.upload);
        println!(
            "  download {down:.2}x (target >= 1.0x: {}); server CPU per GiB: {}",
            verdict(down >= 1.0),
            less(
                theirs.median(|r| r.download_cpu),
                ours.median(|r| r.download_cpu)
            )
        );
        println!(
            "  upload   {up:.2}x (target >= 3.0x: {}); server CPU per GiB: {}",
            verdict(up >= 3.0),
            less(
                theirs.median(|r| r.upload_cpu),
                ours.median(|r| r.upload_cpu)
            )
        );
        let room = ceiling / theirs.median(|r| r.upload);
        println!(
            "           no server can upload faster than the sink: {} = {room:.2}x pyftpdlib{}",
            per_sec(ceiling),
            if room < 3.0 {
                " (curl is the limit here: 3x is out of reach)"
            } else {
                ""
            }
        );
        let share = ours.median(|r| r.upload) / ceiling;
        println!(
            "  upload   {share:.2} of the sink's rate (target >= 0.9: {})",
            verdict(share >= 0.9)
        );
        match (ours.crowd(), theirs.crowd()) {
            (Some((our_wall, our_slowest)), Some((their_wall, their_slowest))) => {
                let wall = their_wall / our_wall;
                let slowest = their_slowest / our_slowest.max(1e-9);
                println!(
                    "  {} clients: speed {wall:.2}x by wall time, {slowest:.2}x by the slowest client \
                     (target >= 1.0x both: {})",
                    args.clients,
                    verdict(wall >= 1.0 && slowest >= 1.0)
                );
            }
            _ => println!(
                "  {} clients: not measured (target >= 1.0x both: not measured)",
                args.clients
            ),
        }
    }
    println!();
    println!("Rates and the slowest client's time are curl's own timers (time_total -");
    println!("time_pretransfer). The wall time also holds a curl 7.88 stall: when a");
    println!("server answers EPSV at once, curl may wait 0.2 or 1 s before opening the");
    println!("data connection; fast servers (lesson-25, vsftpd) trigger it more often.");
    println!("Server CPU is counted in 10 ms ticks: trust it for large files only.");
    println!(
        "{}",
        memory_verdict(all.iter().find(|r| r.name == "lesson-25"))
    );
}

/// The memory target: under 32 MiB during the large transfers *and* with
/// all the clients connected (flat, whatever the number of clients). What
/// was not measured is said, never "met".
fn memory_verdict(ours: Option<&Results>) -> String {
    const TARGET: u64 = 32 << 20;
    let measured = ours.map(|r| (r.peak_rss, r.clients_rss));
    match measured {
        None => "lesson-25 peak RSS: not measured (the server was left out)".to_string(),
        Some((Some(large), Some(clients))) => {
            let peak = large.max(clients);
            format!(
                "lesson-25 peak RSS {} with large files, {} with the clients (target < 32 MiB: {})",
                human(large),
                human(clients),
                if peak < TARGET { "met" } else { "NOT met" }
            )
        }
        Some((large, clients)) => format!(
            "lesson-25 peak RSS {} with large files, {} with the clients (target < 32 MiB: not measured)",
            large.map_or("not measured".to_string(), human),
            clients.map_or("not measured".to_string(), human),
        ),
    }
}

/// `2.31x less`, or `n/a` when a measurement is zero (too small to count).
fn less(theirs: f64, ours: f64) -> String {
    if ours > 0.0 && theirs.is_finite() {
        format!("{:.2}x less", theirs / ours)
    } else {
        "n/a (too little to measure)".to_string()
    }
}

/// The table as a chart: each server's download and upload rate (with the
/// sink's upload, the most curl can send), and its peak memory.
fn chart(args: &Args, all: &[Results], ceiling: f64) -> support::chart::Figure {
    use support::chart::{Bars, Figure};
    const MB: f64 = 1e6;
    const MIB: f64 = (1u64 << 20) as f64;
    let mut speed = Bars::new(
        &format!("{} file, one client (more is better)", human(args.size)),
        "MB/s",
        ["download", "upload"],
    );
    let mut memory = Bars::new(
        "Server's peak memory (less is better)",
        "peak RSS, MiB",
        [
            "during the large file".to_string(),
            format!("{} clients at once", args.clients),
        ],
    );
    for r in all {
        let measured = r.note.is_none() && !r.rounds.is_empty();
        let rate = |pick: fn(&Round) -> f64| measured.then(|| r.median(pick) / MB);
        speed = speed.series(&r.name, [rate(|x| x.download), rate(|x| x.upload)]);
        let mib = |peak: Option<u64>| peak.map(|bytes| bytes as f64 / MIB);
        memory = memory.series(&r.name, [mib(r.peak_rss), mib(r.clients_rss)]);
    }
    speed = speed.series("sink (upload ceiling)", [None, Some(ceiling / MB)]);
    Figure::new("FTP servers with curl as the client, on 127.0.0.1")
        .bars(speed)
        .bars(memory)
        .note(&format!(
            "median of {} round(s); {} clients x {}",
            args.rounds,
            args.clients,
            human(args.client_size)
        ))
}
