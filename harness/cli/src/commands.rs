//! `weft list`, `run`, `replay` and `determinism`.

use crate::Registry;
use serde_json::json;
use std::path::{Path, PathBuf};
use weft::internals::explain::Counterexample;
use weft::internals::replay::ReplayFile;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::Run;
use weft::strategy::{Rates, StrategyKind, SwarmProfile};
use weft::{Detail, Source};

/// Exit code: usage or input error.
pub const EXIT_USAGE: u8 = 2;

/// Prints an error and returns exit code 2.
pub fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("weft: {message}");
    EXIT_USAGE
}

/// `weft list`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// One JSON object per line: name, about, must_fail, bugs.
    #[arg(long)]
    pub json: bool,
}

pub fn list(registry: &Registry, args: ListArgs) -> u8 {
    for s in registry.scenarios() {
        if args.json {
            let bugs: Vec<&str> = s.bugs().iter().map(|b| b.name).collect();
            let line = json!({"name": s.name(), "about": s.about(), "must_fail": s.must_fail(), "bugs": bugs});
            println!("{line}");
            continue;
        }
        let bugs: Vec<&str> = s.bugs().iter().map(|b| b.name).collect();
        if bugs.is_empty() {
            println!("{:<12} {}", s.name(), s.about());
        } else {
            println!("{:<12} {} [bugs: {}]", s.name(), s.about(), bugs.join(", "));
        }
    }
    0
}

/// Looks a scenario up, or explains which ones exist.
pub fn scenario(registry: &Registry, name: &str) -> Result<&'static dyn Scenario, u8> {
    registry.find(name).ok_or_else(|| {
        let known: Vec<&str> = registry.scenarios().iter().map(|s| s.name()).collect();
        usage_error(format!(
            "unknown scenario {name:?}; known scenarios: {}",
            known.join(", ")
        ))
    })
}

/// Validates bug names against a scenario.
pub fn setup(scenario: &dyn Scenario, bugs: &[String]) -> Result<Setup, u8> {
    for bug in bugs {
        if !scenario.bugs().iter().any(|b| b.name == bug) {
            let known: Vec<&str> = scenario.bugs().iter().map(|b| b.name).collect();
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            return Err(usage_error(format!(
                "unknown bug {bug:?} for scenario {}; known bugs: {known}",
                scenario.name()
            )));
        }
    }
    Ok(Setup {
        bugs: bugs.to_vec(),
        detail: Detail::Quiet,
    })
}

fn init_trace(on: bool) {
    crate::trace_filter::init(on, crate::trace_filter::Filter::default());
}

/// How decisions are generated: shared by `weft run` and `weft fuzz`.
#[derive(clap::Args, Clone, Debug)]
pub struct StrategyArgs {
    /// Seed (`weft fuzz`: case i uses a seed derived from it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Strategy generating schedules and faults (default: random; swarm draws a fault,
    /// latency, clock and scheduling profile per case; pctcp extends PCT's priorities to the
    /// messages each task sends).
    #[arg(long, value_parser = ["random", "pct", "swarm", "pctcp"])]
    pub strategy: Option<String>,
    /// PCT's and PCTCP's bug depth.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=crate::args::DEPTH_MAX as i64))]
    pub depth: u32,
}

impl StrategyArgs {
    /// The strategy named by `--strategy`, else `default` (clap has checked the name).
    pub fn kind(&self, default: &str) -> StrategyKind {
        let name = self.strategy.as_deref().unwrap_or(default);
        StrategyKind::parse(name).expect("clap checked the strategy")
    }
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// Scenario name (see `weft list`).
    pub scenario: String,
    /// Seed, strategy and PCT depth.
    #[command(flatten)]
    pub gen: StrategyArgs,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print the event trace to stderr, with simulated time.
    #[arg(long)]
    pub trace: bool,
    /// Where to write the replay file of a failing run
    /// (default: weft-failures/<scenario>-seed<N>.weft-replay.json).
    #[arg(long)]
    pub replay_out: Option<PathBuf>,
}

