//! The search loop shared by `weft::check` and `weft fuzz`: run cases until one fails, save
//! its replay file at once, shrink it, save again, and explain it.

use crate::model::Counterexample;
use crate::replay::ReplayFile;
use crate::shrink::{shrink, ShrinkConfig, Shrunk};
use crate::sim::RunReport;
use crate::source::Source;
use crate::strategy::{case_seed, Rates, StrategyKind};
use std::path::PathBuf;

/// Runs one case: the decision source, and whether to record the trace (for explanations).
pub type RunFn<'a> = dyn Fn(Source, bool) -> RunReport + 'a;

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
    /// PCT bug depth.
    pub pct_depth: u32,
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
            pct_depth: 3,
            rates: Rates::default(),
            shrink: ShrinkConfig::default(),
            replay_file: None,
            replay_command: "weft replay {}".to_string(),
        }
    }
}

/// A failure found and shrunk.
pub struct Found {
    /// 1-based index of the failing case.
    pub cases_to_failure: u64,
    /// Seed of the failing case's strategy.
    pub case_seed: u64,
    /// The failing run as found.
    pub original: RunReport,
    /// The shrink.
    pub shrunk: Shrunk,
    /// The shrunk run, replayed with its trace, explained.
    pub counterexample: Counterexample,
    /// Where the replay file is.
    pub replay_file: Option<PathBuf>,
    /// Errors writing it, if any (the counterexample is still reported).
    pub save_error: Option<String>,
    /// The HTML report, written next to the replay file (model-based cases only).
    pub html_file: Option<PathBuf>,
}

/// What a search did.
pub struct FuzzResult {
    /// Cases run.
    pub cases_run: u64,
    /// The failure, if one was found.
    pub found: Option<Found>,
}

fn save(cfg: &FuzzConfig, report: &RunReport, strategy: &str) -> Result<(), String> {
    let Some(path) = &cfg.replay_file else {
        return Ok(());
    };
    let file = ReplayFile::of_report(
        &cfg.name,
        cfg.setup.clone(),
        Some(cfg.seed),
        strategy,
        report,
    );
    file.save(path).map_err(|e| e.to_string())
}

/// Shrinks and explains a failing run.
pub fn shrink_and_explain(
    run: &RunFn<'_>,
    cfg: &FuzzConfig,
    failing: RunReport,
    strategy: &str,
) -> (Shrunk, Counterexample, Option<String>) {
    let (shrunk, counterexample, error, _) = shrink_explain_render(run, cfg, failing, strategy);
    (shrunk, counterexample, error)
}

/// The HTML report of a counterexample: the history drawn like Porcupine's visualization, with
/// the counterexample's text above it. `None` when the run was not a model-based case.
pub fn render_html(title: &str, counterexample: &Counterexample) -> Option<String> {
    let mut report = counterexample.case.as_ref()?.history.clone()?;
    report.model = title.to_string();
    Some(weft_lincheck::html::render_with_story(
        &report,
        title,
        &counterexample.to_string(),
    ))
}

