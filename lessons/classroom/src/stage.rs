//! A stage: several programs in one terminal, scripted.
//!
//! Every program's stdout and stderr lines are printed as they arrive,
//! prefixed with its name in its own colour (no colour when the output is
//! not a terminal, or `NO_COLOR` is set). The script waits for lines rather
//! than sleeping, so a demo runs as fast as the programs do, and every line
//! is kept in a transcript that tests read.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Result;

/// Colours for the programs' names, in order of appearance.
const COLOURS: [&str; 6] = ["36", "33", "35", "32", "34", "31"];

/// One line a program printed.
#[derive(Debug, Clone)]
pub struct Line {
    /// Who printed it (the name given to [`Stage::spawn`]; `demo` for the
    /// script's own narration).
    pub actor: String,
    pub text: String,
}

/// A running program on the stage.
struct Actor {
    child: Child,
    /// Its standard input, for [`Stage::type_line`].
    stdin: Option<ChildStdin>,
    /// Its output lines, for [`Stage::wait_for`].
    lines: Receiver<String>,
    colour: &'static str,
}

/// Several programs run and watched together.
pub struct Stage {
    root: PathBuf,
    actors: HashMap<String, Actor>,
    /// Every line printed on the stage, in order.
    transcript: Arc<Mutex<Vec<Line>>>,
    colour: bool,
    /// Print lines as they come (off in tests: they read the transcript).
    echo: bool,
}

impl Stage {
    /// An empty stage. `echo`: print the lines as they arrive.
    pub fn new(echo: bool) -> Self {
        Stage {
            root: course::workspace_root(),
            actors: HashMap::new(),
            transcript: Arc::default(),
            colour: echo
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
            echo,
        }
    }

