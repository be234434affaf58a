//! `weft explore`: every interleaving of one case, depth first, within a preemption bound.

use crate::commands::{print_report_for, replayed_setup, scenario, setup, usage_error};
use crate::Registry;
use serde_json::json;
use std::path::PathBuf;
use weft::decision::Decision;
use weft::internals::explore::{explore, ExploreConfig, Explored};
use weft::internals::replay::ReplayFile;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::Run;
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
    /// Also try messages slower than the minimum latency, up to this latency bucket (0: every
    /// message at the minimum); each delayed message counts as one against --preemptions.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000))]
    pub latencies: u64,
    /// Also try every order of events due at the same simulated instant (each order other
    /// than first-in first-out counts as one against --preemptions).
    #[arg(long)]
    pub event_order: bool,
    /// Also try injected faults at the first N fault ticks, in scenarios that inject faults:
    /// each tick's action and target, and whether a crashed node's unsynced writes survive.
    /// Each fault, target other than the first node and write lost or torn counts as one
    /// against --preemptions.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub fault_ticks: u32,
    /// Hold the order of tasks at its default: only the other choices asked for are searched
    /// (with --fault-ticks, the faults alone).
    #[arg(long)]
    pub no_schedule: bool,
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

pub fn run(registry: &Registry, args: Args) -> u8 {
    let case = match case_of(registry, &args) {
        Ok(case) => case,
        Err(code) => return code,
    };
    let cfg = ExploreConfig {
        preemptions: args.preemptions,
        latency_options: args.latencies,
        event_order: args.event_order,
        schedule: !args.no_schedule,
        fault_ticks: args.fault_ticks,
        runs_max: args.runs_max,
        stop_at_failure: args.first,
    };
    let quiet = Setup {
        detail: Detail::Quiet,
        ..case.setup.clone()
    };
    let scenario = case.scenario;
    let explored = explore(
        &|source| scenario.run(&quiet, source),
        &case.generation,
        &cfg,
    );
    let coverage = coverage(&args, &explored);
    let summary = json!({
        "scenario": scenario.name(),
        "seed": case.seed,
        "preemptions": args.preemptions,
        "latencies": args.latencies,
        "event_order": args.event_order,
        "fault_ticks": args.fault_ticks,
        "schedule": !args.no_schedule,
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
    let (run, saved) = replay_and_save(&args, &case, failing);
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
    let name = scenario.name();
    print_report_for(
        registry,
        name,
        case.seed,
        &run,
        saved.as_ref(),
        args.json,
        Some(summary),
    )
}

/// The case to explore: its scenario and setup, its generation decisions, and the seed that
/// generated it (none when it comes from a replay file).
struct Case {
    scenario: &'static dyn Scenario,
    setup: Setup,
    generation: Vec<Decision>,
    seed: Option<u64>,
}

/// The case `--from FILE` recorded, or the one the random strategy generates from `--seed`;
/// any problem is a one-line error and exit code 2.
fn case_of(registry: &Registry, args: &Args) -> Result<Case, u8> {
    if let Some(path) = &args.from {
        let (scenario, setup, log) = replayed_setup(registry, path)?;
        return Ok(Case {
            scenario,
            setup,
            generation: log.decisions,
            seed: None,
        });
    }
    let Some(name) = &args.scenario else {
        return Err(usage_error(
            "weft explore needs a scenario name or --from FILE",
        ));
    };
    let scenario = scenario(registry, name)?;
    let setup = setup(scenario, &args.bugs)?;
    let strategy = StrategyKind::Random.build(args.seed, Rates::default(), 1, 1);
    let first = scenario.run(&setup, Source::generate(strategy));
    Ok(Case {
        scenario,
        setup,
        generation: first.report.log.decisions,
        seed: Some(args.seed),
    })
}

/// How much of the interleavings the search covered, in words.
fn coverage(args: &Args, explored: &Explored) -> String {
    if explored.complete {
        let what = match (args.latencies, args.event_order) {
            (0, false) => "preemptions".to_string(),
            (0, true) => "preemptions or simultaneous events reordered".to_string(),
            (l, false) => format!("preemptions or messages delayed (up to latency bucket {l})"),
            (l, true) => format!(
                "preemptions, simultaneous events reordered or messages delayed (up to latency bucket {l})"
            ),
        };
        format!("all of them within {} {what}", args.preemptions)
    } else if args.first && explored.first_failure.is_some() {
        "stopped at the first failure".to_string()
    } else {
        format!(
            "stopped at --runs-max {}: not every interleaving was run",
            args.runs_max
        )
    }
}

/// The failing interleaving, replayed with its trace and explained, and saved as a replay
/// file (`None` if it could not be written: said on stderr).
fn replay_and_save(args: &Args, case: &Case, failing: &Run) -> (Run, Option<PathBuf>) {
    let explain = Setup {
        detail: Detail::Explain,
        ..case.setup.clone()
    };
    let name = case.scenario.name();
    let log = failing.report.log.clone();
    let run = case.scenario.run(&explain, Source::replay(log));
    let path = args
        .replay_out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("weft-failures/{name}-explore.weft-replay.json")));
    let config = serde_json::to_value(&case.setup).expect("setup serializes");
    let file = ReplayFile::of_report(name, config, case.seed, "explore", &run.report);
    let saved = match file.save(&path) {
        Ok(()) => Some(path),
        Err(e) => {
            eprintln!("weft: {e}");
            None
        }
    };
    (run, saved)
}
