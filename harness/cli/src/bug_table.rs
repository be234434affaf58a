//! The planted-bug table: how fast each planted bug of a registry's scenarios is found, with the
//! random and the PCT strategy over several seeds, and what it shrinks to. `weft bug-table`
//! prints it; the README's table comes from it, and the slow tests check the acceptance
//! bounds with it.

use weft::internals::fuzz::{fuzz, Found, FuzzConfig};
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::shrink::nondefault_execution;
use weft::internals::Run;
use weft::strategy::StrategyKind;
use weft::{Detail, Source};

/// What one search for a bug gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// Seed of the search.
    pub seed: u64,
    /// The strategy.
    pub strategy: StrategyKind,
    /// 1-based index of the first failing case, if one failed within the budget.
    pub cases_to_failure: Option<u64>,
    /// Commands, branches and non-default execution decisions of the shrunk case.
    pub shrunk: Option<(usize, usize, usize)>,
    /// Shrink time in milliseconds.
    pub shrink_ms: Option<u64>,
    /// Whether shrinking stopped at a bound rather than at a local minimum.
    pub cut_short: bool,
    /// The shrunk counterexample's text with worker and task numbers replaced
    /// ([`shrunk_form`]): two searches that shrank to the same story have the same form.
    pub form: Option<String>,
}

