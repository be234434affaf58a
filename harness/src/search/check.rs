//! `weft::check(model)`: model-based testing inside an ordinary `#[test]`.
//!
//! Environment overrides: `WEFT_SEED` (run seed), `WEFT_CASES` (number of cases),
//! `WEFT_REPLAY=<file>` (replay one replay file instead of searching, in the check whose
//! name recorded it; every other check of the test binary runs as usual), `WEFT_SHRINK_TIME`
//! (shrink time bound, seconds). Failing cases are saved to a regressions folder
//! (`weft-regressions/<name>/` under the test's working directory) and replayed first on the
//! next run, as proptest-regressions does.

use super::fuzz::{fuzz, report_failure, Found, FuzzConfig, Origin, StrategyFactory};
use super::replay::ReplayFile;
use super::shrink::ShrinkConfig;
use super::{run_case, Run};
use crate::model::{Mode, Shape, StateMachine};
use crate::sim::Detail;
use crate::source::Source;
use crate::strategy::{Rates, Strategy, StrategyKind};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// Builder returned by [`check`].
pub struct Checker<M: StateMachine> {
    model: Rc<M>,
    name: String,
    cases: u64,
    seed: Option<u64>,
    shape: Shape,
    strategy: StrategyKind,
    factory: Option<StrategyFactory>,
    pct_depth: u32,
    rates: Rates,
    shrink: ShrinkConfig,
    regressions: Option<PathBuf>,
}

/// Starts a model-based check of `model`.
///
/// ```
/// # use weft::{Gen, StateMachine, Var, Vars};
/// # struct M;
/// # impl StateMachine for M {
/// #   type State = u8; type Command = (); type Result = (); type System = ();
/// #   fn setup(&self, _: &mut weft::Sim) {}
/// #   fn init(&self) -> u8 { 0 }
/// #   fn command(&self, _: &u8, _: &mut Gen) {}
/// #   fn next_state(&self, s: &u8, _: &(), _: Var) -> u8 { *s }
/// #   fn postcondition(&self, _: &u8, _: &(), _: &(), _: &Vars<()>) -> Result<(), String> { Ok(()) }
/// #   async fn run(&self, _: &(), _: &(), _: &Vars<()>) {}
/// # }
/// weft::check(M).name("doc").cases(10).regressions(None).run();
/// ```
pub fn check<M: StateMachine + Sync>(model: M) -> Checker<M> {
    Checker {
        model: Rc::new(model),
        name: std::any::type_name::<M>()
            .rsplit("::")
            .next()
            .unwrap_or("model")
            .to_string(),
        cases: 500,
        seed: None,
        shape: Shape::sequential(),
        strategy: StrategyKind::Random,
        factory: None,
        pct_depth: 3,
        rates: Rates::default(),
        shrink: ShrinkConfig {
            time_max: Duration::from_secs(30),
            ..ShrinkConfig::default()
        },
        regressions: Some(PathBuf::from("weft-regressions")),
    }
}

/// The outcome of [`Checker::report`].
#[derive(Debug)]
pub struct CheckReport {
    /// Test name.
    pub name: String,
    /// Run seed.
    pub seed: u64,
    /// Cases run.
    pub cases_run: u64,
    /// The failure found, shrunk and explained.
    pub found: Option<Found>,
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => panic!("weft: {name}={value:?} is not a number"),
    }
}

impl<M: StateMachine + Sync> Checker<M> {
    /// Names the test (replay files, regressions folder, default seed).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Number of cases (default 500; `WEFT_CASES` overrides).
    pub fn cases(mut self, cases: u64) -> Self {
        self.cases = cases;
        self
    }

