//! The `lease` scenario (a register with leased read caches on drifting clocks): no false
//! alarm without the planted bug, with every strategy; the bug found on every seed and shrunk
//! to three commands and the one clock that matters, named with its drift; the shrunk
//! counterexample pinned by a snapshot. `WEFT_SLOW=1` runs more cases and all ten seeds.

mod common;
use common::{replay_json, tempdir, weft};

use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::scenario::Scenario;
use weft::strategy::StrategyKind;
use weft_scenarios::bug_table::runner;
use weft_scenarios::lease::LeaseScenario;

fn slow() -> bool {
    std::env::var_os("WEFT_SLOW").is_some()
}

fn config(seed: u64, cases: u64, strategy: StrategyKind) -> FuzzConfig {
    FuzzConfig {
        strategy,
        ..FuzzConfig::new("lease", seed, cases)
    }
}

#[test]
fn with_a_drift_margin_the_leased_register_is_linearizable() {
    let cases = if slow() { 200_000 } else { 3_000 };
    for strategy in [StrategyKind::Random, StrategyKind::Pct, StrategyKind::Swarm] {
        let run = runner(&LeaseScenario, &[]);
        let result = fuzz(&run, &config(1, cases, strategy));
        if let Some(found) = result.found {
            panic!("{strategy:?}: false alarm:\n{}", found.counterexample);
        }
        assert_eq!(result.cases_run, cases);
    }
}

#[test]
fn without_the_margin_a_drifting_clock_is_found_and_named() {
    let seeds = if slow() { 10 } else { 4 };
    for seed in 0..seeds {
        let run = runner(&LeaseScenario, &["no-drift-margin"]);
        let result = fuzz(&run, &config(seed, 2_000, StrategyKind::Random));
        let found = result
            .found
            .unwrap_or_else(|| panic!("seed {seed}: not found in 2,000 cases"));
        let text = found.counterexample.to_string();
        let case = found.counterexample.case.as_ref().expect("a model case");
        assert_eq!(
            case.commands, 3,
            "seed {seed}: not shrunk to 3 commands:\n{text}"
        );
        // Every decision left is a clock's drift: the store's runs fast or a front-end's slow.
        let decisions = &found.counterexample.decisions;
        assert!(!decisions.is_empty(), "seed {seed}:\n{text}");
        for note in decisions {
            let named = ["store's clock", "f1's clock", "f2's clock"]
                .iter()
                .any(|n| note.text.contains(n));
            let drift = note.text.contains("5% fast") || note.text.contains("5% slow");
            assert!(named && drift, "seed {seed}: {:?}\n{text}", note.text);
        }
        assert!(text.contains("expected Value("), "seed {seed}:\n{text}");
    }
}

#[test]
fn the_shrunk_lease_counterexample_reads_well() {
    let run = runner(&LeaseScenario, &["no-drift-margin"]);
    let found = fuzz(&run, &config(0, 2_000, StrategyKind::Random))
        .found
        .expect("found");
    insta::assert_snapshot!(found.counterexample.to_string());
}

#[test]
fn weft_fuzz_finds_the_lease_bug_and_its_replay_file_reproduces_it() {
    let dir = tempdir();
    let file = dir.join("lease.json");
    let out = weft()
        .args([
            "fuzz",
            "lease",
            "--bug",
            "no-drift-margin",
            "--json",
            "--replay-out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failure_kind"], "check");
    assert_eq!(v["shrunk"]["commands"], 3);
    let r = replay_json(&file);
    assert_eq!(r["failure_kind"], "check");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_lease_scenario_lists_its_bug() {
    let names: Vec<&str> = LeaseScenario.bugs().iter().map(|b| b.name).collect();
    assert_eq!(names, ["no-drift-margin"]);
    assert!(weft_scenarios::find("lease").is_some());
}
