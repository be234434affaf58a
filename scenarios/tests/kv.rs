//! The `kv` scenario: no false alarm without bugs, and the planted bugs that the set-add model
//! can see (an acknowledged element lost, a sibling explosion, a quorum read missing an
//! acknowledged write) found within a small budget. CI runs small budgets; `WEFT_SLOW=1` runs
//! more cases and seeds.

use std::time::Duration;
use weft::decision::DecisionKind;
use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::scenario::Scenario;
use weft::internals::shrink::{check_local_minimum, nondefault_execution, ShrinkConfig};
use weft::strategy::{Rates, StrategyKind};
use weft::{Detail, Source};
use weft_kv::{Bug, Bugs};
use weft_scenarios::bug_table::runner;
use weft_scenarios::kv::{run, run_sequential, KvScenario, KvSequentialScenario};

fn slow() -> bool {
    std::env::var_os("WEFT_SLOW").is_some()
}

fn config(seed: u64, cases: u64, strategy: StrategyKind) -> FuzzConfig {
    FuzzConfig {
        strategy,
        shrink: ShrinkConfig {
            time_max: Duration::from_secs(if slow() { 60 } else { 10 }),
            ..ShrinkConfig::default()
        },
        ..FuzzConfig::new("kv", seed, cases)
    }
}

#[test]
fn without_bugs_the_store_passes_with_both_strategies() {
    let cases = if slow() { 2_000 } else { 100 };
    for strategy in [StrategyKind::Random, StrategyKind::Pct] {
        let run = runner(&KvScenario, &[]);
        let result = fuzz(&run, &config(1, cases, strategy));
        if let Some(found) = result.found {
            panic!("{strategy:?}: false alarm:\n{}", found.counterexample);
        }
        assert_eq!(result.cases_run, cases);
    }
}

/// Searches for `bug` with `seeds` seeds of `cases` cases; each must find it (with the full
/// budget of 10 seeds, at least 9, the criterion), with a violation that mentions
/// `symptom`.
fn found(bug: &str, symptoms: &str, seeds: u64, cases: u64) {
    let seeds = if slow() { 10 } else { seeds };
    let misses_max = if seeds >= 10 { 1 } else { 0 };
    let mut missed = Vec::new();
    for seed in 0..seeds {
        let bugs = [bug];
        let run = runner(&KvScenario, &bugs);
        let result = fuzz(&run, &config(seed, cases, StrategyKind::Random));
        let Some(found) = result.found else {
            missed.push(seed);
            assert!(
                missed.len() <= misses_max,
                "{bug}: not found with seeds {missed:?} in {cases} cases"
            );
            continue;
        };
        let violation = found
            .run
            .report
            .outcome
            .failure()
            .map(|f| f.message.clone());
        assert!(
            violation
                .as_deref()
                .is_some_and(|m| symptoms.split('|').any(|s| m.contains(s))),
            "{bug}: {violation:?}"
        );
    }
}

#[test]
fn last_write_wins_is_found() {
    found("last-write-wins", "lost acknowledged", 2, 200);
}

#[test]
fn read_repair_drops_siblings_is_found() {
    found("read-repair-drops-siblings", "lost acknowledged", 1, 1_000);
}

#[test]
fn replica_clock_siblings_is_found() {
    found("replica-clock-siblings", "sibling explosion", 2, 100);
}

#[test]
fn ack_before_quorum_is_found() {
    // The bug also breaks the sibling probe, whose reads assume strict quorums; and a write
    // acknowledged with one copy is lost when that copy is (seed 4 of the full budget).
    found(
        "ack-before-quorum",
        "quorum intersection|sibling explosion|lost acknowledged",
        1,
        1_000,
    );
}

