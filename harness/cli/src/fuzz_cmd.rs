//! `weft fuzz`: run cases until one fails, shrink it, explain it.

use crate::args;
use crate::commands::{scenario, setup, usage_error, StrategyArgs};
use crate::outdir::{self, Summary};
use crate::output::Output;
use crate::progress;
use crate::Registry;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use weft::internals::campaign::{
    run_campaign, Campaign, CampaignResult, Ended, Failing, Observer, Progress,
};
use weft::internals::failure_message;
use weft::internals::fuzz::{replay_file_of, strategy_name, Found, FuzzConfig, Shard};
use weft::internals::scenario::Setup;
use weft::internals::shrink::{nondefault_execution, ShrinkConfig};
use weft::{Detail, Source};

#[derive(clap::Args, Clone)]
pub struct FuzzArgs {
    /// Scenario name (see `weft list`).
    pub scenario: String,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Most cases to run (of this shard). With --time, whichever ends first.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=args::CASES_MAX))]
    pub cases: u64,
    /// Wall-clock budget (30s, 10m, 1h30m); with --cases, whichever ends first.
    #[arg(long, value_parser = args::parse_duration)]
    pub time: Option<Duration>,
    /// Seed, strategy and PCT depth.
    #[command(flatten)]
    pub gen: StrategyArgs,
    /// Shrink time bound, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=args::SHRINK_TIME_MAX))]
    pub shrink_time: u64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where to write the replay file (default: weft-failures/<scenario>-seed<N>.weft-replay.json;
    /// with --out, the files go in DIR/failures/).
    #[arg(long, conflicts_with = "out")]
    pub replay_out: Option<PathBuf>,
    /// Output folder: every failure's replay file as found and shrunk, its report, the
    /// progress (for --resume) and summary.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Go on after a failure (until --cases or --time); failures are grouped in the summary.
    #[arg(long, requires = "out")]
    pub keep_going: bool,
    /// Continue the search recorded in --out where it stopped (cases already run are not run
    /// again).
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Threads running cases (0: every core). The failure reported does not depend on it.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=args::JOBS_MAX))]
    pub jobs: u64,
    /// Run only shard K of N (cases whose index is K modulo N), to split one search across
    /// machines that use the same seed.
    #[arg(long, value_parser = parse_shard, default_value = "0/1")]
    pub shard: Shard,
    /// Progress display on stderr: a bar on a terminal, JSON lines every 5 s otherwise.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: progress::Mode,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).ok_or_else(|| format!("{text:?} is not K/N with K < N"))
}

/// The strategy `weft fuzz` uses when --strategy is not given.
pub const DEFAULT_STRATEGY: &str = "random";

/// The stop flag raised by SIGINT and SIGTERM (a second signal ends the process at once).
fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let raised = flag.clone();
        let installed = ctrlc::set_handler(move || {
            if raised.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
        if let Err(e) = installed {
            eprintln!("weft: cannot catch SIGINT/SIGTERM: {e}");
        }
        flag
    })
    .clone()
}

pub fn run(registry: &Registry, args: FuzzArgs) -> u8 {
    match run_checked(registry, args) {
        Ok(code) => code,
        Err(code) => code,
    }
}

fn run_checked(registry: &Registry, args: FuzzArgs) -> Result<u8, u8> {
    let scenario = scenario(registry, &args.scenario)?;
    let base = setup(scenario, &args.bugs)?;
    let cfg = fuzz_config(registry, &args, scenario.name(), &base);
    let out = Output::prepare(&args, &cfg).map_err(usage_error)?;
    let run = |source: Source, detail: Detail| {
        let setup = Setup {
            detail,
            ..base.clone()
        };
        scenario.run(&setup, source)
    };
    let jobs = match args.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n as usize,
    };
    let display = progress::Display::new(args.progress, args.cases, args.time);
    let campaign = Campaign {
        jobs,
        shard: args.shard,
        time_max: args.time,
        stop: stop_flag(),
        keep_going: args.keep_going,
        ledger: out
            .resumed
            .as_ref()
            .map(|p| p.ledger.clone())
            .unwrap_or_default(),
        progress_every: display.every(),
    };
    let mut observer = FuzzObserver::new(&cfg, &out, args.shard, &display);
    let result = run_campaign(&run, &cfg, &campaign, &mut observer);
    display.finish();
    let summary = out.finish(&args, &cfg, &result).map_err(usage_error)?;
    print_result(&args, &cfg, jobs, &result, &observer, summary.as_ref());
    Ok(u8::from(observer.failures > 0))
}

/// Prints the outcome: the first failure's counterexample (or one JSON object), and the
/// summary of the output folder.
fn print_result(
    args: &FuzzArgs,
    cfg: &FuzzConfig,
    jobs: usize,
    result: &CampaignResult,
    observer: &FuzzObserver,
    summary: Option<&Summary>,
) {
    let first = observer.first.as_ref().map(|(_, f)| f);
    if args.json {
        println!("{}", summary_json(args, cfg, jobs, result, first, summary));
        return;
    }
    match first {
        None => println!(
            "{}: no failure in {} cases (seed {}; {})",
            cfg.name,
            result.progress.cases,
            cfg.seed,
            ended_text(result.ended)
        ),
        Some(f) => println!("{}", failure_message(&cfg.name, cfg.seed, f)),
    }
    if let Some(summary) = summary {
        println!("\n{}", outdir::describe(summary));
    }
    for e in &observer.errors {
        eprintln!("weft: {e}");
    }
}

