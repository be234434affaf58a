//! The acceptance checks of the simulation core, on the bundled scenarios.

mod common;
use common::{json_of, replay_json, tempdir, weft};

use std::collections::BTreeSet;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::EventKind;
use weft::strategy::{Rates, StrategyKind};
use weft::{Detail, RunReport, Source};
use weft_scenarios::{canary::Canary, chaos::Chaos};

fn random(seed: u64) -> Source {
    Source::generate(StrategyKind::Random.build(seed, Rates::default(), 3, 200))
}

fn traced() -> Setup {
    Setup {
        detail: Detail::Explain,
        ..Setup::default()
    }
}

/// 1,000 seeds of the chaos workload (three nodes, every fault kind on), each run twice, give
/// identical traces; and across the seeds every fault kind really happened.
#[test]
fn chaos_is_deterministic_over_1000_seeds_with_every_fault_kind() {
    let mut seen = BTreeSet::new();
    for seed in 0..1000 {
        let a = Chaos.run(&traced(), random(seed)).report;
        let b = Chaos.run(&traced(), random(seed)).report;
        if let Some(n) = weft::internals::determinism::compare(&a, &b) {
            panic!("seed {seed}: {n}");
        }
        assert_eq!(a.trace_hash, b.trace_hash);
        assert!(
            a.outcome.failure().is_none(),
            "seed {seed}: {:?}",
            a.outcome
        );
        for e in a.trace.as_ref().unwrap() {
            let what = match e.kind {
                EventKind::Crash => "crash",
                EventKind::Restart => "restart",
                EventKind::Pause => "pause",
                EventKind::Resume => "resume",
                EventKind::Link if e.b == 1 => "partition",
                EventKind::Lost => "message lost",
                EventKind::Send if e.b == u64::MAX => "message dropped",
                EventKind::DiskCrash if e.a == 2 => "torn write",
                EventKind::DiskCrash if e.a == 1 => "lost write",
                EventKind::Disk if e.a == 3 => "disk error",
                EventKind::Buggify => "fault point",
                EventKind::Decision if e.b != 0 => match e.a {
                    a if a == weft::decision::DecisionKind::Duplicate as u64 => "duplicate",
                    a if a == weft::decision::DecisionKind::Reorder as u64 => "reorder",
                    a if a == weft::decision::DecisionKind::ClockOffset as u64 => "clock offset",
                    a if a == weft::decision::DecisionKind::ClockDrift as u64 => "clock drift",
                    _ => continue,
                },
                _ => continue,
            };
            seen.insert(what);
        }
    }
    let all = [
        "clock drift",
        "clock offset",
        "crash",
        "disk error",
        "duplicate",
        "fault point",
        "lost write",
        "message dropped",
        "message lost",
        "partition",
        "pause",
        "reorder",
        "restart",
        "resume",
        "torn write",
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), all);
}

/// A fresh process running the binary computes the same trace hash as this process.
#[test]
fn a_fresh_process_reproduces_the_trace_hash() {
    for seed in [0, 1, 7, 42, 999] {
        for (scenario, expected) in [
            ("chaos", Chaos.run(&Setup::default(), random(seed)).report),
            ("canary", Canary.run(&Setup::default(), random(seed)).report),
        ] {
            let dir = tempdir();
            let out = weft()
                .args([
                    "run",
                    scenario,
                    "--seed",
                    &seed.to_string(),
                    "--json",
                    "--replay-out",
                ])
                .arg(dir.join("r.json"))
                .output()
                .unwrap();
            let v = json_of(&out);
            assert_eq!(
                v["trace_hash"],
                format!("{:016x}", expected.trace_hash),
                "{scenario} seed {seed}"
            );
            assert_eq!(v["steps"], expected.steps);
            assert_eq!(
                v["outcome"],
                if expected.outcome.failure().is_some() {
                    "fail"
                } else {
                    "pass"
                }
            );
            assert_eq!(
                out.status.code(),
                Some(i32::from(expected.outcome.failure().is_some()))
            );
        }
    }
}

