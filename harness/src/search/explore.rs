//! Bounded exhaustive search: every interleaving of one test case, depth first, with a bound on
//! preemptions (as CHESS and shuttle's DFS scheduler).
//!
//! The case is fixed by its generation decisions. Every other decision but scheduling is held
//! at its default (no fault, minimum latency, FIFO delivery), and the scheduling decisions
//! form a tree: each run is a path, replayed by position up to the branch being tried and
//! default after it. The search visits each path once, in depth-first order, taking a path
//! only while it has at most `preemptions` non-default scheduling choices (a preemption of the
//! running task, or waking a task other than the most recently woken one). With no bound on
//! runs, it reports exactly how many distinct interleavings there are under that bound.

use super::Run;
use crate::decision::{Decision, DecisionKind, DecisionLog};
use crate::source::Source;

/// Bounds of an exploration.
#[derive(Clone, Debug)]
pub struct ExploreConfig {
    /// Most non-default scheduling choices per run.
    pub preemptions: u32,
    /// Most runs; the search stops there and says it did not cover the tree.
    pub runs_max: u64,
    /// Stop at the first failing run instead of counting every interleaving.
    pub stop_at_failure: bool,
}

/// What an exploration did.
#[derive(Debug)]
pub struct Explored {
    /// Interleavings run (each a distinct path of scheduling decisions).
    pub runs: u64,
    /// Whether every interleaving within the bound was run.
    pub complete: bool,
    /// Runs that failed.
    pub failures: u64,
    /// The first failing run, in depth-first order (the fewest preemptions come first along
    /// each branch).
    pub first_failure: Option<Run>,
    /// The 1-based index of that run.
    pub first_failure_at: Option<u64>,
}

/// Explores every interleaving of the case whose generation decisions are `generation`.
pub fn explore(
    run: &dyn Fn(Source) -> Run,
    generation: &[Decision],
    cfg: &ExploreConfig,
) -> Explored {
    explore_until(run, generation, cfg, &|r| r.failed())
}

/// As [`explore`], counting as failures the runs `failing` accepts (the shrinker's: the same
/// kind of failure as the one it shrinks).
pub(crate) fn explore_until(
    run: &dyn Fn(Source) -> Run,
    generation: &[Decision],
    cfg: &ExploreConfig,
    failing: &dyn Fn(&Run) -> bool,
) -> Explored {
    let generation: Vec<Decision> = generation
        .iter()
        .filter(|d| d.kind.is_generation())
        .map(|d| Decision::new(d.kind, d.bound, d.value))
        .collect();
    let mut prefix: Vec<Decision> = Vec::new();
    let mut out = Explored {
        runs: 0,
        complete: false,
        failures: 0,
        first_failure: None,
        first_failure_at: None,
    };
    while out.runs < cfg.runs_max {
        let log = DecisionLog {
            decisions: generation.iter().chain(&prefix).copied().collect(),
        };
        let this = run(Source::replay_with_fallback(&log));
        out.runs += 1;
        if failing(&this) {
            out.failures += 1;
            if out.first_failure.is_none() {
                out.first_failure_at = Some(out.runs);
                out.first_failure = Some(this.clone());
                if cfg.stop_at_failure {
                    return out;
                }
            }
        }
        let taken: Vec<Decision> = (this.report.log.decisions.iter())
            .filter(|d| !d.kind.is_generation())
            .map(|d| Decision::new(d.kind, d.bound, d.value))
            .collect();
        match next_path(&taken, cfg.preemptions) {
            Some(next) => prefix = next,
            None => {
                out.complete = true;
                return out;
            }
        }
    }
    out
}

/// The next path in depth-first order after `taken`: the deepest scheduling decision that can
/// take its next option within the bound, with everything before it as it was.
fn next_path(taken: &[Decision], preemptions: u32) -> Option<Vec<Decision>> {
    let mut used: Vec<u32> = Vec::with_capacity(taken.len() + 1);
    let mut count = 0;
    for d in taken {
        used.push(count);
        if d.kind == DecisionKind::Schedule && d.value != 0 {
            count += 1;
        }
    }
    (0..taken.len()).rev().find_map(|i| {
        let d = taken[i];
        let next = d.value + 1;
        let within = used[i] < preemptions;
        (d.kind == DecisionKind::Schedule && next < d.bound && within).then(|| {
            let mut path = taken[..i].to_vec();
            path.push(Decision::new(d.kind, d.bound, next));
            path
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: u64, bound: u64) -> Decision {
        Decision::new(DecisionKind::Schedule, bound, value)
    }

    #[test]
    fn next_path_backtracks_to_the_deepest_open_choice() {
        let taken = [s(0, 2), s(0, 3)];
        assert_eq!(next_path(&taken, 2), Some(vec![s(0, 2), s(1, 3)]));
        let taken = [s(0, 2), s(2, 3)];
        assert_eq!(next_path(&taken, 2), Some(vec![s(1, 2)]));
        assert_eq!(next_path(&[s(1, 2), s(2, 3)], 2), None);
    }

    #[test]
    fn the_bound_counts_earlier_choices() {
        // One preemption already taken: a second one is not within a bound of 1.
        let taken = [s(1, 2), s(0, 2)];
        assert_eq!(next_path(&taken, 1), None);
        assert_eq!(next_path(&taken, 2), Some(vec![s(1, 2), s(1, 2)]));
    }
}
