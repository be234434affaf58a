//! `weft report FILE`: renders a replay file as text, JSON or the HTML page, from a replay of
//! the run (so the page has the message sequence chart of the real run).

use crate::commands::{replayed, usage_error};
use crate::Registry;
use serde_json::json;
use std::path::PathBuf;
use weft::internals::explain::Counterexample;
use weft::internals::shrink::nondefault_execution;

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The counterexample as `weft fuzz` prints it.
    Text,
    /// One JSON object.
    Json,
    /// The self-contained HTML page.
    Html,
}

#[derive(clap::Args)]
pub struct Args {
    /// The replay file.
    pub file: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Where to write it (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(registry: &Registry, args: Args) -> u8 {
    let (file, scenario, run) = match replayed(registry, &args.file) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if !run.failed() {
        return usage_error(format!(
            "{}: the run passes; a report is made of a failing run",
            args.file.display()
        ));
    }
    let how = registry.replay_command(&args.file);
    let counterexample = Counterexample::new(&run, Some(how)).with_profile(file.swarm.clone());
    let text = match args.format {
        Format::Text => counterexample.to_string(),
        Format::Html => counterexample.to_html(scenario.name(), &run.report),
        Format::Json => {
            let (commands, branches) = run.size();
            let object = json!({
                "scenario": scenario.name(),
                "seed": file.seed,
                "strategy": file.strategy,
                "swarm_profile": file.swarm,
                "failure_kind": counterexample.failure.kind.name(),
                "failure": counterexample.failure.to_string(),
                "violation": run.case.as_ref().and_then(|c| c.violation.clone()),
                "commands": commands,
                "branches": branches,
                "nondefault_decisions": nondefault_execution(&run.report.log).len(),
                "decisions": counterexample.decisions.iter().map(|n| n.text.clone()).collect::<Vec<_>>(),
                "steps": run.report.steps,
                "sim_time_ns": run.report.sim_time_ns,
                "nodes": run.report.node_names,
                "counterexample": counterexample.to_string(),
                "replay": counterexample.replay,
            });
            object.to_string() + "\n"
        }
    };
    match &args.out {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                return usage_error(format!("cannot write {}: {e}", path.display()));
            }
        }
    }
    1
}