pub fn run(registry: &Registry, args: RunArgs) -> u8 {
    let scenario = match scenario(registry, &args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let setup = match setup(scenario, &args.bugs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    init_trace(args.trace);
    let kind = args.gen.kind("random");
    let strategy = kind.build(args.gen.seed, Rates::default(), args.gen.depth, 200);
    let run = scenario.run(&setup, Source::generate(strategy));
    let mut replay_file = None;
    if run.failed() {
        let path = args.replay_out.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "weft-failures/{}-seed{}.weft-replay.json",
                scenario.name(),
                args.gen.seed
            ))
        });
        let config = serde_json::to_value(&setup).expect("setup serializes");
        let file = ReplayFile::of_report(
            scenario.name(),
            config,
            Some(args.gen.seed),
            kind.name(),
            &run.report,
        )
        .with_profile(kind.profile(args.gen.seed, &Rates::default()));
        match file.save(&path) {
            Ok(()) => replay_file = Some(path),
            Err(e) => eprintln!("weft: {e}"),
        }
    }
    let how = replay_file.as_ref().map(|p| registry.replay_command(p));
    print_report(
        scenario.name(),
        Some(args.gen.seed),
        &run,
        replay_file.as_ref(),
        how,
        kind.profile(args.gen.seed, &Rates::default()),
        args.json,
    )
}

/// Prints a run: its outcome, or with `as_json` one JSON object. A failing run with
/// [`Detail::Explain`] is printed as the full counterexample, as `weft fuzz` prints it (its
/// swarm profile first, when it has one).
fn print_report(
    name: &str,
    seed: Option<u64>,
    run: &Run,
    replay_file: Option<&PathBuf>,
    how: Option<String>,
    profile: Option<SwarmProfile>,
    as_json: bool,
) -> u8 {
    let report = &run.report;
    let failure = report.outcome.failure();
    let explained = (failure.is_some() && report.trace.is_some())
        .then(|| Counterexample::new(run, how.clone()).with_profile(profile));
    if as_json {
        let object = json!({
            "scenario": name,
            "seed": seed,
            "outcome": if failure.is_some() { "fail" } else { "pass" },
            "failure_kind": failure.map(|f| f.kind.name()),
            "failure": failure.map(|f| f.to_string()),
            "steps": report.steps,
            "sim_time_ns": report.sim_time_ns,
            "trace_hash": format!("{:016x}", report.trace_hash),
            "decisions": report.log.len(),
            "nondefault_decisions": weft::internals::shrink::nondefault_execution(&report.log).len(),
            "replay_file": replay_file.map(|p| p.display().to_string()),
            "replay": how,
            "counterexample": explained.as_ref().map(|c| c.to_string()),
        });
        println!("{object}");
    } else {
        match (failure, &explained) {
            (None, _) => println!("{name}: pass"),
            (Some(_), Some(c)) => println!("{name}: FAIL\n\n{c}"),
            (Some(f), None) => println!("{name}: FAIL\n{f}"),
        }
        println!(
            "steps {}, simulated time {}, {} decisions ({} non-default), trace hash {:016x}",
            report.steps,
            weft::internals::format_ns(report.sim_time_ns),
            report.log.len(),
            weft::internals::shrink::nondefault_execution(&report.log).len(),
            report.trace_hash
        );
        if let (Some(how), None) = (&how, &explained) {
            println!("replay with: {how}");
        }
    }
    u8::from(failure.is_some())
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The replay file.
    pub file: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print the event trace to stderr, with simulated time.
    #[arg(long)]
    pub trace: bool,
    /// With --trace: only the lines of this node (by name).
    #[arg(long, requires = "trace")]
    pub node: Option<String>,
    /// With --trace: only the lines of this task (by index or name).
    #[arg(long, requires = "trace")]
    pub task: Option<String>,
}

pub fn replay(registry: &Registry, args: ReplayArgs) -> u8 {
    let filter = crate::trace_filter::Filter {
        node: args.node.clone(),
        task: args.task.clone(),
    };
    crate::trace_filter::init(args.trace, filter);
    let (file, scenario, run) = match replayed(registry, &args.file) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let how = registry.replay_command(&args.file);
    print_report(
        scenario.name(),
        file.seed,
        &run,
        None,
        Some(how),
        file.swarm,
        args.json,
    )
}

/// Prints a failing run found by `weft explore`: as [`print_report`], or with `as_json` one
/// JSON object holding `summary`, the counterexample and the replay file.
pub fn print_report_for(
    registry: &Registry,
    name: &str,
    seed: Option<u64>,
    run: &Run,
    replay_file: Option<&PathBuf>,
    as_json: bool,
    summary: Option<serde_json::Value>,
) -> u8 {
    let how = replay_file.map(|p| registry.replay_command(p));
    if !as_json {
        return print_report(name, seed, run, replay_file, how, None, false);
    }
    let mut object = summary.unwrap_or_else(|| json!({}));
    let explained = Counterexample::new(run, how.clone());
    object["failure_kind"] = json!(run.report.outcome.failure().map(|f| f.kind.name()));
    object["counterexample"] = json!(explained.to_string());
    object["replay_file"] = json!(replay_file.map(|p| p.display().to_string()));
    println!("{object}");
    u8::from(run.failed())
}

