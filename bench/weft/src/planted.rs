//! Every planted bug of the bundled pool scenarios, searched with each of weft's strategies:
//! cases and wall time to the failure, shrink time and the shrunk size (the searches of
//! `weft bug-table`, timed).

use serde_json::json;
use std::time::Instant;
use weft::strategy::StrategyKind;
use weft_scenarios::bug_table::search;

const SCENARIOS: [&str; 2] = ["pool", "pool-queue"];

pub fn planted(seeds: u64, cap: u64) -> Result<(), String> {
    for name in SCENARIOS {
        let scenario = weft_scenarios::find(name).ok_or_else(|| format!("no scenario {name}"))?;
        for bug in scenario.bugs() {
            for strategy in [StrategyKind::Random, StrategyKind::Pct] {
                for seed in 0..seeds {
                    let started = Instant::now();
                    let (found, _) = search(scenario, bug.name, strategy, seed, cap);
                    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
                    let shrink_ms = found.shrink_ms.unwrap_or(0) as f64;
                    let line = json!({
                        "scenario": name, "bug": bug.name, "origin": bug.origin,
                        "strategy": strategy.name(), "seed": seed, "cap": cap,
                        "cases": found.cases_to_failure,
                        // The search without the shrink (explaining the result included).
                        "find_ms": wall_ms - shrink_ms,
                        "shrink_ms": found.shrink_ms,
                        "shrunk": found.shrunk,
                        "cut_short": found.cut_short,
                    });
                    println!("{line}");
                }
            }
        }
    }
    Ok(())
}
