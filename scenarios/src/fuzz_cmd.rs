//! `weft fuzz`: run cases until one fails, shrink it, explain it.

use crate::commands::{scenario, setup, StrategyArgs};
use serde_json::json;
use std::path::PathBuf;
use weft::internals::failure_message;
use weft::internals::fuzz::{fuzz_parallel, FuzzConfig, FuzzResult, Shard};
use weft::internals::scenario::Setup;
use weft::internals::shrink::{nondefault_execution, ShrinkConfig};
use weft::{Detail, Source};

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Scenario name (see `weft list`).
    pub scenario: String,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Most cases to run.
    #[arg(long, default_value_t = 10_000)]
    pub cases: u64,
    /// Seed, strategy and PCT depth.
    #[command(flatten)]
    pub gen: StrategyArgs,
    /// Shrink time bound, in seconds.
    #[arg(long, default_value_t = 60)]
    pub shrink_time: u64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where to write the replay file (default: weft-failures/<scenario>-seed<N>.weft-replay.json).
    #[arg(long)]
    pub replay_out: Option<PathBuf>,
    /// Threads running cases (0: every core). The failure reported does not depend on it.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Run only shard K of N (cases whose index is K modulo N), to split one search across
    /// machines that use the same seed.
    #[arg(long, value_parser = parse_shard, default_value = "0/1")]
    pub shard: Shard,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).ok_or_else(|| format!("{text:?} is not K/N with K < N"))
}
pub fn run(args: FuzzArgs) -> u8 {
    let scenario = match scenario(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let base = match setup(scenario, &args.bugs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let cfg = fuzz_config(&args, scenario.name(), &base);
    let run = |source: Source, detail: Detail| {
        let setup = Setup {
            detail,
            ..base.clone()
        };
        scenario.run(&setup, source)
    };
    let jobs = match args.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let result = fuzz_parallel(&run, &cfg, jobs, args.shard);
    let found = result.found.as_ref();
    if args.json {
        println!("{}", summary_json(&args, &cfg, jobs, &result));
    } else {
        match found {
            None => println!(
                "{}: no failure in {} cases (seed {})",
                scenario.name(),
                result.cases_run,
                args.gen.seed
            ),
            Some(f) => println!("{}", failure_message(scenario.name(), args.gen.seed, f)),
        }
    }
    if let Some(e) = found.and_then(|f| f.save_error.as_ref()) {
        eprintln!("weft: could not save the replay file: {e}");
    }
    u8::from(found.is_some())
}

/// The search `args` ask for, of the scenario `name` set up as `base`.
fn fuzz_config(args: &FuzzArgs, name: &str, base: &Setup) -> FuzzConfig {
    let replay_file = args.replay_out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "weft-failures/{name}-seed{}.weft-replay.json",
            args.gen.seed
        ))
    });
    FuzzConfig {
        setup: serde_json::to_value(base).expect("setup serializes"),
        strategy: args.gen.kind(),
        pct_depth: args.gen.depth,
        shrink: ShrinkConfig {
            time_max: std::time::Duration::from_secs(args.shrink_time),
            ..ShrinkConfig::default()
        },
        replay_file: Some(replay_file),
        ..FuzzConfig::new(name, args.gen.seed, args.cases)
    }
}

/// The one JSON object `weft fuzz --json` prints.
fn summary_json(
    args: &FuzzArgs,
    cfg: &FuzzConfig,
    jobs: usize,
    result: &FuzzResult,
) -> serde_json::Value {
    let found = result.found.as_ref();
    let shrunk = found.map(|f| {
        let (commands, branches) = f.run.size();
        let stats = f.shrink.as_ref();
        json!({
            "commands": commands,
            "branches": branches,
            "nondefault_decisions": nondefault_execution(&f.run.report.log).len(),
            "shrink_ms": stats.map(|s| s.elapsed.as_millis() as u64),
            "candidates": stats.map(|s| s.candidates),
            "cut_short": stats.and_then(|s| s.cut_short.clone()),
        })
    });
    let path = |p: Option<&PathBuf>| p.map(|p| p.display().to_string());
    json!({
        "scenario": cfg.name,
        "bugs": args.bugs,
        "strategy": cfg.strategy.name(),
        "seed": cfg.seed,
        "jobs": jobs,
        "shard": format!("{}/{}", args.shard.index, args.shard.count),
        "cases_run": result.cases_run,
        "found": found.is_some(),
        "cases_to_failure": found.map(|f| f.cases_to_failure),
        "failure_kind": found.map(|f| f.counterexample.failure.kind.name()),
        "shrunk": shrunk,
        "replay_file": path(found.and_then(|f| f.replay_file.as_ref())),
        "html_file": path(found.and_then(|f| f.html_file.as_ref())),
        "counterexample": found.map(|f| f.counterexample.to_string()),
    })
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Seed of the search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The embedded default job: fuzz the canary, then the worker pool with a planted bug from
/// poolboy's history; each failure is shrunk and explained. Exit 0 when both were found (the
/// demo worked), 1 if not (the harness is broken).
pub fn demo(args: DemoArgs) -> u8 {
    let jobs = [
        (
            "canary",
            None,
            "the canary: a racy read-modify-write counter, two or three clients in parallel",
        ),
        (
            "pool",
            Some("serve-expired-waiter"),
            "a poolboy-like worker pool with a bug poolboy had (6a53f06): a checkin serves a waiter whose checkout already timed out",
        ),
    ];
    let mut missed = Vec::new();
    for (scenario, bug, about) in jobs {
        println!("== weft demo: fuzzing {about}\n");
        let code = run(FuzzArgs {
            scenario: scenario.to_string(),
            bugs: bug.map(str::to_string).into_iter().collect(),
            cases: 2000,
            gen: StrategyArgs {
                seed: args.seed,
                strategy: "random".to_string(),
                depth: 3,
            },
            shrink_time: 60,
            json: false,
            replay_out: None,
            jobs: 1,
            shard: Shard::ALL,
        });
        if code != 1 {
            missed.push(scenario);
        }
    }
    if missed.is_empty() {
        println!("The demo found, shrank and explained both bugs. `weft list` shows every scenario and planted bug.");
        0
    } else {
        eprintln!(
            "weft demo: NOT found in {}: the harness is broken",
            missed.join(", ")
        );
        1
    }
}
