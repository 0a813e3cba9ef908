//! `just demo lesson-NN`: a lesson's multi-process scenario in one terminal.
//!
//! ```text
//! just demo                        # list the demos
//! just demo lesson-11              # play one (uses your brokers if they answer)
//! just demo lesson-11 --throwaway  # always on throwaway brokers
//! just demo lesson-26 --hosts      # each agent on a host of its own (root)
//! ```

use std::process::ExitCode;

use classroom::demos;
use classroom::stage::Stage;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, rest)) = args.split_first() else {
        print!("{}", demos::listing());
        return ExitCode::SUCCESS;
    };
    let throwaway = rest.iter().any(|arg| arg == "--throwaway");
    let hosts = rest.iter().any(|arg| arg == "--hosts");
    let demo = match demos::find(name) {
        Ok(demo) => demo,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if hosts && demo.lesson != 26 {
        eprintln!("error: --hosts is for lesson-26 only (agents on hosts of their own)");
        return ExitCode::from(2);
    }
    let mut stage = Stage::new(true);
    let played = if hosts {
        demos::hosts::play(&mut stage, throwaway)
    } else {
        demos::play(demo, &mut stage, throwaway)
    };
    if played.is_ok() {
        stage.narrate("the end");
    }
    support::exit(played.map_err(|error| format!("the demo stopped: {error}")))
}
