//! The canary, model-based: found, shrunk to 2 clients with 1 increment each and the single
//! preemption that matters, explained in a stable text pinned by a snapshot.

mod common;
use common::{replay_json, weft};

use weft::decision::DecisionKind;
use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::shrink::nondefault_execution;
use weft::internals::Run;
use weft::strategy::StrategyKind;
use weft::{Detail, Source};
use weft_scenarios::canary::Canary;

fn config(seed: u64, strategy: StrategyKind) -> FuzzConfig {
    FuzzConfig {
        strategy,
        ..FuzzConfig::new("canary", seed, 1000)
    }
}

fn run(source: Source, detail: Detail) -> Run {
    Canary.run(
        &Setup {
            detail,
            ..Setup::default()
        },
        source,
    )
}

#[test]
fn the_canary_shrinks_to_two_clients_one_increment_each_and_one_preemption() {
    for strategy in [StrategyKind::Random, StrategyKind::Pct, StrategyKind::Pctcp] {
        for seed in 0..20 {
            let found = fuzz(&run, &config(seed, strategy))
                .found
                .unwrap_or_else(|| panic!("{strategy:?} seed {seed}: not found in 1,000 runs"));
            let report = &found.run.report;
            let case = found.counterexample.case.as_ref().unwrap();
            let clients: Vec<(String, Vec<String>)> = case
                .clients
                .iter()
                .map(|c| {
                    (
                        c.client.clone(),
                        c.ops.iter().map(|o| o.command.clone()).collect(),
                    )
                })
                .collect();
            assert_eq!(
                clients,
                vec![
                    ("prefix".to_string(), vec![]),
                    ("client 1".to_string(), vec!["incr".to_string()]),
                    ("client 2".to_string(), vec!["incr".to_string()]),
                ],
                "{strategy:?} seed {seed}:\n{}",
                found.counterexample
            );
            let decisions = nondefault_execution(&report.log);
            assert_eq!(
                decisions.len(),
                1,
                "{strategy:?} seed {seed}: {decisions:?}"
            );
            assert_eq!(
                decisions[0].1.kind,
                DecisionKind::Schedule,
                "the one decision is a preemption"
            );
            assert!(found.shrink.as_ref().unwrap().cut_short.is_none());
            weft::internals::shrink::check_local_minimum(&|s| run(s, Detail::Quiet), &found.run)
                .unwrap_or_else(|why| panic!("{strategy:?} seed {seed}: {why}"));
        }
    }
}

#[test]
fn the_canary_counterexample_reads_well() {
    let found = fuzz(&run, &config(2, StrategyKind::Random))
        .found
        .expect("found");
    insta::assert_snapshot!(found.counterexample.to_string());
}

#[test]
fn weft_fuzz_reports_json_and_its_replay_file_reproduces_the_shrunk_run() {
    let dir = std::env::temp_dir().join(format!("weft-fuzz-{}", std::process::id()));
    let file = dir.join("canary.json");
    let out = common::fuzz_finding(&["canary", "--seed", "2", "--json"], &file);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "scenario",
        "bugs",
        "strategy",
        "seed",
        "cases_run",
        "found",
        "cases_to_failure",
        "failure_kind",
        "shrunk",
        "replay_file",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    assert_eq!(v["found"], true);
    assert_eq!(v["failure_kind"], "check");
    assert_eq!(v["shrunk"]["commands"], 2);
    assert_eq!(v["shrunk"]["branches"], 2);
    assert_eq!(v["shrunk"]["nondefault_decisions"], 1);
    assert!(v["shrunk"]["shrink_ms"].is_u64());
    let r = replay_json(&file);
    assert_eq!(r["failure_kind"], "check");
    assert_eq!(r["nondefault_decisions"], 1);
    // The history, in weft's JSON Lines format, beside the replay file.
    let history = std::fs::read_to_string(dir.join("canary.history.jsonl")).unwrap();
    let parsed = weft::lincheck::Format::Jsonl
        .parse(&history)
        .expect("a valid history");
    assert_eq!(parsed.ops.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
    let bad = weft()
        .args(["fuzz", "canary", "--bug", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let pass = weft()
        .args(["fuzz", "chaos", "--cases", "20", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        pass.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pass.stdout)
    );
    let p: serde_json::Value = serde_json::from_slice(&pass.stdout).unwrap();
    assert_eq!(
        (p["found"].as_bool(), p["cases_run"].as_u64()),
        (Some(false), Some(20))
    );
}

/// The README's first command: the demo finds, shrinks and explains its three bugs.
#[test]
fn weft_demo_finds_and_explains_its_bugs() {
    let dir = std::env::temp_dir().join(format!("weft-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = weft().arg("demo").current_dir(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("Violation: ").count(), 3, "{text}");
    assert!(text.contains("lost acknowledged elements"), "{text}");
    assert!(dir
        .join("weft-failures/canary-seed0.weft-replay.json")
        .is_file());
    assert!(dir.join("weft-failures/pool-seed0.html").is_file());
    assert!(dir.join("weft-failures/kv-sequential-seed0.html").is_file());
    assert!(text.contains("clocks: "), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bounded exhaustive exploration of the shrunk two-client case: with no preemption the one
/// sequential interleaving passes; with one, the race is found; with enough, the search
/// covers the whole tree, whose size stops growing with the bound.
#[test]
fn exploring_the_two_increment_case_finds_the_race_and_counts_every_interleaving() {
    use weft::internals::explore::{explore, ExploreConfig};
    let found = fuzz(&run, &config(1, StrategyKind::Random)).found.unwrap();
    let generation = &found.run.report.log.decisions;
    let count = |preemptions| {
        let cfg = ExploreConfig {
            preemptions,
            latency_options: 0,
            event_order: false,
            schedule: true,
            fault_ticks: 0,
            runs_max: 10_000,
            stop_at_failure: false,
        };
        explore(&|s| run(s, Detail::Quiet), generation, &cfg)
    };
    let none = count(0);
    assert_eq!((none.runs, none.complete, none.failures), (1, true, 0));
    let one = count(1);
    assert!(one.complete && one.failures > 0, "{one:?}");
    let failing = one.first_failure.as_ref().unwrap();
    assert_eq!(nondefault_execution(&failing.report.log).len(), 1);
    // Every decision but scheduling is at its default, so the tree is finite: its size
    // stops growing once the bound exceeds the deepest path's choices.
    let (eight, twelve) = (count(8), count(12));
    assert!(eight.complete && twelve.complete);
    assert_eq!(eight.runs, twelve.runs);
    assert_eq!(
        eight.runs, 142,
        "the exact number of interleavings of this case"
    );
    assert!(one.runs < eight.runs);
}