    /// The run seed (default: derived from the name; `WEFT_SEED` overrides).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sequential or parallel cases with the default sizes of that mode ([`Shape::of`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.shape = Shape::of(mode);
        self
    }

    /// The exact shape of generated cases.
    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// The strategy generating schedules and faults.
    pub fn strategy(mut self, strategy: StrategyKind) -> Self {
        self.strategy = strategy;
        self.factory = None;
        self
    }

    /// A strategy of your own: `make(case_seed)` builds the strategy of each case (a case is
    /// then a pure function of the run seed and its index, as with the built-in ones).
    pub fn strategy_with(
        mut self,
        name: &'static str,
        make: impl Fn(u64) -> Box<dyn Strategy> + Send + Sync + 'static,
    ) -> Self {
        self.factory = Some(StrategyFactory::new(name, make));
        self
    }

    /// PCT's bug depth: the number of ordering constraints it aims at (default 3).
    pub fn pct_depth(mut self, depth: u32) -> Self {
        self.pct_depth = depth.max(1);
        self
    }

    /// How often fault-like decisions take a non-default value.
    pub fn rates(mut self, rates: Rates) -> Self {
        self.rates = rates;
        self
    }

    /// Shrink time bound (default 30 s; `WEFT_SHRINK_TIME` overrides, in seconds).
    pub fn shrink_time(mut self, time: Duration) -> Self {
        self.shrink.time_max = time;
        self
    }

    /// The regressions folder (`None`: do not save or replay regressions).
    pub fn regressions(mut self, dir: Option<PathBuf>) -> Self {
        self.regressions = dir;
        self
    }

    fn seed_value(&self) -> u64 {
        env_u64("WEFT_SEED").or(self.seed).unwrap_or_else(|| {
            // A stable default per test name (FNV-1a).
            self.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })
        })
    }

    /// Runs one case from `source`.
    pub fn run_case(&self, source: Source, detail: Detail) -> Run {
        run_case(&self.model, &self.shape, source, detail)
    }

    fn config(&self, seed: u64) -> FuzzConfig {
        let shrink = ShrinkConfig {
            time_max: env_u64("WEFT_SHRINK_TIME").map_or(self.shrink.time_max, Duration::from_secs),
            ..self.shrink.clone()
        };
        let replay_file = self.regressions.as_ref().map(|dir| {
            dir.join(&self.name)
                .join(format!("seed-{seed}.weft-replay.json"))
        });
        FuzzConfig {
            name: self.name.clone(),
            setup: serde_json::json!({ "shape": self.shape }),
            seed,
            cases: env_u64("WEFT_CASES").unwrap_or(self.cases),
            strategy: self.strategy,
            factory: self.factory.clone(),
            pct_depth: self.pct_depth,
            pct_steps: None,
            rates: self.rates.clone(),
            shrink,
            replay_file,
            replay_command: "WEFT_REPLAY={} cargo test".to_string(),
        }
    }

    /// Replays saved regressions, then searches; returns what happened without panicking.
    pub fn report(self) -> CheckReport {
        let seed = self.seed_value();
        let cfg = self.config(seed);
        let run = |source: Source, detail: Detail| self.run_case(source, detail);
        if let Ok(path) = std::env::var("WEFT_REPLAY") {
            let path = PathBuf::from(path);
            let file = ReplayFile::load(&path).unwrap_or_else(|e| panic!("weft: WEFT_REPLAY: {e}"));
            if file.scenario == self.name {
                return self.replay_one(&path, &file, &cfg, seed);
            }
            eprintln!(
                "weft: {}: WEFT_REPLAY={} was recorded by the check named {:?}; this one runs as usual",
                self.name,
                path.display(),
                file.scenario
            );
        }
        if let Some(found) = self.regressions_first(&cfg) {
            return CheckReport {
                name: self.name.clone(),
                seed,
                cases_run: 0,
                found: Some(found),
            };
        }
        let result = fuzz(&run, &cfg);
        CheckReport {
            name: self.name.clone(),
            seed,
            cases_run: result.cases_run,
            found: result.found,
        }
    }

    /// Replays one replay file (recorded by this check) strictly, as recorded, and reports it
    /// without shrinking.
    fn replay_one(
        &self,
        path: &std::path::Path,
        file: &ReplayFile,
        cfg: &FuzzConfig,
        seed: u64,
    ) -> CheckReport {
        let log = file
            .log()
            .unwrap_or_else(|e| panic!("weft: WEFT_REPLAY: {e}"));
        let replayed = self.run_case(Source::replay(log), Detail::Explain);
        if let Some(d) = &replayed.report.divergence {
            panic!(
                "weft: WEFT_REPLAY: {d}: this test's code differs from the one that recorded {}",
                path.display()
            );
        }
        let found = replayed.failed().then(|| {
            let run = |source: Source, detail: Detail| self.run_case(source, detail);
            let cfg = FuzzConfig {
                replay_file: None,
                ..cfg.clone()
            };
            let origin = Origin {
                cases_to_failure: 1,
                case_seed: file.seed.unwrap_or(seed),
            };
            let mut found = report_failure(&run, &cfg, replayed, origin, None);
            found.counterexample.replay =
                Some(format!("WEFT_REPLAY={} cargo test", path.display()));
            found.replay_file = Some(path.to_path_buf());
            found
        });
        CheckReport {
            name: self.name.clone(),
            seed,
            cases_run: 1,
            found,
        }
    }

    /// Replays every saved regression of this test (with fallback, so they survive code
    /// changes); the first that still fails is shrunk and reported.
    fn regressions_first(&self, cfg: &FuzzConfig) -> Option<Found> {
        let dir = self.regressions.as_ref()?.join(&self.name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for path in files {
            let Ok(file) = ReplayFile::load(&path) else {
                eprintln!("weft: skipping damaged regression file {}", path.display());
                continue;
            };
            let Ok(log) = file.log() else { continue };
            let failing = self.run_case(Source::replay_with_fallback(&log), Detail::Quiet);
            if !failing.failed() {
                continue;
            }
            let run = |source: Source, detail: Detail| self.run_case(source, detail);
            let cfg = FuzzConfig {
                replay_file: Some(path.clone()),
                ..cfg.clone()
            };
            let origin = Origin {
                cases_to_failure: 1,
                case_seed: file.seed.unwrap_or(0),
            };
            return Some(report_failure(
                &run,
                &cfg,
                failing,
                origin,
                Some("regression"),
            ));
        }
        None
    }

    /// Runs the check; on failure panics with the shrunk counterexample.
    pub fn run(self) {
        let report = self.report();
        if let Some(found) = report.found {
            panic!("{}", failure_message(&report.name, report.seed, &found));
        }
    }
}

