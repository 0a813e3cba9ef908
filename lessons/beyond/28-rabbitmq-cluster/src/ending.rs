//! How both programs end: when their run is done, or at Ctrl-C.

use std::process::ExitCode;

/// Runs a program until it ends or Ctrl-C comes, and ends its `main`.
///
/// At Ctrl-C, `run` is dropped, and with it the cluster (nodes killed,
/// folder removed) unless a helper thread held it: its nodes die with this
/// process anyway (the test kit binds them to it), and the next run sweeps
/// the folder. So the program exits at once (130, as a shell reports
/// Ctrl-C), not after that thread.
pub async fn until_ctrl_c(run: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    tokio::select! {
        outcome = run => support::exit(outcome),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Ctrl-C: the nodes are stopped");
            std::process::exit(130)
        }
    }
}
