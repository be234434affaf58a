//! What a person reads: one snapshot per planted bug of the pool, store (`kv`) and Raft
//! scenarios and per race of the scenarios that must fail, each the shrunk counterexample of the first search (seed 0, random
//! strategy; PCT for the ABA race, which random rarely finds), and every decision said in the
//! system's terms. A changed snapshot is a changed story: review it (`cargo insta review`, or
//! `INSTA_UPDATE=always` and `git diff`).

use weft::strategy::StrategyKind;
use weft_scenarios::bug_table::{search_with, Search};

/// Searches `scenario` (with `bug` on, if any) and returns the shrunk form.
fn shrunk(scenario: &str, bug: Option<&str>, strategy: StrategyKind, seed: u64) -> Search {
    let s = weft_scenarios::find(scenario).expect("bundled scenario");
    let bugs: Vec<&str> = bug.into_iter().collect();
    let (search, _) = search_with(s, &bugs, strategy, seed, 20_000);
    assert!(
        search.cases_to_failure.is_some(),
        "{scenario} {bug:?} not found within 20,000 cases (seed {seed})"
    );
    assert!(
        !search.cut_short,
        "{scenario} {bug:?}: the shrink was cut short"
    );
    search
}

/// The interleaving's lines: each says what happened in the system, never a bare task or
/// option number or a generic "decision".
fn assert_told_in_system_terms(form: &str) {
    let decisions = form
        .lines()
        .skip_while(|l| !l.starts_with("Interleaving:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "));
    for line in decisions {
        let generic = [
            "option ",
            "decision took",
            "task N",
            "task #",
            " took value",
        ];
        assert!(
            !generic.iter().any(|g| line.contains(g)),
            "a decision told in the harness's terms, not the system's: {line}"
        );
    }
}

fn snapshot(name: &str, scenario: &str, bug: Option<&str>, strategy: StrategyKind) {
    let search = shrunk(scenario, bug, strategy, 0);
    let form = search.form.expect("a found bug has a form");
    assert_told_in_system_terms(&form);
    insta::assert_snapshot!(name, without_registry_paths(&form));
}

/// `form` with the machine's cargo registry folder replaced by `$CARGO_REGISTRY` (a panic
/// inside a dependency names its source file there, as `raft-0.7.0/src/raft.rs:640`).
fn without_registry_paths(form: &str) -> String {
    let marker = "/registry/src/";
    let mut out = String::new();
    let mut rest = form;
    while let Some(at) = rest.find(marker) {
        let start = rest[..at].rfind(['(', ' ']).map_or(0, |i| i + 1);
        let after = &rest[at + marker.len()..];
        let end = at + marker.len() + after.find('/').map_or(after.len(), |i| i + 1);
        out.push_str(&rest[..start]);
        out.push_str("$CARGO_REGISTRY/");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

macro_rules! bug_snapshots {
    ($($test:ident: $scenario:literal, $bug:literal;)*) => {
        $(
            #[test]
            fn $test() {
                snapshot($bug, $scenario, Some($bug), StrategyKind::Random);
            }
        )*
    };
}

bug_snapshots! {
    serve_expired_waiter: "pool", "serve-expired-waiter";
    exit_shrinks_capacity: "pool", "exit-shrinks-capacity";
    unknown_exit_wipes_monitors: "pool", "unknown-exit-wipes-monitors";
    spurious_exit_counted: "pool", "spurious-exit-counted";
    foreign_checkin_accepted: "pool", "foreign-checkin-accepted";
    replacement_wrong_owner: "pool", "replacement-wrong-owner";
    checkin_drops_worker: "pool", "checkin-drops-worker";
    stale_count_on_owner_down: "pool", "stale-count-on-owner-down";
    checkout_timeout_leak: "pool", "checkout-timeout-leak";
    waiter_monitor_leak: "pool", "waiter-monitor-leak";
    queue_checkin_race: "pool-queue", "queue-checkin-race";
    queue_restart_stuck: "pool-queue", "queue-restart-stuck";
    last_write_wins: "kv", "last-write-wins";
    ack_before_quorum: "kv", "ack-before-quorum";
    prune_youngest: "kv", "prune-youngest";
    actor_reuse_after_disk_loss: "kv", "actor-reuse-after-disk-loss";
    read_repair_drops_siblings: "kv", "read-repair-drops-siblings";
    volatile_hints: "kv", "volatile-hints";
    handoff_drops_tombstones: "kv", "handoff-drops-tombstones";
    replica_clock_siblings: "kv", "replica-clock-siblings";
    apply_before_commit: "raft", "apply-before-commit";
    vote_not_persisted: "raft", "vote-not-persisted";
}

#[test]
fn every_planted_bug_has_a_snapshot_test() {
    let tested = include_str!("counterexamples.rs");
    for scenario in ["pool", "pool-queue", "kv", "raft"] {
        for bug in weft_scenarios::find(scenario).unwrap().bugs() {
            assert!(
                tested.contains(&format!("\"{scenario}\", \"{}\";", bug.name)),
                "no snapshot test for {scenario}'s {}",
                bug.name
            );
        }
    }
}

#[test]
fn canary_race() {
    snapshot("canary", "canary", None, StrategyKind::Random);
}

#[test]
fn aba_race() {
    snapshot("aba", "aba", None, StrategyKind::Pct);
}

/// The ABA race shrinks to the same story from every seed: a pop that read the head is held
/// back while the other client pops that node and pushes a new value into it.
#[test]
fn the_aba_race_shrinks_to_one_form_whatever_the_seed() {
    let forms: std::collections::BTreeSet<String> = (0..6)
        .map(|seed| shrunk("aba", None, StrategyKind::Pct, seed).form.unwrap())
        .collect();
    assert_eq!(forms.len(), 1, "{forms:#?}");
    let form = forms.into_iter().next().unwrap();
    assert!(form.contains("Commands (4 in all, 2 clients"), "{form}");
    assert!(form.contains("except for 1 decision"), "{form}");
}