/// Where the HTML report of a replay file goes: beside it, with `.html`.
pub fn html_path(replay_file: &std::path::Path) -> PathBuf {
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

/// Shrinks, explains, and writes the HTML report beside the replay file.
pub fn shrink_explain_render(
    run: &RunFn<'_>,
    cfg: &FuzzConfig,
    failing: RunReport,
    strategy: &str,
) -> (Shrunk, Counterexample, Option<String>, Option<PathBuf>) {
    let mut save_error = save(cfg, &failing, strategy).err();
    let quiet = |source: Source| run(source, false);
    let shrunk = shrink(&quiet, failing, &cfg.shrink);
    if let Err(e) = save(cfg, &shrunk.report, "shrunk") {
        save_error = Some(e);
    }
    let explained = run(Source::replay(shrunk.report.log.clone()), true);
    let replay = cfg
        .replay_file
        .as_ref()
        .map(|p| cfg.replay_command.replace("{}", &p.display().to_string()));
    let counterexample = if explained.outcome.failure().is_some() {
        Counterexample::new(&explained, replay)
    } else {
        // Cannot happen for deterministic code; say so rather than hide it.
        let mut c = Counterexample::new(&shrunk.report, replay);
        c.failure
            .message
            .push_str(" [warning: replaying the shrunk run did not fail again: nondeterminism?]");
        c
    };
    let mut html_file = None;
    if let (Some(path), Some(page)) = (&cfg.replay_file, render_html(&cfg.name, &counterexample)) {
        let html = html_path(path);
        match std::fs::write(&html, page) {
            Ok(()) => html_file = Some(html),
            Err(e) => save_error = Some(format!("{}: {e}", html.display())),
        }
        // The history, in weft's JSON Lines format, for `weft check-history` and other tools.
        let events = counterexample
            .case
            .as_ref()
            .map(|c| c.events.as_slice())
            .unwrap_or_default();
        let lines: String = events
            .iter()
            .map(|e| weft_lincheck::formats::jsonl::to_line(e) + "\n")
            .collect();
        let history = html_path(path).with_extension("history.jsonl");
        if let Err(e) = std::fs::write(&history, lines) {
            save_error = Some(format!("{}: {e}", history.display()));
        }
    }
    (shrunk, counterexample, save_error, html_file)
}
/// PCT's estimate of a run's length (its change points are drawn below it). Fixed, so that a
/// case depends only on the seed and its index, whatever ran before it or on which thread.
const PCT_STEPS_ESTIMATE: u64 = 200;

/// Runs case `k` of `shard`.
fn case_report(run: &RunFn<'_>, cfg: &FuzzConfig, shard: Shard, k: u64) -> RunReport {
    let case = shard.index + k * shard.count;
    let strategy = cfg.strategy.build(
        case_seed(cfg.seed, case),
        cfg.rates.clone(),
        cfg.pct_depth,
        PCT_STEPS_ESTIMATE,
    );
    run(Source::generate(strategy), false)
}

/// Shrinks and explains the failing case `k` of `shard`, whose run is `report`.
fn found_at(run: &RunFn<'_>, cfg: &FuzzConfig, shard: Shard, k: u64, report: RunReport) -> Found {
    let original = summary(&report);
    let (shrunk, counterexample, save_error, html_file) =
        shrink_explain_render(run, cfg, report, cfg.strategy.name());
    Found {
        cases_to_failure: k + 1,
        case_seed: case_seed(cfg.seed, shard.index + k * shard.count),
        original,
        shrunk,
        counterexample,
        replay_file: cfg.replay_file.clone(),
        save_error,
        html_file,
    }
}

/// Runs up to `cfg.cases` cases; on the first failure, shrinks and explains it.
pub fn fuzz(run: &RunFn<'_>, cfg: &FuzzConfig) -> FuzzResult {
    for k in 0..cfg.cases {
        let report = case_report(run, cfg, Shard::ALL, k);
        if report.outcome.failure().is_some() {
            return FuzzResult {
                cases_run: k + 1,
                found: Some(found_at(run, cfg, Shard::ALL, k, report)),
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
    run: &(dyn Fn(Source, bool) -> RunReport + Sync),
    cfg: &FuzzConfig,
    jobs: usize,
    shard: Shard,
) -> FuzzResult {
    use std::sync::atomic::{AtomicU64, Ordering};
    let jobs = jobs.max(1) as u64;
    let first_failure = AtomicU64::new(u64::MAX);
    let ran = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for job in 0..jobs {
            let (first_failure, ran) = (&first_failure, &ran);
            scope.spawn(move || {
                let mut k = job;
                while k < cfg.cases && k < first_failure.load(Ordering::Relaxed) {
                    let report = case_report(run, cfg, shard, k);
                    ran.fetch_add(1, Ordering::Relaxed);
                    if report.outcome.failure().is_some() {
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
    let report = case_report(run, cfg, shard, k);
    FuzzResult {
        cases_run: ran.load(Ordering::Relaxed),
        found: Some(found_at(run, cfg, shard, k, report)),
    }
}

/// A copy of a report without its trace (kept as the "original" of a found failure).
fn summary(report: &RunReport) -> RunReport {
    RunReport {
        outcome: report.outcome.clone(),
        steps: report.steps,
        sim_time_ns: report.sim_time_ns,
        trace_hash: report.trace_hash,
        log: report.log.clone(),
        divergence: None,
        trace: None,
        task_names: Vec::new(),
        node_names: Vec::new(),
        notes: Vec::new(),
        case: report.case.clone(),
    }
}
