//! The `weft` command-line tool over any [`Registry`] of scenarios: the bundled `weft` binary
//! is `weft_cli::main_with::<Bundled>(the bundled registry)`, and a user's crate gets the same
//! tool for its own system with a bin of three lines:
//!
//! ```no_run
//! # use weft_cli::ModelScenario;
//! # struct MyModel;
//! # impl weft::StateMachine for MyModel {
//! #     type State = (); type Command = (); type Result = (); type System = ();
//! #     fn setup(&self, _: &mut weft::Sim) {}
//! #     fn init(&self) {}
//! #     fn command(&self, _: &(), _: &mut weft::Gen) {}
//! #     fn next_state(&self, _: &(), _: &(), _: weft::Var) {}
//! #     fn postcondition(&self, _: &(), _: &(), _: &(), _: &weft::Vars<()>) -> Result<(), String> {
//! #         Ok(())
//! #     }
//! #     async fn run(&self, _: &(), _: &(), _: &weft::Vars<()>) {}
//! # }
//! fn main() -> std::process::ExitCode {
//!     let my_system = ModelScenario::new("my-system", "my system against MyModel", |_setup| MyModel);
//!     weft_cli::main(weft_cli::Registry::new().tool("my-weft").scenario(my_system))
//! }
//! ```
//!
//! That bin answers `list`, `run`, `replay`, `fuzz` (with `--jobs`, `--shard`, `--out`,
//! `--keep-going`, `--resume`, `--time`), `merge`, `report`, `determinism`, `explore`,
//! `bug-table` and `race-table` for the registry's scenarios. [`ModelScenario`] turns a
//! `StateMachine` model into a scenario (its documentation has a complete example); any other
//! workload implements [`Scenario`].
//!
//! Exit codes, shared by every subcommand: 0 success (every property holds), 1 a property
//! failed, 2 bad usage or bad input (one line on stderr, never a panic), 3 unknown (a checker
//! bound was reached).
//!
//! This crate knows the engine (`weft`) and nothing of the bundled systems: their scenarios,
//! the demo, the benchmarks and `check-history`'s model catalogue are in `weft-scenarios`,
//! which plugs them in as an [`Extension`].
#![deny(missing_docs)]

mod args;
pub mod bug_table;
mod bug_table_cmd;
mod commands;
mod explore_cmd;
mod fuzz_cmd;
mod merge_cmd;
mod model_scenario;
mod outdir;
mod output;
mod progress;
pub mod race_table;
mod race_table_cmd;
mod registry;
mod report_cmd;
mod trace_filter;

pub use model_scenario::ModelScenario;
pub use registry::Registry;
pub use weft::internals::scenario::{PlantedBug, Scenario, Setup};
pub use weft::internals::Run;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

/// Subcommands a tool adds to the generic ones (the bundled tool's `demo`, `bench`,
/// `check-history`): a clap [`Subcommand`] enum, run with the tool's registry. Give each
/// variant a `#[command(display_order = N)]` to place it in the help among the generic
/// subcommands (list 1, run 2, replay 3, fuzz 4, merge 5, report 6, determinism 7,
/// explore 8, bug-table 10, race-table 11).
pub trait Extension: Subcommand {
    /// Runs the subcommand; returns the exit code.
    fn run(self, registry: &Registry) -> u8;
}

/// No subcommand besides the generic ones.
#[derive(Subcommand)]
pub enum NoExtension {}

impl Extension for NoExtension {
    fn run(self, _: &Registry) -> u8 {
        match self {}
    }
}

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "Deterministic simulation and model-based testing for distributed systems"
)]
struct Cli<E: Extension> {
    #[command(subcommand)]
    command: Command<E>,
}

#[derive(Subcommand)]
enum Command<E: Extension> {
    /// List the scenarios, one per line.
    #[command(display_order = 1)]
    List(commands::ListArgs),
    /// Run a scenario once from a seed.
    #[command(display_order = 2)]
    Run(commands::RunArgs),
    /// Replay a replay file exactly.
    #[command(display_order = 3)]
    Replay(commands::ReplayArgs),
    /// Run cases until one fails (or, with --keep-going, for a budget), shrink and explain.
    #[command(display_order = 4)]
    Fuzz(fuzz_cmd::FuzzArgs),
    /// Merge the output folders of several `weft fuzz --out` runs (shards) into one summary.
    #[command(display_order = 5)]
    Merge(merge_cmd::Args),
    /// Render a replay file's failure as text, JSON or a self-contained HTML page.
    #[command(display_order = 6)]
    Report(report_cmd::Args),
    /// Run seeds twice each and report the first divergence (nondeterminism in the code).
    #[command(display_order = 7)]
    Determinism(commands::DeterminismArgs),
    /// Run every interleaving of one case, depth first, within a preemption bound.
    #[command(display_order = 8)]
    Explore(explore_cmd::Args),
    /// Measure how fast each planted bug is found and what it shrinks to (the README's table).
    #[command(display_order = 10)]
    BugTable(bug_table_cmd::Args),
    /// Measure how fast each strategy finds the races of the scenarios that must fail.
    #[command(display_order = 11)]
    RaceTable(race_table_cmd::Args),
    #[command(flatten)]
    Extension(E),
}

