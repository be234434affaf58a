//! The `weft` command-line tool.
//!
//! Exit codes, shared by every subcommand: 0 success (property holds / history
//! linearizable), 1 a property failed (not linearizable), 2 bad usage or bad input,
//! 3 unknown (a checker bound was reached).

mod check_history;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "Deterministic simulation and model-based testing for distributed systems"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a recorded history for linearizability.
    CheckHistory(check_history::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::CheckHistory(args) => check_history::run(args),
    };
    ExitCode::from(code)
}
