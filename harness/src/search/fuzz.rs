//! The search loop shared by `weft::check` and `weft fuzz`: run cases until one fails, save
//! its replay file at once, shrink it, save again, and explain it.

use super::explain::Counterexample;
use super::replay::ReplayFile;
use super::shrink::{shrink, ShrinkConfig, ShrinkStats};
use super::{Run, RunFn};
use crate::decision::DecisionKind;
use crate::sim::Detail;
use crate::source::Source;
use crate::strategy::{case_seed, Rates, Strategy, StrategyKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Makes the strategy of one case from the case's seed: how a user's own [`Strategy`] plugs
/// into a search (`weft::check(..).strategy_with(..)`, [`FuzzConfig::factory`]).
#[derive(Clone)]
pub struct StrategyFactory {
    /// Its name, for replay files and reports.
    pub name: &'static str,
    make: Arc<dyn Fn(u64) -> Box<dyn Strategy> + Send + Sync>,
}

impl StrategyFactory {
    /// A factory called `name` that builds each case's strategy with `make(case_seed)`.
    pub fn new(
        name: &'static str,
        make: impl Fn(u64) -> Box<dyn Strategy> + Send + Sync + 'static,
    ) -> StrategyFactory {
        StrategyFactory {
            name,
            make: Arc::new(make),
        }
    }
}

impl std::fmt::Debug for StrategyFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StrategyFactory({})", self.name)
    }
}

/// How to search.
#[derive(Clone, Debug)]
pub struct FuzzConfig {
    /// Name of the test or scenario (in replay files and messages).
    pub name: String,
    /// Scenario configuration stored in replay files.
    pub setup: serde_json::Value,
    /// Run seed; case `i` uses `case_seed(seed, i)`.
    pub seed: u64,
    /// Most cases to run.
    pub cases: u64,
    /// The generating strategy.
    pub strategy: StrategyKind,
    /// A user's own strategy, used instead of `strategy` when set.
    pub factory: Option<StrategyFactory>,
    /// PCT bug depth.
    pub pct_depth: u32,
    /// PCT's estimate of a run's length in scheduling decisions; `None`: learned before the
    /// search from a few pilot runs ([`learn_pct_steps`]).
    pub pct_steps: Option<u64>,
    /// Fault rates of the strategies.
    pub rates: Rates,
    /// Shrinking bounds.
    pub shrink: ShrinkConfig,
    /// Where to write the replay file of a failure (written before shrinking, rewritten after).
    pub replay_file: Option<PathBuf>,
    /// How a person replays a file, with `{}` for its path.
    pub replay_command: String,
}

impl FuzzConfig {
    /// A search of `cases` cases from `seed` with the random strategy, default rates and
    /// shrink bounds, writing no file.
    pub fn new(name: &str, seed: u64, cases: u64) -> FuzzConfig {
        FuzzConfig {
            name: name.to_string(),
            setup: serde_json::Value::Null,
            seed,
            cases,
            strategy: StrategyKind::Random,
            factory: None,
            pct_depth: 3,
            pct_steps: None,
            rates: Rates::default(),
            shrink: ShrinkConfig::default(),
            replay_file: None,
            replay_command: "weft replay {}".to_string(),
        }
    }
}

/// A failure found, shrunk (or replayed as recorded) and explained.
#[derive(Debug)]
pub struct Found {
    /// 1-based index of the failing case.
    pub cases_to_failure: u64,
    /// Seed of the failing case's strategy.
    pub case_seed: u64,
    /// The failing run as found.
    pub original: Run,
    /// The failing run reported: the shrunk run, or the run as recorded when it was replayed
    /// without shrinking.
    pub run: Run,
    /// How the shrink went; `None` when the run was replayed as recorded (`WEFT_REPLAY`).
    pub shrink: Option<ShrinkStats>,
    /// The reported run, replayed with its trace, explained.
    pub counterexample: Counterexample,
    /// Where the replay file is.
    pub replay_file: Option<PathBuf>,
    /// Errors writing it, if any (the counterexample is still reported).
    pub save_error: Option<String>,
    /// The HTML report, written next to the replay file (model-based cases only).
    pub html_file: Option<PathBuf>,
}

/// What a search did.
#[derive(Debug)]
pub struct FuzzResult {
    /// Cases run.
    pub cases_run: u64,
    /// The failure, if one was found.
    pub found: Option<Found>,
}

/// Which case of a search failed.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// 1-based index of the failing case.
    pub cases_to_failure: u64,
    /// Seed of its strategy.
    pub case_seed: u64,
}