/// The `weft` tool over `registry`'s scenarios, with the generic subcommands only: call it
/// from a bin's `main`. Reads the process's arguments; returns its exit code.
pub fn main(registry: Registry) -> std::process::ExitCode {
    main_with::<NoExtension>(registry)
}

/// The `weft` tool over `registry`'s scenarios, with the subcommands of `E` besides the
/// generic ones.
pub fn main_with<E: Extension>(registry: Registry) -> std::process::ExitCode {
    quiet_on_closed_pipe();
    std::process::ExitCode::from(run_with::<E, _, _>(&registry, std::env::args_os()))
}

/// Runs the tool once with the command line `args` (the first is the program's name) and
/// returns the exit code, without the extension subcommands.
pub fn run<I, T>(registry: &Registry, args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_with::<NoExtension, _, _>(registry, args)
}

/// Runs the tool once with the command line `args` (the first is the program's name) and
/// the subcommands of `E`; returns the exit code.
pub fn run_with<E, I, T>(registry: &Registry, args: I) -> u8
where
    E: Extension,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    if let Some(problem) = registry.problem() {
        return commands::usage_error(format!("the tool's registry is wrong: {problem}"));
    }
    let command = Cli::<E>::command()
        .name(registry.tool_command())
        .bin_name(registry.tool_command());
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::<E>::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => return usage(registry, &err),
        Err(err) => {
            let _ = err.print();
            return 0;
        }
    };
    match cli.command {
        Command::List(args) => commands::list(registry, args),
        Command::Run(args) => commands::run(registry, args),
        Command::Replay(args) => commands::replay(registry, args),
        Command::Fuzz(args) => fuzz_cmd::run(registry, args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Report(args) => report_cmd::run(registry, args),
        Command::Determinism(args) => commands::determinism(registry, args),
        Command::Explore(args) => explore_cmd::run(registry, args),
        Command::BugTable(args) => bug_table_cmd::run(registry, args),
        Command::RaceTable(args) => race_table_cmd::run(registry, args),
        Command::Extension(extension) => extension.run(registry),
    }
}

/// A command line clap refused, as one line: what is wrong (clap's first line), and where to
/// look; exit code 2.
fn usage(registry: &Registry, err: &clap::Error) -> u8 {
    let text = err.render().to_string();
    let what: Vec<&str> = (text.lines())
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    let line = what.join(" ");
    eprintln!(
        "weft: {} (see {} --help)",
        line.trim_start_matches("error: "),
        registry.tool_command()
    );
    commands::EXIT_USAGE
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A model with one command that always holds: enough to register and fuzz.
    struct Nothing;

    impl weft::StateMachine for Nothing {
        type State = ();
        type Command = ();
        type Result = ();
        type System = ();
        fn setup(&self, _: &mut weft::Sim) {}
        fn init(&self) {}
        fn command(&self, _: &(), _: &mut weft::Gen) {}
        fn next_state(&self, _: &(), _: &(), _: weft::Var) {}
        fn postcondition(&self, _: &(), _: &(), _: &(), _: &weft::Vars<()>) -> Result<(), String> {
            Ok(())
        }
        async fn run(&self, _: &(), _: &(), _: &weft::Vars<()>) {}
    }

    const BUGS: &[PlantedBug] = &[PlantedBug {
        name: "none-really",
        origin: "a test",
        about: "switches nothing",
    }];

    fn nothing(name: &'static str) -> ModelScenario<impl Fn(&Setup) -> Nothing + Sync> {
        ModelScenario::new(name, "a model that always holds", |_| Nothing).bugs(BUGS)
    }

    fn check(registry: &Registry, args: &[&str], expected: u8) {
        let line = [&["t"][..], args].concat();
        assert_eq!(run(registry, line), expected, "{args:?}");
    }

    #[test]
    fn a_wrong_registry_is_refused_with_exit_code_2() {
        let twice = Registry::new()
            .scenario(nothing("a"))
            .scenario(nothing("a"));
        assert_eq!(twice.problem().unwrap(), "two scenarios are named \"a\"");
        check(&twice, &["list"], 2);
        let blank = Registry::new().scenario(nothing("a b"));
        assert!(blank.problem().unwrap().contains("blanks"));
        check(&blank, &["list"], 2);
        let empty = Registry::new().scenario(nothing(""));
        assert!(empty.problem().is_some());
    }

    #[test]
    fn commands_run_the_registrys_scenarios() {
        let registry = Registry::new()
            .tool("t")
            .scenario(nothing("a"))
            .scenario(nothing("b"));
        assert_eq!(registry.scenarios().len(), 2);
        assert_eq!(registry.find("b").unwrap().name(), "b");
        assert!(registry.find("c").is_none());
        check(&registry, &["list"], 0);
        let fuzz = ["fuzz", "b", "--cases", "5", "--progress", "none"];
        check(&registry, &fuzz, 0);
        check(
            &registry,
            &[&fuzz[..], &["--bug", "none-really"]].concat(),
            0,
        );
        check(&registry, &[&fuzz[..], &["--bug", "other"]].concat(), 2);
        check(&registry, &["fuzz", "c"], 2);
        check(&registry, &["determinism", "a", "--seeds", "3"], 0);
        check(&registry, &["demo"], 2);
        check(&registry, &["fuzz", "a", "--cases", "0"], 2);
    }
}