/// A counterexample's text with the numbers that name workers and tasks replaced by `N` and
/// without its replay line and swarm profile: what stays the same when the same bug shrinks to the same story.
pub fn shrunk_form(counterexample: &str) -> String {
    let mut out = String::new();
    let mut rest = counterexample;
    while let Some(at) = ["worker@", "worker ", "task "]
        .iter()
        .filter_map(|w| rest.find(w).map(|i| (i, w.len())))
        .min()
    {
        let (i, len) = at;
        out.push_str(&rest[..i + len]);
        rest = &rest[i + len..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    // The replay line names the file; a swarm search's profile and the line on the failure
    // as found say how the case was reached, not what the counterexample is.
    let route = ["Replay:", "Swarm profile:", "Shrunk further:"];
    out.lines()
        .filter(|l| !route.iter().any(|r| l.starts_with(r)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The number of distinct shrunk forms among the searches that found the bug.
pub fn distinct_forms(searches: &[Search]) -> usize {
    let forms: std::collections::BTreeSet<&String> =
        searches.iter().filter_map(|s| s.form.as_ref()).collect();
    forms.len()
}

/// How many of the searches that found the bug shrank to the commonest form (issue 9's
/// measure: the same counterexample on at least 9 of 10 seeds).
pub fn commonest_form(searches: &[Search]) -> usize {
    let mut counts: std::collections::BTreeMap<&String, usize> = Default::default();
    for form in searches.iter().filter_map(|s| s.form.as_ref()) {
        *counts.entry(form).or_default() += 1;
    }
    counts.into_values().max().unwrap_or(0)
}

/// Distinct forms, and the seeds on the commonest in brackets: "2 (9)".
pub fn forms_cell(searches: &[Search]) -> String {
    format!(
        "{} ({})",
        distinct_forms(searches),
        commonest_form(searches)
    )
}

/// A scenario with `bugs` switched on, as a run function.
pub fn runner<'a>(
    scenario: &'a dyn Scenario,
    bugs: &'a [&'a str],
) -> impl Fn(Source, Detail) -> Run + 'a {
    move |source, detail| {
        let setup = Setup {
            bugs: bugs.iter().map(|b| b.to_string()).collect(),
            detail,
        };
        scenario.run(&setup, source)
    }
}

/// Searches for the bug `bug` of `scenario` with one seed and strategy, within `cases` cases.
pub fn search(
    scenario: &dyn Scenario,
    bug: &str,
    strategy: StrategyKind,
    seed: u64,
    cases: u64,
) -> (Search, Option<Found>) {
    search_with(scenario, &[bug], strategy, seed, cases)
}

/// Searches `scenario` with the planted bugs `bugs` on (none: its own failure, for a scenario
/// that must fail) with one seed and strategy, within `cases` cases.
pub fn search_with(
    scenario: &dyn Scenario,
    bugs: &[&str],
    strategy: StrategyKind,
    seed: u64,
    cases: u64,
) -> (Search, Option<Found>) {
    let run = runner(scenario, bugs);
    let cfg = FuzzConfig {
        setup: serde_json::json!({ "bugs": bugs }),
        strategy,
        replay_command: String::new(),
        ..FuzzConfig::new(scenario.name(), seed, cases)
    };
    let found = fuzz(&run, &cfg).found;
    let search = Search {
        seed,
        strategy,
        cases_to_failure: found.as_ref().map(|f| f.cases_to_failure),
        shrunk: found.as_ref().map(|f| {
            let (commands, branches) = f.run.size();
            let decisions = nondefault_execution(&f.run.report.log).len();
            (commands, branches, decisions)
        }),
        shrink_ms: found
            .as_ref()
            .and_then(|f| f.shrink.as_ref())
            .map(|s| s.elapsed.as_millis() as u64),
        cut_short: found
            .as_ref()
            .and_then(|f| f.shrink.as_ref())
            .is_some_and(|s| s.cut_short.is_some()),
        form: found
            .as_ref()
            .map(|f| shrunk_form(&f.counterexample.to_string())),
    };
    (search, found)
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Scenario name.
    pub scenario: &'static str,
    /// Bug name.
    pub bug: &'static str,
    /// Where it comes from.
    pub origin: &'static str,
    /// Searches with the random strategy, one per seed.
    pub random: Vec<Search>,
    /// Searches with PCT, one per seed.
    pub pct: Vec<Search>,
}

pub(crate) fn median(mut values: Vec<u64>) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

/// The median cases to failure, counting a search that found nothing as above every other.
pub fn median_cases(searches: &[Search]) -> Option<u64> {
    median(
        searches
            .iter()
            .map(|s| s.cases_to_failure.unwrap_or(u64::MAX))
            .collect(),
    )
    .filter(|m| *m != u64::MAX)
}

/// How many searches found the bug.
pub fn found(searches: &[Search]) -> usize {
    searches
        .iter()
        .filter(|s| s.cases_to_failure.is_some())
        .count()
}

impl Row {
    /// Median shrunk size over the searches that found the bug (random strategy):
    /// commands, branches, non-default decisions.
    pub fn shrunk(&self) -> Option<(u64, u64, u64)> {
        let sizes: Vec<(usize, usize, usize)> =
            self.random.iter().filter_map(|s| s.shrunk).collect();
        Some((
            median(sizes.iter().map(|s| s.0 as u64).collect())?,
            median(sizes.iter().map(|s| s.1 as u64).collect())?,
            median(sizes.iter().map(|s| s.2 as u64).collect())?,
        ))
    }

    /// Median and maximum shrink time (random strategy), ms.
    pub fn shrink_ms(&self) -> Option<(u64, u64)> {
        let times: Vec<u64> = self.random.iter().filter_map(|s| s.shrink_ms).collect();
        Some((median(times.clone())?, *times.iter().max()?))
    }
}

/// Measures every planted bug of `scenarios` whose name starts with one of `only` (all when
/// empty): `seeds` seeds (0, 1, ...) with each strategy, `cases` cases at most.
pub fn measure(
    scenarios: &[&'static dyn Scenario],
    only: &[String],
    seeds: u64,
    cases: u64,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for &scenario in scenarios {
        for bug in scenario.bugs() {
            if !only.is_empty() && !only.iter().any(|o| bug.name.starts_with(o.as_str())) {
                continue;
            }
            let runs = |strategy| {
                (0..seeds)
                    .map(|seed| search(scenario, bug.name, strategy, seed, cases).0)
                    .collect::<Vec<_>>()
            };
            rows.push(Row {
                scenario: scenario.name(),
                bug: bug.name,
                origin: bug.origin,
                random: runs(StrategyKind::Random),
                pct: runs(StrategyKind::Pct),
            });
        }
    }
    rows
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[Row], seeds: u64, cases: u64) -> String {
    let show = |searches: &[Search]| {
        let max = searches.iter().filter_map(|s| s.cases_to_failure).max();
        match (median_cases(searches), max) {
            (Some(m), Some(x)) => format!("{m} (max {x}; {}/{seeds})", found(searches)),
            _ => format!("not found ({}/{seeds})", found(searches)),
        }
    };
    let mut out = String::new();
    out.push_str(
        "| bug | scenario | origin | cases to failure, random: median (max; found/seeds) | cases to failure, PCT | shrunk: commands (with start) / branches / non-default decisions | distinct shrunk forms over the seeds (seeds on the commonest): random / PCT | shrink time, median (max) |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let shrunk = row
            .shrunk()
            .map_or("-".to_string(), |(c, b, d)| format!("{c} / {b} / {d}"));
        let time = row
            .shrink_ms()
            .map_or("-".to_string(), |(m, x)| format!("{m} ms ({x} ms)"));
        let forms = format!("{} / {}", forms_cell(&row.random), forms_cell(&row.pct));
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            row.bug,
            row.scenario,
            row.origin,
            show(&row.random),
            show(&row.pct),
            shrunk,
            forms,
            time
        ));
    }
    out.push_str(&format!(
        "\nSeeds 0 to {}, at most {cases} cases per search; shrunk sizes and shrink times are medians over the random strategy's searches.\n",
        seeds.saturating_sub(1)
    ));
    out
}