fn save(cfg: &FuzzConfig, run: &Run, strategy: &str) -> Result<(), String> {
    let Some(path) = &cfg.replay_file else {
        return Ok(());
    };
    let file = ReplayFile::of_report(
        &cfg.name,
        cfg.setup.clone(),
        Some(cfg.seed),
        strategy,
        &run.report,
    );
    file.save(path).map_err(|e| e.to_string())
}

/// Where the HTML report of a replay file goes: beside it, with `.html`.
fn html_path(replay_file: &Path) -> PathBuf {
    let name = replay_file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".weft-replay.json")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name);
    replay_file.with_file_name(format!("{stem}.html"))
}

/// Writes the HTML report and the history (weft's JSON Lines format, for `weft
/// check-history` and other tools) beside `replay_file`. Returns the page's path, if the run
/// was a model-based case.
fn write_reports(
    title: &str,
    replay_file: &Path,
    counterexample: &Counterexample,
) -> Result<Option<PathBuf>, String> {
    let Some(page) = counterexample.to_html(title) else {
        return Ok(None);
    };
    let html = html_path(replay_file);
    std::fs::write(&html, page).map_err(|e| format!("{}: {e}", html.display()))?;
    let events = counterexample
        .case
        .as_ref()
        .map(|c| c.events.as_slice())
        .unwrap_or_default();
    let lines: String = events
        .iter()
        .map(|e| weft_lincheck::formats::jsonl::to_line(e) + "\n")
        .collect();
    let history = html.with_extension("history.jsonl");
    std::fs::write(&history, lines).map_err(|e| format!("{}: {e}", history.display()))?;
    Ok(Some(html))
}

/// Explains `run`, replaying it with [`Detail::Explain`] unless it already has it.
fn explain(run_fn: &RunFn<'_>, run: &Run, replay: Option<String>) -> Counterexample {
    let explained;
    let run = if run.report.trace.is_some() {
        run
    } else {
        explained = run_fn(Source::replay(run.report.log.clone()), Detail::Explain);
        &explained
    };
    if run.failed() {
        return Counterexample::new(run, replay);
    }
    // Cannot happen for deterministic code; say so rather than hide it.
    let mut c = Counterexample::new(run, replay);
    c.failure
        .message
        .push_str(" [warning: replaying the run did not fail again: nondeterminism?]");
    c
}

/// The one way a failure becomes a [`Found`]: save the failing run's replay file at once;
/// unless `strategy` is `None` (the run is reported as recorded), shrink it and save the shrunk
/// run; explain it; write the HTML report and history beside the replay file.
pub fn report_failure(
    run_fn: &RunFn<'_>,
    cfg: &FuzzConfig,
    failing: Run,
    origin: Origin,
    strategy: Option<&str>,
) -> Found {
    let original = without_trace(&failing);
    let (mut save_error, run, stats) = match strategy {
        Some(strategy) => {
            let mut error = save(cfg, &failing, strategy).err();
            let quiet = |source: Source| run_fn(source, Detail::Quiet);
            let shrunk = shrink(&quiet, failing, &cfg.shrink);
            if let Err(e) = save(cfg, &shrunk.run, "shrunk") {
                error = Some(e);
            }
            (error, shrunk.run, Some(shrunk.stats))
        }
        None => (None, failing, None),
    };
    let replay = cfg
        .replay_file
        .as_ref()
        .map(|p| cfg.replay_command.replace("{}", &p.display().to_string()));
    let counterexample = explain(run_fn, &run, replay);
    let mut html_file = None;
    if let Some(path) = &cfg.replay_file {
        match write_reports(&cfg.name, path, &counterexample) {
            Ok(page) => html_file = page,
            Err(e) => save_error = Some(e),
        }
    }
    Found {
        cases_to_failure: origin.cases_to_failure,
        case_seed: origin.case_seed,
        original,
        run: without_trace(&run),
        shrink: stats,
        counterexample,
        replay_file: cfg.replay_file.clone(),
        save_error,
        html_file,
    }
}

/// Pilot runs that measure PCT's run length before a search.
const PCT_PILOTS: u64 = 8;

/// PCT's estimate of a run's length: the most scheduling decisions among a few pilot runs
/// with the random strategy, seeded from the search's seed alone, so that a case stays a pure
/// function of (seed, index) on any thread or shard. PCT draws its change points below it; a
/// fixed guess far above the real length would put most of them after the run has ended.
pub fn learn_pct_steps(run: &RunFn<'_>, cfg: &FuzzConfig) -> u64 {
    (0..PCT_PILOTS)
        .map(|k| {
            let seed = case_seed(cfg.seed ^ 0x5049_4c4f_5453, k); // "PILOTS"
            let strategy = StrategyKind::Random.build(seed, cfg.rates.clone(), 1, 1);
            let pilot = run(Source::generate(strategy), Detail::Quiet);
            pilot
                .report
                .log
                .decisions
                .iter()
                .filter(|d| d.kind == DecisionKind::Schedule)
                .count() as u64
        })
        .max()
        .unwrap_or(1)
        .max(1)
}

