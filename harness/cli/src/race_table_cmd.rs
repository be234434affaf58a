//! `weft race-table`: the races of the scenarios that must fail, searched for with every
//! strategy over many seeds.

use crate::bug_table::{commonest_form, distinct_forms, found, median_cases};
use crate::race_table::{markdown, measure, scenarios};
use crate::Registry;
use serde_json::json;
use weft::strategy::StrategyKind;

#[derive(clap::Args)]
pub struct Args {
    /// Scenarios to measure (default: every scenario that must fail).
    pub scenarios: Vec<String>,
    /// Strategies (repeatable; default: every one).
    #[arg(long = "strategy")]
    pub strategies: Vec<String>,
    /// Seeds per strategy (0, 1, ...).
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Most cases per search.
    #[arg(long, default_value_t = 20_000)]
    pub cases: u64,
    /// Print one JSON object per scenario and strategy instead of the Markdown table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(registry: &Registry, args: Args) -> u8 {
    for name in &args.scenarios {
        match registry.find(name) {
            None => {
                eprintln!("weft: unknown scenario {name:?}");
                return 2;
            }
            Some(s) if !s.must_fail() => {
                eprintln!(
                    "weft: scenario {name:?} has no race of its own (it passes without a planted bug); `weft bug-table` measures planted bugs"
                );
                return 2;
            }
            Some(_) => {}
        }
    }
    let mut strategies = Vec::new();
    for name in &args.strategies {
        match StrategyKind::parse(name) {
            Some(s) => strategies.push(s),
            None => {
                eprintln!("weft: unknown strategy {name:?} (random, pct, swarm or pctcp)");
                return 2;
            }
        }
    }
    if strategies.is_empty() {
        strategies = StrategyKind::ALL.to_vec();
    }
    let rows = measure(
        &scenarios(registry.scenarios(), &args.scenarios),
        &strategies,
        args.seeds,
        args.cases,
    );
    if args.json {
        for row in &rows {
            let searches: Vec<_> = row
                .searches
                .iter()
                .map(|s| json!({"seed": s.seed, "cases_to_failure": s.cases_to_failure, "shrunk": s.shrunk, "shrink_ms": s.shrink_ms, "form": s.form}))
                .collect();
            println!(
                "{}",
                json!({
                    "scenario": row.scenario,
                    "strategy": row.strategy.name(),
                    "found": found(&row.searches),
                    "median_cases": median_cases(&row.searches),
                    "max_cases": row.max_cases(),
                    "distinct_forms": distinct_forms(&row.searches), "commonest_form": commonest_form(&row.searches),
                    "wall_ms": row.wall_ms,
                    "searches": searches,
                })
            );
        }
    } else {
        print!("{}", markdown(&rows, args.seeds, args.cases));
    }
    0
}