/// A failing seed, its replay file, and the replay reproduce the failure and the hash.
#[test]
fn replay_round_trip_through_the_binary() {
    let dir = tempdir();
    let file = dir.join("canary.weft-replay.json");
    let seed = (0..100)
        .find(|&seed| Canary.run(&Setup::default(), random(seed)).failed())
        .expect("a failing canary seed among the first 100");
    let run = weft()
        .args([
            "run",
            "canary",
            "--seed",
            &seed.to_string(),
            "--json",
            "--replay-out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let run = json_of(&run);
    assert_eq!(run["outcome"], "fail");
    assert_eq!(run["replay_file"], file.display().to_string());
    let replay = replay_json(&file);
    for field in [
        "outcome",
        "failure_kind",
        "failure",
        "trace_hash",
        "steps",
        "sim_time_ns",
    ] {
        assert_eq!(replay[field], run[field], "{field}");
    }

    // The same file damaged in different ways: a clear error and exit 2, never a panic.
    let text = std::fs::read_to_string(&file).unwrap();
    let decisions_line = text
        .lines()
        .find(|l| l.contains("\"decisions\""))
        .unwrap()
        .to_string();
    let damaged = [
        text[..text.len() / 2].to_string(),
        text.replace("\"canary\"", "\"no-such-scenario\""),
        text.replace(&decisions_line, "  \"decisions\": \"s0/2 zz\","),
        text.replace("\"trace_hash\": \"", "\"trace_hash\": \"0"),
        "not json at all".to_string(),
    ];
    for (i, bad) in damaged.iter().enumerate() {
        let path = dir.join(format!("bad{i}.json"));
        std::fs::write(&path, bad).unwrap();
        let out = weft().arg("replay").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stderr}");
        assert!(
            stderr.starts_with("weft: ") && !stderr.contains("panicked"),
            "case {i}: {stderr}"
        );
    }
}

/// In-process replay round trip on many failing seeds, with strict replay.
#[test]
fn replaying_a_failing_run_reproduces_failure_and_hash() {
    let mut failing = 0;
    for seed in 0..50 {
        let original = Canary.run(&Setup::default(), random(seed)).report;
        let Some(failure) = original.outcome.failure().cloned() else {
            continue;
        };
        failing += 1;
        let replayed: RunReport = Canary
            .run(&Setup::default(), Source::replay(original.log.clone()))
            .report;
        assert_eq!(replayed.divergence, None);
        assert_eq!(replayed.outcome.failure(), Some(&failure));
        assert_eq!(replayed.trace_hash, original.trace_hash);
    }
    assert!(
        failing >= 25,
        "only {failing} of 50 random seeds failed the canary"
    );
}

/// All-zero decisions are the sequential, fault-free run: the canary passes.
#[test]
fn the_canary_passes_when_run_sequentially_and_fails_under_random_scheduling() {
    let sequential = Canary.run(&Setup::default(), Source::zeros()).report;
    assert!(
        sequential.outcome.failure().is_none(),
        "{:?}",
        sequential.outcome
    );
    let mut runs_to_failure = Vec::new();
    for seed in 0..20u64 {
        let found = (0..1000u64).position(|case| {
            let report = Canary
                .run(
                    &Setup::default(),
                    random(weft::strategy::case_seed(seed, case)),
                )
                .report;
            report
                .outcome
                .failure()
                .is_some_and(|f| f.kind == weft::FailureKind::Check)
        });
        runs_to_failure.push(found.expect("random finds the canary within 1,000 runs") + 1);
    }
    assert!(runs_to_failure.iter().all(|&n| n <= 1000));
}

#[test]
fn bad_usage_is_exit_2_with_a_clear_message() {
    let cases: &[&[&str]] = &[
        &["run", "no-such-scenario"],
        &["run", "canary", "--bug", "no-such-bug"],
        &["run", "canary", "--seed", "minus-one"],
        &["run", "canary", "--strategy", "dfs"],
        &["replay", "/no/such/file.json"],
        &["frobnicate"],
        &[],
    ];
    for args in cases {
        let out = weft().args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            !stderr.is_empty() && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    let out = weft()
        .args(["run", "canary", "--bug", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("known bugs"));
}

#[test]
fn list_prints_one_scenario_per_line() {
    let out = weft().arg("list").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let expected: Vec<String> = weft_scenarios::all()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    assert_eq!(names, expected);
}