    /// Builds the programs of `lesson` named in `programs`, so that starting
    /// them later is instant. Cargo's own output goes to the terminal.
    pub fn build(&self, lesson: u8, programs: &[&str]) -> Result<()> {
        let lesson = lesson_of(lesson)?;
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .current_dir(&self.root)
            .args(["build", "--quiet", "--package", &lesson.package()]);
        for program in programs {
            cargo.args(["--bin", &lesson.bin_target(&self.root, program)]);
        }
        let status = cargo
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "building lesson {:02} failed ({status})",
                lesson.number
            ))
        }
    }

    /// The path of a built program.
    pub fn binary(&self, lesson: u8, program: &str) -> Result<PathBuf> {
        let lesson = lesson_of(lesson)?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("target"));
        Ok(target
            .join("debug")
            .join(lesson.bin_target(&self.root, program)))
    }

    /// Starts `program` of `lesson` with `args`, under the name `actor`.
    pub fn spawn(&mut self, actor: &str, lesson: u8, program: &str, args: &[String]) -> Result<()> {
        let binary = self.binary(lesson, program)?;
        let mut command = Command::new(&binary);
        command.args(args);
        self.spawn_command(actor, command)
    }

    /// Starts any command under the name `actor`.
    pub fn spawn_command(&mut self, actor: &str, mut command: Command) -> Result<()> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The programs stay in the demo's process group, so Ctrl-C in the
        // terminal stops them together with the demo. On Linux they also
        // die with the demo if it is killed outright.
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: only an async-signal-safe system call between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start {actor} ({:?}): {e}", command.get_program()))?;
        let colour = COLOURS[self.actors.len() % COLOURS.len()];
        let (sender, lines) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sender = sender.clone();
            let transcript = Arc::clone(&self.transcript);
            let name = actor.to_string();
            let (echo, paint) = (self.echo, self.colour);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    if echo {
                        print_line(&name, colour, paint, &line);
                    }
                    if let Ok(mut all) = transcript.lock() {
                        all.push(Line {
                            actor: name.clone(),
                            text: line.clone(),
                        });
                    }
                    let _ = sender.send(line);
                }
            });
        }
        let stdin = child.stdin.take();
        self.actors.insert(
            actor.to_string(),
            Actor {
                child,
                stdin,
                lines,
                colour,
            },
        );
        Ok(())
    }

    /// Prints a line of the script itself, to say what happens next.
    pub fn narrate(&self, text: &str) {
        if self.echo {
            if self.colour {
                println!("\x1b[1m== {text}\x1b[0m");
            } else {
                println!("== {text}");
            }
        }
        if let Ok(mut all) = self.transcript.lock() {
            all.push(Line {
                actor: "demo".into(),
                text: text.into(),
            });
        }
    }

    /// Waits until `actor` prints a line containing `pattern`, and returns
    /// that line. Lines before it are skipped (they are printed anyway).
    pub fn wait_for(&mut self, actor: &str, pattern: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let who = self.actor(actor)?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match who.lines.recv_timeout(left) {
                Ok(line) if line.contains(pattern) => return Ok(line),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{actor} did not print `{pattern}` within {} s",
                        timeout.as_secs()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{actor} ended without printing `{pattern}`"));
                }
            }
        }
    }

    /// Types `line` (and Enter) into `actor`'s standard input.
    pub fn type_line(&mut self, actor: &str, line: &str) -> Result<()> {
        let (colour, paint, echo) = (self.actor(actor)?.colour, self.colour, self.echo);
        if echo {
            print_line(actor, colour, paint, &format!("<- {line}"));
        }
        let stdin = self
            .actor(actor)?
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{actor}'s input is closed"))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("could not type into {actor}: {e}"))
    }

    /// Closes `actor`'s standard input (Ctrl-D).
    pub fn close_input(&mut self, actor: &str) -> Result<()> {
        self.actor(actor)?.stdin = None;
        Ok(())
    }

    /// Waits for `actor` to exit by itself.
    pub fn wait_exit(&mut self, actor: &str, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let who = self.actor(actor)?;
        loop {
            if let Some(status) = who.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{actor} did not exit within {} s",
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills `actor` with SIGKILL, as a crash or `kill -9` would.
    pub fn kill(&mut self, actor: &str) -> Result<()> {
        let who = self.actor(actor)?;
        signal(&who.child, libc::SIGKILL);
        let _ = who.child.wait();
        Ok(())
    }

    /// Asks `actor` to stop (SIGINT, like Ctrl-C), then waits.
    pub fn stop(&mut self, actor: &str) -> Result<()> {
        let who = self.actor(actor)?;
        signal(&who.child, libc::SIGINT);
        if wait_briefly(&mut who.child).is_none() {
            signal(&who.child, libc::SIGKILL);
            let _ = who.child.wait();
        }
        Ok(())
    }

    /// Every line printed so far.
    pub fn transcript(&self) -> Vec<Line> {
        self.transcript
            .lock()
            .map(|all| all.clone())
            .unwrap_or_default()
    }

    /// The lines `actor` printed so far.
    pub fn lines_of(&self, actor: &str) -> Vec<String> {
        self.transcript()
            .into_iter()
            .filter(|line| line.actor == actor)
            .map(|line| line.text)
            .collect()
    }

    fn actor(&mut self, name: &str) -> Result<&mut Actor> {
        self.actors
            .get_mut(name)
            .ok_or_else(|| format!("no program called {name} on the stage"))
    }
}

impl Drop for Stage {
    /// Nothing a demo started outlives it.
    fn drop(&mut self) {
        for actor in self.actors.values_mut() {
            if matches!(actor.child.try_wait(), Ok(None)) {
                signal(&actor.child, libc::SIGINT);
                if wait_briefly(&mut actor.child).is_none() {
                    signal(&actor.child, libc::SIGKILL);
                    let _ = actor.child.wait();
                }
            }
        }
    }
}

fn lesson_of(number: u8) -> Result<course::Lesson> {
    course::find(&number.to_string()).map_err(|e| e.to_string())
}

fn print_line(actor: &str, colour: &str, paint: bool, line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = if paint {
        writeln!(out, "\x1b[{colour}m{actor:>10} |\x1b[0m {line}")
    } else {
        writeln!(out, "{actor:>10} | {line}")
    };
}

fn signal(child: &Child, number: i32) {
    // SAFETY: plain system call on our own child's pid.
    unsafe { libc::kill(child.id() as i32, number) };
}

/// Waits up to two seconds for a child to exit.
fn wait_briefly(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