/// The message of a failed check.
pub fn failure_message(name: &str, seed: u64, found: &Found) -> String {
    let mut text = format!(
        "weft: {name} failed after {} case{} (seed {seed})",
        found.cases_to_failure,
        if found.cases_to_failure == 1 { "" } else { "s" },
    );
    match &found.shrink {
        Some(stats) => {
            text.push_str(&format!(
                "; shrunk with {} candidates in {} ms",
                stats.candidates,
                stats.elapsed.as_millis()
            ));
            if let Some(why) = &stats.cut_short {
                text.push_str(&format!(
                    " (shrinking stopped early: {why}; the result may not be minimal)"
                ));
            }
            if let Some(why) = &stats.small_cut_short {
                text.push_str(&format!(
                    " (the search for a smaller case stopped early: {why}; another seed may \
                     shrink this bug further)"
                ));
            }
        }
        None => text.push_str("; replayed as recorded, not shrunk"),
    }
    text.push_str("\n\n");
    text.push_str(&found.counterexample.to_string());
    if let Some(html) = &found.html_file {
        text.push_str(&format!("\nHTML report: {}\n", html.display()));
    }
    if let Some(e) = &found.save_error {
        text.push_str(&format!("\n(could not save the replay file: {e})\n"));
    }
    text
}