fn ended_text(ended: Ended) -> &'static str {
    match ended {
        Ended::CasesDone => "every case of the budget ran",
        Ended::TimeUp => "the time budget ran out",
        Ended::Stopped => "stopped by a signal",
        Ended::Failed => "stopped at the first failure",
    }
}

/// The search `args` ask for, of the scenario `name` set up as `base`.
fn fuzz_config(registry: &Registry, args: &FuzzArgs, name: &str, base: &Setup) -> FuzzConfig {
    let replay_file = args.replay_out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "weft-failures/{name}-seed{}.weft-replay.json",
            args.gen.seed
        ))
    });
    FuzzConfig {
        setup: serde_json::to_value(base).expect("setup serializes"),
        strategy: args.gen.kind(DEFAULT_STRATEGY),
        pct_depth: args.gen.depth,
        shrink: ShrinkConfig {
            time_max: std::time::Duration::from_secs(args.shrink_time),
            ..ShrinkConfig::default()
        },
        replay_file: Some(replay_file),
        replay_command: format!("{} replay {{}}", registry.tool_command()),
        ..FuzzConfig::new(name, args.gen.seed, args.cases)
    }
}

/// Sees what a campaign finds: saves each failure at once, records it once shrunk, keeps the
/// lowest-index failure for printing, shows progress.
struct FuzzObserver<'a> {
    cfg: &'a FuzzConfig,
    out: &'a Output,
    shard: Shard,
    display: &'a progress::Display,
    failures: u64,
    /// The lowest failing index seen.
    lowest: Option<u64>,
    first: Option<(u64, Found)>,
    errors: Vec<String>,
}

impl<'a> FuzzObserver<'a> {
    fn new(
        cfg: &'a FuzzConfig,
        out: &'a Output,
        shard: Shard,
        display: &'a progress::Display,
    ) -> Self {
        FuzzObserver {
            cfg,
            out,
            shard,
            display,
            failures: 0,
            lowest: None,
            first: None,
            errors: Vec::new(),
        }
    }

    /// The case's index in the whole search.
    fn global(&self, failing: &Failing) -> u64 {
        self.shard.index + failing.index * self.shard.count
    }
}

impl Observer for FuzzObserver<'_> {
    fn found(&mut self, failing: &Failing) -> Option<PathBuf> {
        self.failures += 1;
        let lower_seen = self.lowest.is_some_and(|k| k < failing.index);
        if !self.out.has_dir() && lower_seen {
            // One replay file without --out: the lowest failing case's.
            return None;
        }
        self.lowest = Some(self.lowest.map_or(failing.index, |k| k.min(failing.index)));
        let case = self.global(failing);
        let (raw, shrunk) = self.out.paths(&self.cfg.name, case);
        let file = replay_file_of(
            self.cfg,
            &failing.run,
            strategy_name(self.cfg),
            failing.origin.case_seed,
        );
        let kind = (failing.run.report.outcome.failure()).map_or("?", |f| f.kind.name());
        match file.save(&raw) {
            Ok(()) => self.display.found(case, kind, &raw),
            Err(e) => self
                .errors
                .push(format!("could not save the replay file: {e}")),
        }
        Some(shrunk)
    }

    fn shrunk(&mut self, failing: &Failing, found: Found) {
        let case = self.global(failing);
        if let Some(e) = &found.save_error {
            self.errors
                .push(format!("could not save the shrunk replay file: {e}"));
        }
        if let Err(e) = self.out.record(&self.cfg.name, case, &found) {
            self.errors.push(e);
        }
        if self.first.as_ref().is_none_or(|(k, _)| failing.index < *k) {
            self.first = Some((failing.index, found));
        }
    }

    fn progress(&mut self, progress: &Progress) {
        self.display.show(progress);
        if let Err(e) = self.out.save_progress(progress) {
            self.errors.push(e);
        }
    }
}

/// The one JSON object `weft fuzz --json` prints.
fn summary_json(
    args: &FuzzArgs,
    cfg: &FuzzConfig,
    jobs: usize,
    result: &CampaignResult,
    found: Option<&Found>,
    summary: Option<&Summary>,
) -> serde_json::Value {
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
            "small_cases": stats.map(|s| s.small_cases),
            "from_small_case": stats.map(|s| s.from_small_case),
            "small_cut_short": stats.and_then(|s| s.small_cut_short.clone()),
            "found_as": f.counterexample.found_as,
        })
    });
    let path = |p: Option<&PathBuf>| p.map(|p| p.display().to_string());
    json!({
        "scenario": cfg.name,
        "bugs": args.bugs,
        "strategy": strategy_name(cfg),
        "seed": cfg.seed,
        "jobs": jobs,
        "shard": format!("{}/{}", args.shard.index, args.shard.count),
        "cases_run": result.progress.cases,
        "sim_time_ns": result.progress.sim_time_ns,
        "wall_time_ms": result.progress.elapsed.as_millis() as u64,
        "ended": result.ended,
        "found": found.is_some(),
        "cases_to_failure": found.map(|f| f.cases_to_failure),
        "case_seed": found.map(|f| f.case_seed),
        "failure_kind": found.map(|f| f.counterexample.failure.kind.name()),
        "shrunk": shrunk,
        "replay_file": path(found.and_then(|f| f.replay_file.as_ref())),
        "html_file": path(found.and_then(|f| f.html_file.as_ref())),
        "counterexample": found.map(|f| f.counterexample.to_string()),
        "summary": summary,
    })
}