/// `cfg` with PCT's run length settled (learned if PCT is used and none was given).
fn settled(run: &RunFn<'_>, cfg: &FuzzConfig) -> FuzzConfig {
    let mut cfg = cfg.clone();
    if cfg.strategy == StrategyKind::Pct && cfg.factory.is_none() && cfg.pct_steps.is_none() {
        cfg.pct_steps = Some(learn_pct_steps(run, &cfg));
    }
    cfg
}

/// The name of the strategy generating the cases.
fn strategy_name(cfg: &FuzzConfig) -> &'static str {
    cfg.factory.as_ref().map_or(cfg.strategy.name(), |f| f.name)
}

/// Runs case `k` of `shard`.
fn case_run(run: &RunFn<'_>, cfg: &FuzzConfig, shard: Shard, k: u64) -> Run {
    let seed = case_seed(cfg.seed, shard.index + k * shard.count);
    let strategy = match &cfg.factory {
        Some(factory) => (factory.make)(seed),
        None => cfg.strategy.build(
            seed,
            cfg.rates.clone(),
            cfg.pct_depth,
            cfg.pct_steps.unwrap_or(1),
        ),
    };
    run(Source::generate(strategy), Detail::Quiet)
}

/// Shrinks and explains the failing case `k` of `shard`, whose run is `failing`.
fn found_at(run: &RunFn<'_>, cfg: &FuzzConfig, shard: Shard, k: u64, failing: Run) -> Found {
    let origin = Origin {
        cases_to_failure: k + 1,
        case_seed: case_seed(cfg.seed, shard.index + k * shard.count),
    };
    report_failure(run, cfg, failing, origin, Some(strategy_name(cfg)))
}

/// Runs up to `cfg.cases` cases; on the first failure, shrinks and explains it.
pub fn fuzz(run: &RunFn<'_>, cfg: &FuzzConfig) -> FuzzResult {
    let cfg = &settled(run, cfg);
    for k in 0..cfg.cases {
        let case = case_run(run, cfg, Shard::ALL, k);
        if case.failed() {
            return FuzzResult {
                cases_run: k + 1,
                found: Some(found_at(run, cfg, Shard::ALL, k, case)),
            };
        }
    }
    FuzzResult {
        cases_run: cfg.cases,
        found: None,
    }
}

/// Which part of a search this process runs: cases whose index is `index` modulo `count`
/// (for splitting one search across machines with the same seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, below `count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The whole search.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N`.
    pub fn parse(text: &str) -> Option<Shard> {
        let (k, n) = text.split_once('/')?;
        let (index, count) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        (count > 0 && index < count).then_some(Shard { index, count })
    }
}

/// Like [`fuzz`], on `jobs` threads and over one shard of the case indices. The failure
/// reported is the one with the lowest case index (every lower index of the shard is run), so
/// the result does not depend on the number of threads. `cases` counts the shard's cases.
pub fn fuzz_parallel(
    run: &(dyn Fn(Source, Detail) -> Run + Sync),
    cfg: &FuzzConfig,
    jobs: usize,
    shard: Shard,
) -> FuzzResult {
    use std::sync::atomic::{AtomicU64, Ordering};
    let cfg = &settled(run, cfg);
    let jobs = jobs.max(1) as u64;
    let first_failure = AtomicU64::new(u64::MAX);
    let ran = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for job in 0..jobs {
            let (first_failure, ran) = (&first_failure, &ran);
            scope.spawn(move || {
                let mut k = job;
                while k < cfg.cases && k < first_failure.load(Ordering::Relaxed) {
                    let case = case_run(run, cfg, shard, k);
                    ran.fetch_add(1, Ordering::Relaxed);
                    if case.failed() {
                        first_failure.fetch_min(k, Ordering::Relaxed);
                        return;
                    }
                    k += jobs;
                }
            });
        }
    });
    let k = first_failure.load(Ordering::Relaxed);
    if k == u64::MAX {
        return FuzzResult {
            cases_run: ran.load(Ordering::Relaxed),
            found: None,
        };
    }
    // Re-run the failing case (deterministic) and shrink it on this thread.
    let case = case_run(run, cfg, shard, k);
    FuzzResult {
        cases_run: ran.load(Ordering::Relaxed),
        found: Some(found_at(run, cfg, shard, k, case)),
    }
}

/// A copy of a run without its trace (what a [`Found`] keeps).
fn without_trace(run: &Run) -> Run {
    let mut copy = run.clone();
    copy.report.trace = None;
    copy
}
