//! The `kv-growth` scenario: the store grown from 11 to 80 nodes under writes, crashes and
//! partitions passes on a few seeds, really ends with 80 members in a balanced ring, and runs
//! the same twice. `WEFT_SLOW=1` runs more seeds.

use weft::internals::determinism::compare;
use weft::internals::EventKind;
use weft::strategy::{Rates, StrategyKind};
use weft::{Detail, Source};
use weft_scenarios::kv_growth::{grow, Grown, NODES_END, PARTITIONS};

fn random(seed: u64) -> Source {
    Source::generate(StrategyKind::Random.build(seed, Rates::default(), 3, 200))
}

fn seeds() -> u64 {
    if std::env::var_os("WEFT_SLOW").is_some() {
        10
    } else {
        2
    }
}

/// Runs seed `seed` and returns what it ended with; panics with the failure if it failed.
fn passes(seed: u64) -> Grown {
    let (run, grown) = grow(random(seed), Detail::Quiet);
    if let Some(failure) = run.report.outcome.failure() {
        panic!("seed {seed}: {failure:?}");
    }
    let grown = grown.unwrap_or_else(|| panic!("seed {seed}: the growth did not finish"));
    eprintln!("seed {seed}: {grown:?}, {} steps", run.report.steps);
    grown
}

#[test]
fn the_cluster_grows_to_80_balanced_members_without_losing_writes() {
    for seed in 0..seeds() {
        let grown = passes(seed);
        assert_eq!(grown.members, NODES_END, "seed {seed}: {grown:?}");
        let fair = PARTITIONS as f64 / NODES_END as f64;
        assert!(
            grown.owned_max as f64 <= 1.5 * fair,
            "seed {seed}: {grown:?}"
        );
        assert!(
            grown.owned_min > 0,
            "seed {seed}: a member owns nothing: {grown:?}"
        );
        assert!(
            grown.acked > 100,
            "seed {seed}: the clients wrote little: {grown:?}"
        );
        assert!(
            grown.ring_version as usize >= NODES_END - 11,
            "seed {seed}: one ring change per join at least: {grown:?}"
        );
    }
}

/// Two runs of one seed give the same trace; and in it, members crashed (or paused) and
/// links were cut during the growth.
#[test]
fn a_growth_run_is_deterministic_under_crashes_and_partitions() {
    let run = || grow(random(7), Detail::Explain);
    let ((a, grown_a), (b, grown_b)) = (run(), run());
    if let Some(divergence) = compare(&a.report, &b.report) {
        panic!("{divergence}");
    }
    assert_eq!(a.report.trace_hash, b.report.trace_hash);
    assert_eq!(grown_a, grown_b);
    let grown = grown_a.expect("the run passes");
    assert!(grown.restarts > 0, "no member went down: {grown:?}");
    let trace = a
        .report
        .trace
        .as_ref()
        .expect("an explained run keeps its trace");
    let cuts = trace
        .iter()
        .filter(|e| e.kind == EventKind::Link && e.b == 1)
        .count();
    assert!(cuts > 0, "no link was cut");
}
