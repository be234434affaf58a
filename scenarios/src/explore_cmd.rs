//! `weft explore`: every interleaving of one case, depth first, within a preemption bound.

use crate::commands::{print_report_for, replayed_setup, scenario, setup, usage_error};
use serde_json::json;
use std::path::PathBuf;
use weft::internals::explore::{explore, ExploreConfig};
use weft::internals::replay::ReplayFile;
use weft::strategy::{Rates, StrategyKind};
use weft::{Detail, Source};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario name (not needed with --from).
    pub scenario: Option<String>,
    /// The case to explore: the one a replay file recorded (its commands; its interleaving
    /// is ignored).
    #[arg(long, conflicts_with = "scenario")]
    pub from: Option<PathBuf>,
    /// The case to explore: the one the random strategy generates from this seed.
    #[arg(long, default_value_t = 0, conflicts_with = "from")]
    pub seed: u64,
    /// Switch on a planted bug (repeatable; a replay file names its own).
    #[arg(long = "bug", conflicts_with = "from")]
    pub bugs: Vec<String>,
    /// Most non-default scheduling choices per interleaving (preemptions of the running
    /// task, or waking a task other than the most recently woken one).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub preemptions: u32,
    /// Most interleavings to run.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub runs_max: u64,
    /// Stop at the first failing interleaving instead of counting them all.
    #[arg(long)]
    pub first: bool,
    /// Where to write the replay file of the first failing interleaving
    /// (default: weft-failures/<scenario>-explore.weft-replay.json).
    #[arg(long)]
    pub replay_out: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> u8 {
    let (scenario, setup, generation, seed) = match &args.from {
        Some(path) => match replayed_setup(path) {
            Ok((scenario, setup, log)) => (scenario, setup, log.decisions, None),
            Err(code) => return code,
        },
        None => {
            let Some(name) = &args.scenario else {
                return usage_error("weft explore needs a scenario name or --from FILE");
            };
            let scenario = match scenario(name) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let setup = match setup(scenario, &args.bugs) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let strategy = StrategyKind::Random.build(args.seed, Rates::default(), 1, 1);
            let first = scenario.run(&setup, Source::generate(strategy));
            (scenario, setup, first.report.log.decisions, Some(args.seed))
        }
    };
    let cfg = ExploreConfig {
        preemptions: args.preemptions,
        runs_max: args.runs_max,
        stop_at_failure: args.first,
    };
    let quiet = weft::internals::scenario::Setup {
        detail: Detail::Quiet,
        ..setup.clone()
    };
    let explored = explore(&|source| scenario.run(&quiet, source), &generation, &cfg);
    let coverage = if explored.complete {
        format!("all of them within {} preemptions", args.preemptions)
    } else if args.first && explored.first_failure.is_some() {
        "stopped at the first failure".to_string()
    } else {
        format!(
            "stopped at --runs-max {}: not every interleaving was run",
            args.runs_max
        )
    };
    let summary = json!({
        "scenario": scenario.name(),
        "seed": seed,
        "preemptions": args.preemptions,
        "interleavings": explored.runs,
        "complete": explored.complete,
        "failures": explored.failures,
        "first_failure_at": explored.first_failure_at,
    });
    let Some(failing) = &explored.first_failure else {
        if args.json {
            println!("{summary}");
        } else {
            println!(
                "{}: ran {} distinct interleavings ({coverage}); none failed",
                scenario.name(),
                explored.runs
            );
        }
        return 0;
    };
    // The failing interleaving, replayed with its trace and explained, and saved.
    let explain = weft::internals::scenario::Setup {
        detail: Detail::Explain,
        ..setup.clone()
    };
    let log = failing.report.log.clone();
    let run = scenario.run(&explain, Source::replay(log));
    let path = args.replay_out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "weft-failures/{}-explore.weft-replay.json",
            scenario.name()
        ))
    });
    let config = serde_json::to_value(&setup).expect("setup serializes");
    let file = ReplayFile::of_report(scenario.name(), config, seed, "explore", &run.report);
    let saved = match file.save(&path) {
        Ok(()) => Some(path),
        Err(e) => {
            eprintln!("weft: {e}");
            None
        }
    };
    if !args.json {
        println!(
            "{}: ran {} distinct interleavings ({coverage}); {} failed, the first at interleaving {}",
            scenario.name(),
            explored.runs,
            explored.failures,
            explored.first_failure_at.unwrap_or(0)
        );
        println!();
    }
    print_report_for(
        scenario.name(),
        seed,
        &run,
        saved.as_ref(),
        args.json,
        Some(summary),
    )
}
