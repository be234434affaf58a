//! `weft bench`: throughput and shrink-time benchmarks (wall-clock, outside any simulation).
//! Figures in README.md and BENCHMARKS.md come from this command.

use serde_json::json;
use std::time::Instant;
use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::run_case;
use weft::internals::scenario::{Scenario, Setup};
use weft::strategy::{case_seed, Rates, StrategyKind};
use weft::{Detail, Source};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Benchmarks to run (default: all). Names: see the output.
    pub only: Vec<String>,
    /// Scale every iteration count by this factor.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Print one JSON object per benchmark.
    #[arg(long)]
    pub json: bool,
}

struct Row {
    name: String,
    value: f64,
    unit: &'static str,
    detail: String,
}

/// Cases per second of a scenario, generating with the random strategy.
fn throughput(scenario: &dyn Scenario, bugs: &[&str], cases: u64) -> Row {
    let setup = Setup {
        bugs: bugs.iter().map(|b| b.to_string()).collect(),
        detail: Detail::Quiet,
    };
    let started = Instant::now();
    let (mut steps, mut failures, mut commands, mut sim_ns) = (0, 0, 0, 0u64);
    for case in 0..cases {
        let strategy = StrategyKind::Random.build(case_seed(1, case), Rates::default(), 3, 100);
        let run = scenario.run(&setup, Source::generate(strategy));
        steps += run.report.steps;
        sim_ns += run.report.sim_time_ns;
        commands += run.size().0;
        failures += u64::from(run.failed());
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_case = |n: f64| n / cases as f64;
    let commands = if commands > 0 {
        format!(", {:.1} commands per case", per_case(commands as f64))
    } else {
        String::new()
    };
    Row {
        name: format!("{} cases/s", scenario.name()),
        value: cases as f64 / seconds,
        unit: "cases/s",
        detail: format!(
            "{cases} cases in {seconds:.2}s, {:.0} steps per case{commands}, {:.0} simulated s per wall s, {failures} failing",
            per_case(steps as f64),
            sim_ns as f64 / 1e9 / seconds
        ),
    }
}

/// Median time to find and shrink the canary's failure over several seeds.
fn canary_shrink(seeds: u64) -> Row {
    let canary = weft_scenarios::canary::Canary;
    let run = |source: Source, detail: Detail| {
        canary.run(
            &Setup {
                detail,
                ..Setup::default()
            },
            source,
        )
    };
    let mut times = Vec::new();
    let mut candidates = Vec::new();
    for seed in 0..seeds {
        let cfg = FuzzConfig::new("canary", seed, 1000);
        let found = fuzz(&run, &cfg).found.expect("the canary fails");
        let stats = found.shrink.expect("a search shrinks what it finds");
        times.push(stats.elapsed.as_secs_f64() * 1000.0);
        candidates.push(stats.candidates);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    candidates.sort_unstable();
    Row {
        name: "canary shrink".to_string(),
        value: times[times.len() / 2],
        unit: "ms (median)",
        detail: format!(
            "{seeds} seeds; max {:.1} ms; median {} candidates",
            times[times.len() - 1],
            candidates[candidates.len() / 2]
        ),
    }
}

/// Runs needed to find the canary's failure, median over `seeds` seeds, per strategy.
fn canary_runs_to_failure(strategy: StrategyKind, seeds: u64) -> Row {
    let canary = weft_scenarios::canary::Canary;
    let mut runs = Vec::new();
    for seed in 0..seeds {
        let found = (0..1000u64).position(|case| {
            let s = strategy.build(case_seed(seed, case), Rates::default(), 3, 30);
            canary.run(&Setup::default(), Source::generate(s)).failed()
        });
        runs.push(found.map_or(1001, |n| n as u64 + 1));
    }
    runs.sort_unstable();
    Row {
        name: format!("canary runs to failure ({})", strategy.name()),
        value: runs[runs.len() / 2] as f64,
        unit: "runs (median)",
        detail: format!(
            "{seeds} seeds; max {}; each run a fresh generated case",
            runs[runs.len() - 1]
        ),
    }
}

/// Cases per second of the pool against its model with one shape (no bug), and the rate for
/// the long cases alone (18 to 20 commands), each case timed on its own.
fn pool_throughput(parallel: bool, cases: u64) -> Row {
    use std::rc::Rc;
    use weft_models::pool::PoolModel;
    let (model, shape, name) = if parallel {
        (
            Rc::new(PoolModel::parallel(weft_pool::Bugs::none())),
            weft_scenarios::pool::parallel_shape(),
            "pool parallel cases/s",
        )
    } else {
        (
            Rc::new(PoolModel::sequential(weft_pool::Bugs::none())),
            weft_scenarios::pool::sequential_shape(),
            "pool sequential cases/s",
        )
    };
    let (mut commands, mut failures) = (0, 0);
    let (mut long_cases, mut long_seconds) = (0u64, 0.0);
    let started = Instant::now();
    for case in 0..cases {
        let strategy = StrategyKind::Random.build(case_seed(1, case), Rates::default(), 3, 100);
        let one = Instant::now();
        let run = run_case(&model, &shape, Source::generate(strategy), Detail::Quiet);
        let elapsed = one.elapsed().as_secs_f64();
        let (n, _) = run.size();
        commands += n;
        if n >= 18 {
            long_cases += 1;
            long_seconds += elapsed;
        }
        failures += u64::from(run.failed());
    }
    let seconds = started.elapsed().as_secs_f64();
    let long = if long_cases > 0 {
        format!(
            "; cases of 18-20 commands: {:.0} cases/s ({long_cases} of them)",
            long_cases as f64 / long_seconds
        )
    } else {
        String::new()
    };
    Row {
        name: name.to_string(),
        value: cases as f64 / seconds,
        unit: "cases/s",
        detail: format!(
            "{cases} cases in {seconds:.2}s, {:.1} commands per case, {failures} failing{long}",
            commands as f64 / cases as f64
        ),
    }
}

pub fn run(args: BenchArgs) -> u8 {
    let scale = |n: u64| ((n as f64 * args.scale).ceil() as u64).max(1);
    let wanted =
        |name: &str| args.only.is_empty() || args.only.iter().any(|o| name.starts_with(o.as_str()));
    const NAMES: [&str; 4] = ["canary", "chaos", "pool", "kv"];
    if let Some(unknown) = args
        .only
        .iter()
        .find(|o| !NAMES.iter().any(|n| n.starts_with(o.as_str())))
    {
        eprintln!(
            "weft: unknown benchmark {unknown:?} (names: {})",
            NAMES.join(", ")
        );
        return 2;
    }
    let mut rows = Vec::new();
    if wanted("canary") {
        rows.push(throughput(
            &weft_scenarios::canary::Canary,
            &[],
            scale(20_000),
        ));
        rows.push(canary_shrink(scale(20)));
        rows.push(canary_runs_to_failure(StrategyKind::Random, scale(20)));
        rows.push(canary_runs_to_failure(StrategyKind::Pct, scale(20)));
    }
    if wanted("chaos") {
        rows.push(throughput(&weft_scenarios::chaos::Chaos, &[], scale(2_000)));
    }
    if wanted("pool") {
        rows.push(pool_throughput(false, scale(20_000)));
        rows.push(pool_throughput(true, scale(5_000)));
        rows.push(throughput(
            &weft_scenarios::pool_queue::PoolQueueScenario,
            &[],
            scale(10_000),
        ));
    }
    if wanted("kv") {
        rows.push(throughput(
            &weft_scenarios::kv::KvScenario,
            &[],
            scale(3_000),
        ));
    }
    for row in &rows {
        if args.json {
            println!(
                "{}",
                json!({"benchmark": row.name, "value": row.value, "unit": row.unit, "detail": row.detail})
            );
        } else {
            println!(
                "{:<28} {:>12.1} {:<12} {}",
                row.name, row.value, row.unit, row.detail
            );
        }
    }
    0
}
