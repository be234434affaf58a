//! The race table: how many cases each generating strategy needs to find the races of the
//! scenarios that must fail (the canary's lost update, the ABA race), over many seeds, and
//! what each shrinks to. `weft race-table` prints it; the README's strategy table comes from it.

use crate::bug_table::{forms_cell, found, median, median_cases, search_with, Search};
use weft::internals::scenario::Scenario;
use weft::strategy::StrategyKind;

/// One scenario's searches with one strategy.
#[derive(Clone, Debug)]
pub struct Row {
    /// Scenario name.
    pub scenario: &'static str,
    /// The strategy.
    pub strategy: StrategyKind,
    /// One search per seed.
    pub searches: Vec<Search>,
    /// Wall time of all the searches (finding and shrinking), ms.
    pub wall_ms: u64,
}

impl Row {
    /// The most cases any search needed, if every search found the race.
    pub fn max_cases(&self) -> Option<u64> {
        let cases: Option<Vec<u64>> = self.searches.iter().map(|s| s.cases_to_failure).collect();
        cases?.into_iter().max()
    }

    /// Median shrunk size (commands, branches, non-default decisions) over the searches that
    /// found the race.
    pub fn shrunk(&self) -> Option<(u64, u64, u64)> {
        let sizes: Vec<(usize, usize, usize)> =
            self.searches.iter().filter_map(|s| s.shrunk).collect();
        Some((
            median(sizes.iter().map(|s| s.0 as u64).collect())?,
            median(sizes.iter().map(|s| s.1 as u64).collect())?,
            median(sizes.iter().map(|s| s.2 as u64).collect())?,
        ))
    }
}

/// The scenarios of the table: every scenario of `all` that must fail, or those named.
pub fn scenarios(all: &[&'static dyn Scenario], names: &[String]) -> Vec<&'static dyn Scenario> {
    all.iter()
        .copied()
        .filter(|s| s.must_fail())
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name()))
        .collect()
}

/// Searches each scenario with each strategy, seeds 0 to `seeds - 1`, at most `cases` cases.
pub fn measure(
    scenarios: &[&'static dyn Scenario],
    strategies: &[StrategyKind],
    seeds: u64,
    cases: u64,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for &scenario in scenarios {
        for &strategy in strategies {
            let start = std::time::Instant::now(); // hygiene: allowed (wall time of the searches, outside the simulation)
            let searches = (0..seeds)
                .map(|seed| search_with(scenario, &[], strategy, seed, cases).0)
                .collect();
            rows.push(Row {
                scenario: scenario.name(),
                strategy,
                searches,
                wall_ms: start.elapsed().as_millis() as u64,
            });
        }
    }
    rows
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[Row], seeds: u64, cases: u64) -> String {
    let mut out = String::from(
        "| scenario | strategy | found (seeds) | cases to failure: median | max | shrunk: commands (with start) / branches / non-default decisions, median | distinct shrunk forms (seeds on the commonest) | wall for all seeds |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let over = |v: Option<u64>| v.map_or(format!("> {cases}"), |v| v.to_string());
        let shrunk = row
            .shrunk()
            .map_or("-".to_string(), |(c, b, d)| format!("{c} / {b} / {d}"));
        out.push_str(&format!(
            "| {} | {} | {}/{seeds} | {} | {} | {shrunk} | {} | {:.1} s |\n",
            row.scenario,
            row.strategy.name(),
            found(&row.searches),
            over(median_cases(&row.searches)),
            over(row.max_cases()),
            forms_cell(&row.searches),
            row.wall_ms as f64 / 1000.0,
        ));
    }
    out.push_str(&format!(
        "\nSeeds 0 to {}, at most {cases} cases per search; a search that found nothing counts as more than the cap.\n",
        seeds.saturating_sub(1)
    ));
    out
}