/// The scenario, setup and decisions a replay file recorded (not replayed); any problem is a
/// one-line error and exit code 2.
pub fn replayed_setup(
    registry: &Registry,
    path: &Path,
) -> Result<(&'static dyn Scenario, Setup, weft::decision::DecisionLog), u8> {
    let (_, scenario, setup, log) = recorded(registry, path)?;
    Ok((scenario, setup, log))
}

/// A replay file with its scenario, setup and decisions.
fn recorded(
    registry: &Registry,
    path: &Path,
) -> Result<
    (
        ReplayFile,
        &'static dyn Scenario,
        Setup,
        weft::decision::DecisionLog,
    ),
    u8,
> {
    let file = ReplayFile::load(path).map_err(usage_error)?;
    let scenario = scenario(registry, &file.scenario)?;
    let recorded: Setup = serde_json::from_value(file.config.clone()).map_err(|e| {
        usage_error(format!(
            "replay file's scenario configuration is invalid: {e}"
        ))
    })?;
    let setup = setup(scenario, &recorded.bugs)?;
    let log = file.log().map_err(usage_error)?;
    Ok((file, scenario, setup, log))
}

/// Loads a replay file and replays it exactly, with the trace and notes kept; any problem is
/// a one-line error and exit code 2.
pub fn replayed(
    registry: &Registry,
    path: &Path,
) -> Result<(ReplayFile, &'static dyn Scenario, Run), u8> {
    let (file, scenario, setup, log) = recorded(registry, path)?;
    let setup = Setup {
        detail: Detail::Explain,
        ..setup
    };
    // The file's trace hash is checked under the hash function that recorded it (parsing
    // refused a version this weft does not know).
    let run = weft::internals::with_trace_hash_version(file.trace_hash_version, || {
        scenario.run(&setup, Source::replay(log))
    })
    .expect("the replay file's trace hash version was checked when it was read");
    let report = &run.report;
    if let Some(d) = &report.divergence {
        return Err(usage_error(format!(
            "{d}: the scenario's code differs from the one that recorded this file"
        )));
    }
    let hash = format!("{:016x}", report.trace_hash);
    if hash != file.trace_hash {
        return Err(usage_error(format!(
            "replay reproduced the decisions but not the trace (hash {hash}, recorded {}): the code changed or is nondeterministic",
            file.trace_hash
        )));
    }
    Ok((file, scenario, run))
}

#[derive(clap::Args)]
pub struct DeterminismArgs {
    /// Scenario name.
    pub scenario: String,
    /// Number of seeds.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=crate::args::SEEDS_MAX))]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn determinism(registry: &Registry, args: DeterminismArgs) -> u8 {
    let scenario = match scenario(registry, &args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut setup = match setup(scenario, &args.bugs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    setup.detail = Detail::Explain;
    let Some(end) = args.seed.checked_add(args.seeds) else {
        return usage_error(format!(
            "--seed {} --seeds {} runs past the last seed ({})",
            args.seed,
            args.seeds,
            u64::MAX
        ));
    };
    let mut failing = 0;
    for seed in args.seed..end {
        let run = || {
            scenario.run(
                &setup,
                Source::generate(StrategyKind::Random.build(seed, Rates::default(), 3, 200)),
            )
        };
        let (a, b) = (run().report, run().report);
        if a.outcome.failure().is_some() {
            failing += 1;
        }
        if let Some(n) = weft::internals::determinism::compare(&a, &b) {
            if args.json {
                println!(
                    "{}",
                    json!({"scenario": scenario.name(), "deterministic": false, "seed": seed, "divergence": n.to_string()})
                );
            } else {
                println!("{}: seed {seed}: {n}", scenario.name());
            }
            return 1;
        }
    }
    if args.json {
        println!(
            "{}",
            json!({"scenario": scenario.name(), "deterministic": true, "seeds": args.seeds, "failing_seeds": failing})
        );
    } else {
        println!(
            "{}: {} seeds, each run twice: identical traces ({} of them fail, identically)",
            scenario.name(),
            args.seeds,
            failing
        );
    }
    0
}
