//! `weft bug-table`: every planted bug, searched for with several seeds and both strategies.

use crate::bug_table::{
    commonest_form, distinct_forms, found, markdown, measure, median_cases, Search,
};
use crate::Registry;
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Bugs to measure, by name prefix (default: all).
    pub only: Vec<String>,
    /// Only the bugs of this scenario (repeatable; default: every scenario).
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// Seeds per strategy (0, 1, ...).
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Most cases per search.
    #[arg(long, default_value_t = 20_000)]
    pub cases: u64,
    /// Print one JSON object per bug instead of the Markdown table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(registry: &Registry, args: Args) -> u8 {
    for name in &args.scenarios {
        if registry.find(name).is_none() {
            eprintln!("weft: unknown scenario {name:?}");
            return 2;
        }
    }
    // In the registry's order, each once.
    let scenarios: Vec<_> = (registry.scenarios().iter().copied())
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|n| n == s.name()))
        .collect();
    for prefix in &args.only {
        let known = scenarios
            .iter()
            .any(|s| s.bugs().iter().any(|b| b.name.starts_with(prefix.as_str())));
        if !known {
            eprintln!("weft: no planted bug named {prefix:?} (`weft list` shows them)");
            return 2;
        }
    }
    let rows = measure(&scenarios, &args.only, args.seeds, args.cases);
    if args.json {
        for row in &rows {
            let searches = |s: &[Search]| {
                s.iter()
                    .map(|s| {
                        json!({
                            "seed": s.seed,
                            "cases_to_failure": s.cases_to_failure,
                            "shrunk": s.shrunk,
                            "shrink_ms": s.shrink_ms,
                            "cut_short": s.cut_short,
                            "form": s.form,
                        })
                    })
                    .collect::<Vec<_>>()
            };
            println!(
                "{}",
                json!({
                    "scenario": row.scenario,
                    "bug": row.bug,
                    "origin": row.origin,
                    "random": {"found": found(&row.random), "median_cases": median_cases(&row.random), "distinct_forms": distinct_forms(&row.random), "commonest_form": commonest_form(&row.random), "searches": searches(&row.random)},
                    "pct": {"found": found(&row.pct), "median_cases": median_cases(&row.pct), "distinct_forms": distinct_forms(&row.pct), "commonest_form": commonest_form(&row.pct), "searches": searches(&row.pct)},
                })
            );
        }
    } else {
        print!("{}", markdown(&rows, args.seeds, args.cases));
    }
    u8::from(rows.iter().any(|r| found(&r.random) == 0))
}