/// Four seeds find `ack-before-quorum` by different routes (a lost element, a sibling
/// explosion, a missed quorum read; 1 to 11 commands at their local minima) and all end on
/// one counterexample: the search for a smaller case finds the probe alone with two delayed
/// stores. Where it replaced a seed's local minimum, that one is kept beside the replay file
/// and still fails.
#[test]
fn ack_before_quorum_shrinks_to_one_counterexample_whatever_the_seed() {
    let dir = std::env::temp_dir().join(format!("weft-kv-forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = runner(&KvScenario, &["ack-before-quorum"]);
    let mut forms = std::collections::BTreeSet::new();
    let mut replaced = 0;
    for seed in [0, 2, 3] {
        let mut cfg = config(seed, 1_000, StrategyKind::Random);
        cfg.shrink.time_max = Duration::from_secs(300);
        let path = dir.join(format!("seed{seed}.weft-replay.json"));
        cfg.replay_file = Some(path.clone());
        let found = fuzz(&run, &cfg).found.expect("found");
        let stats = found.shrink.as_ref().unwrap();
        assert!(stats.cut_short.is_none(), "seed {seed}: {stats:?}");
        assert_eq!(
            found.run.size(),
            (0, 0),
            "seed {seed}: {}",
            found.counterexample
        );
        assert_eq!(nondefault_execution(&found.run.report.log).len(), 2);
        let text = found.counterexample.to_string();
        forms.insert(weft_cli::bug_table::shrunk_form(&text));
        let local = weft::internals::fuzz::local_path(&path);
        assert_eq!(stats.from_small_case, local.exists(), "seed {seed}");
        assert_eq!(stats.from_small_case, text.contains("Shrunk further:"));
        if stats.from_small_case {
            replaced += 1;
            let file = weft::internals::replay::ReplayFile::load(&local).unwrap();
            let again = run(Source::replay(file.log().unwrap()), Detail::Quiet);
            assert!(
                again.failed(),
                "seed {seed}: the local minimum kept does not fail"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(forms.len(), 1, "{forms:#?}");
    assert!(replaced > 0, "no seed's local minimum was replaced");
}

#[test]
fn handoff_drops_tombstones_is_found() {
    found(
        "handoff-drops-tombstones",
        "after an acknowledged delete",
        1,
        3_000,
    );
}

// Found on some seeds only within CI's budget: searched with the full budget (20,000 cases,
// 10 seeds) under `WEFT_SLOW=1`, one test per bug so each can be run alone.

#[test]
fn volatile_hints_is_found_with_the_full_budget() {
    if slow() {
        found("volatile-hints", "lost acknowledged", 10, 20_000);
    }
}

#[test]
fn handoff_drops_tombstones_is_found_with_the_full_budget() {
    if slow() {
        found(
            "handoff-drops-tombstones",
            "after an acknowledged delete",
            10,
            20_000,
        );
    }
}

#[test]
fn actor_reuse_after_disk_loss_is_found_with_the_full_budget() {
    if slow() {
        found(
            "actor-reuse-after-disk-loss",
            "lost acknowledged",
            10,
            20_000,
        );
    }
}

#[test]
fn prune_youngest_is_found_with_the_full_budget() {
    if slow() {
        found(
            "prune-youngest",
            "too recently for clock pruning",
            10,
            20_000,
        );
    }
}

#[test]
fn with_sequential_clients_the_correct_store_passes() {
    let cases = if slow() { 5_000 } else { 300 };
    for strategy in [StrategyKind::Random, StrategyKind::Pct] {
        let run = runner(&KvSequentialScenario, &[]);
        let cfg = FuzzConfig {
            name: "kv-sequential".into(),
            ..config(1, cases, strategy)
        };
        let result = fuzz(&run, &cfg);
        if let Some(found) = result.found {
            panic!("{strategy:?}: false alarm:\n{}", found.counterexample);
        }
        assert_eq!(result.cases_run, cases);
    }
}

/// With one operation at a time and no lost message, last-write-wins loses a write only to
/// clock skew: the search shrinks to two adds and the one clock offset that matters, a local
/// minimum, on every seed.
#[test]
fn last_write_wins_with_sequential_clients_loses_a_write_to_clock_skew() {
    let lww = Bugs::none().with(Bug::LastWriteWins);
    let run = |source, detail| run_sequential(lww, source, detail);
    for seed in 0..4 {
        let mut cfg = FuzzConfig {
            name: "kv-sequential".into(),
            ..config(seed, 200, StrategyKind::Random)
        };
        // A shrink takes 1 to 3 s; a bound reached on a loaded machine would leave a larger
        // form, so the bound is far away and the test says so if it is reached.
        cfg.shrink.time_max = Duration::from_secs(300);
        let found = fuzz(&run, &cfg)
            .found
            .unwrap_or_else(|| panic!("seed {seed}: not found in 200 cases"));
        let cut_short = found.shrink.as_ref().and_then(|s| s.cut_short.clone());
        assert!(
            cut_short.is_none(),
            "seed {seed}: shrink cut short: {cut_short:?}"
        );
        assert_eq!(
            found.run.size(),
            (2, 0),
            "seed {seed}: {}",
            found.counterexample
        );
        let decisions = nondefault_execution(&found.run.report.log);
        assert_eq!(decisions.len(), 1, "seed {seed}: {decisions:?}");
        assert_eq!(
            decisions[0].1.kind,
            DecisionKind::ClockOffset,
            "seed {seed}"
        );
        let text = found.counterexample.to_string();
        assert!(text.contains("lost acknowledged elements"), "{text}");
        assert!(text.contains("clocks: "), "{text}");
        check_local_minimum(&|s| run(s, Detail::Quiet), &found.run)
            .unwrap_or_else(|why| panic!("seed {seed}: {why}"));
        if seed == 0 {
            insta::assert_snapshot!(text);
        }
    }
}

/// Mean client operations (adds, blind adds, deletes; not waits or faults) per case over
/// seeds `0..cases` of `run`, counted in the explained cases' command lists.
fn mean_client_operations(run: &dyn Fn(Source, Detail) -> weft::internals::Run, cases: u64) -> f64 {
    let mut total = 0;
    for seed in 0..cases {
        let strategy = StrategyKind::Random.build(seed, Rates::default(), 3, 200);
        let run = run(Source::generate(strategy), Detail::Explain);
        let case = run.case.expect("a model case");
        total += case
            .clients
            .iter()
            .flat_map(|c| &c.ops)
            .filter(|op| {
                let command = op.command.as_str();
                command.starts_with("add(")
                    || command.starts_with("blind add(")
                    || command.starts_with("delete(")
            })
            .count();
    }
    total as f64 / cases as f64
}

/// The issue asks for about 20 client operations per case, in both scenarios (the standard
/// error of these means is about 1.5).
#[test]
fn a_case_averages_about_20_client_operations() {
    let none = Bugs::none();
    let concurrent = mean_client_operations(&|s, d| run(none, s, d), 200);
    assert!((16.5..23.5).contains(&concurrent), "kv: {concurrent}");
    let sequential = mean_client_operations(&|s, d| run_sequential(none, s, d), 200);
    assert!(
        (16.5..23.5).contains(&sequential),
        "kv-sequential: {sequential}"
    );
}

#[test]
fn the_store_lists_its_bugs() {
    let names: Vec<&str> = KvScenario.bugs().iter().map(|b| b.name).collect();
    assert_eq!(names.len(), 8);
    assert!(names.contains(&"actor-reuse-after-disk-loss"));
    assert!(weft_scenarios::find("kv").is_some());
    assert!(weft_scenarios::find("kv-sequential").is_some());
}

/// `prune-youngest`'s seeds used to stop on one form per key: the same story told on k1
/// (through coordinators a, b and e) or on k0 (a, c and d), and with a wait or a crash to let
/// time pass. The key's copies change together with the coordinators of two of its commands
/// (three choices at once), and a wait is replaced by the crash that does as well (a command
/// of another kind, drawn afresh): seeds 0, 3 and 8, which stopped on three forms, end on one.
#[test]
fn prune_youngest_ends_on_one_form_whatever_the_key_its_seed_found() {
    let run = runner(&KvScenario, &["prune-youngest"]);
    let mut forms = std::collections::BTreeSet::new();
    for seed in [0, 3, 8] {
        let mut cfg = config(seed, 20_000, StrategyKind::Random);
        cfg.shrink.time_max = Duration::from_secs(300);
        let found = fuzz(&run, &cfg).found.expect("found");
        let stats = found.shrink.as_ref().unwrap();
        assert!(stats.cut_short.is_none(), "seed {seed}: {stats:?}");
        let text = found.counterexample.to_string();
        assert_eq!(found.run.size().0, 5, "seed {seed}: {text}");
        assert!(
            nondefault_execution(&found.run.report.log).is_empty(),
            "{text}"
        );
        forms.insert(weft_cli::bug_table::shrunk_form(&text));
    }
    assert_eq!(forms.len(), 1, "{forms:#?}");
}
