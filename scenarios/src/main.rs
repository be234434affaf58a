//! The `weft` command-line tool.
//!
//! Exit codes, shared by every subcommand: 0 success (every property holds, the history is
//! linearizable), 1 a property failed (not linearizable), 2 bad usage or bad input,
//! 3 unknown (a checker bound was reached).

mod args;
mod bench;
mod bug_table_cmd;
mod check_history;
mod commands;
mod explore_cmd;
mod fuzz_cmd;
mod merge_cmd;
mod outdir;
mod output;
mod progress;
mod race_table_cmd;
mod report_cmd;
mod trace_filter;

use clap::{Parser, Subcommand};

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
    /// The demo: find a bug in a bundled system, shrink it, explain it.
    Demo(fuzz_cmd::DemoArgs),
    /// List the bundled scenarios, one per line.
    List(commands::ListArgs),
    /// Run a scenario once from a seed.
    Run(commands::RunArgs),
    /// Replay a replay file exactly.
    Replay(commands::ReplayArgs),
    /// Run cases until one fails (or, with --keep-going, for a budget), shrink and explain.
    Fuzz(fuzz_cmd::FuzzArgs),
    /// Merge the output folders of several `weft fuzz --out` runs (shards) into one summary.
    Merge(merge_cmd::Args),
    /// Render a replay file's failure as text, JSON or a self-contained HTML page.
    Report(report_cmd::Args),
    /// Run seeds twice each and report the first divergence (nondeterminism in the code).
    Determinism(commands::DeterminismArgs),
    /// Run every interleaving of one case, depth first, within a preemption bound.
    Explore(explore_cmd::Args),
    /// Measure throughput (cases per second) and shrink times.
    Bench(bench::BenchArgs),
    /// Measure how fast each planted bug is found and what it shrinks to (the README's table).
    BugTable(bug_table_cmd::Args),
    /// Measure how fast each strategy finds the races of the scenarios that must fail.
    RaceTable(race_table_cmd::Args),
    /// Check a recorded history for linearizability.
    CheckHistory(check_history::Args),
}

/// A closed pipe (`weft replay FILE | head -1`) ends the process quietly, as for any Unix
/// tool, instead of a panic in `println!`.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run())
}

fn run() -> u8 {
    quiet_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            // One line: what is wrong (clap's first line), and where to look.
            let text = err.render().to_string();
            let what: Vec<&str> = (text.lines())
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            let line = what.join(" ");
            eprintln!(
                "weft: {} (see weft --help)",
                line.trim_start_matches("error: ")
            );
            return 2;
        }
        Err(err) => {
            let _ = err.print();
            return 0;
        }
    };
    match cli.command {
        Command::Demo(args) => fuzz_cmd::demo(args),
        Command::List(args) => commands::list(args),
        Command::Run(args) => commands::run(args),
        Command::Replay(args) => commands::replay(args),
        Command::Fuzz(args) => fuzz_cmd::run(args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Determinism(args) => commands::determinism(args),
        Command::Explore(args) => explore_cmd::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BugTable(args) => bug_table_cmd::run(args),
        Command::RaceTable(args) => race_table_cmd::run(args),
        Command::CheckHistory(args) => check_history::run(args),
    }
}
