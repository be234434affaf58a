//! Bounded exhaustive search: every interleaving of one test case, depth first, with a bound on
//! preemptions (as CHESS and shuttle's DFS scheduler).
//!
//! The case is fixed by its generation decisions. Every other decision but scheduling (and,
//! when asked, messages' latencies) is held at its default (no fault, minimum latency, FIFO
//! delivery), and the searched decisions form a tree: each run is a path, replayed by position
//! up to the branch being tried and default after it. The search visits each path once, in
//! depth-first order, taking a path only while it has at most `preemptions` non-default
//! searched choices (a preemption of the running task, waking a task other than the most
//! recently woken one, a message slower than the minimum). With no bound on runs, it reports
//! exactly how many distinct interleavings there are under that bound.

use super::Run;
use crate::decision::{Decision, DecisionKind, DecisionLog};
use crate::source::Source;
use std::collections::HashMap; // hygiene: allowed (looked up, never iterated)

/// Bounds of an exploration.
#[derive(Clone, Debug)]
pub struct ExploreConfig {
    /// Most non-default searched choices per run (scheduling choices, and latencies when
    /// `latency_options` is above 0).
    pub preemptions: u32,
    /// Also branch on messages' latencies, from the minimum up to this bucket (0: latencies
    /// stay at the minimum). Each message slower than the minimum counts against
    /// `preemptions`: a message delayed is one deviation from the default run, as a
    /// preemption is. PULSE's scheduler varies delivery order the same way.
    pub latency_options: u64,
    /// Also branch on the order of events due at the same simulated instant (two timers, a
    /// timer and a message); each order other than first-in first-out counts against
    /// `preemptions`.
    pub event_order: bool,
    /// Branch on which task runs next (CHESS's choices). Off, tasks run in the default order
    /// and only the other choices asked for are searched.
    pub schedule: bool,
    /// Also branch on injected faults at the first `fault_ticks` fault ticks (0: none): each
    /// tick's action and its target, and the fate of a crashed node's unsynced writes. A
    /// fault, a target other than the first node and a write lost or torn each count
    /// against `preemptions`.
    pub fault_ticks: u32,
    /// Most runs; the search stops there and says it did not cover the tree.
    pub runs_max: u64,
    /// Stop at the first failing run instead of counting every interleaving.
    pub stop_at_failure: bool,
}

/// What an exploration did.
#[derive(Debug)]
pub struct Explored {
    /// Interleavings run (each a distinct path of searched decisions).
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
    explore_inner(run, generation, cfg, failing, None)
}

/// The passing runs of earlier explorations of one case (same generation decisions, same
/// `latency_options`, `event_order`, `schedule` and `fault_ticks`): for each path of searched decisions, the decisions
/// its run took. A search with a larger bound walks the same tree further, so the paths
/// within the smaller bound need not run again.
#[derive(Default)]
pub(crate) struct Memo {
    taken: HashMap<Vec<Decision>, Vec<Decision>>, // hygiene: allowed (looked up, never iterated)
}

/// As [`explore_until`], reusing and extending `memo`, which must come from explorations of
/// the same case with the same `latency_options`, `event_order`, `schedule` and
/// `fault_ticks`. Remembered paths are
/// walked without running and do not count against `runs_max`.
pub(crate) fn explore_remembering(
    run: &dyn Fn(Source) -> Run,
    generation: &[Decision],
    cfg: &ExploreConfig,
    failing: &dyn Fn(&Run) -> bool,
    memo: &mut Memo,
) -> Explored {
    explore_inner(run, generation, cfg, failing, Some(memo))
}

/// The depth-first walk; with a memo, remembered paths are not run again and every passing
/// run is remembered (without one, nothing is kept: an exploration of 100,000 runs would
/// hold every run's decisions).
fn explore_inner(
    run: &dyn Fn(Source) -> Run,
    generation: &[Decision],
    cfg: &ExploreConfig,
    failing: &dyn Fn(&Run) -> bool,
    mut memo: Option<&mut Memo>,
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
        let remembered = memo.as_ref().and_then(|m| m.taken.get(&prefix));
        let taken = match remembered {
            Some(taken) => taken.clone(),
            None => {
                let log = DecisionLog {
                    decisions: generation.iter().chain(&prefix).copied().collect(),
                };
                let this = run(Source::replay_with_fallback(&log));
                out.runs += 1;
                let taken: Vec<Decision> = (this.report.log.decisions.iter())
                    .filter(|d| !d.kind.is_generation())
                    .map(|d| Decision::new(d.kind, d.bound, d.value))
                    .collect();
                if failing(&this) {
                    out.failures += 1;
                    if out.first_failure.is_none() {
                        out.first_failure_at = Some(out.runs);
                        out.first_failure = Some(this);
                        if cfg.stop_at_failure {
                            return out;
                        }
                    }
                } else if let Some(memo) = memo.as_mut() {
                    memo.taken.insert(prefix.clone(), taken.clone());
                }
                taken
            }
        };
        match next_path(&taken, cfg) {
            Some(next) => prefix = next,
            None => {
                out.complete = true;
                return out;
            }
        }
    }
    out
}

/// Whether the search branches on `d`, the `ticks`-th fault tick's decision or one after it
/// (counting from 0), and the most options it takes there.
fn searched(d: &Decision, ticks: u32, cfg: &ExploreConfig) -> Option<u64> {
    match d.kind {
        DecisionKind::Schedule if cfg.schedule => Some(d.bound),
        DecisionKind::Fault if ticks < cfg.fault_ticks => Some(d.bound),
        DecisionKind::FaultTarget | DecisionKind::DiskTorn if cfg.fault_ticks > 0 => Some(d.bound),
        DecisionKind::EventOrder if cfg.event_order => Some(d.bound),
        DecisionKind::Latency if cfg.latency_options > 0 => {
            Some(d.bound.min(cfg.latency_options.saturating_add(1)))
        }
        _ => None,
    }
}

/// The next path in depth-first order after `taken`: the deepest searched decision that can
/// take its next option within the bound, with everything before it as it was.
fn next_path(taken: &[Decision], cfg: &ExploreConfig) -> Option<Vec<Decision>> {
    let mut used: Vec<(u32, u32)> = Vec::with_capacity(taken.len() + 1);
    let (mut count, mut ticks) = (0, 0);
    for d in taken {
        used.push((count, ticks));
        if d.value != 0 && searched(d, ticks, cfg).is_some() {
            count += 1;
        }
        ticks += u32::from(d.kind == DecisionKind::Fault);
    }
    (0..taken.len()).rev().find_map(|i| {
        let d = taken[i];
        let next = d.value + 1;
        let within = used[i].0 < cfg.preemptions;
        let options = searched(&d, used[i].1, cfg)?;
        (next < options && within).then(|| {
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

    fn l(value: u64, bound: u64) -> Decision {
        Decision::new(DecisionKind::Latency, bound, value)
    }

    fn cfg(preemptions: u32, latency_options: u64) -> ExploreConfig {
        ExploreConfig {
            preemptions,
            latency_options,
            event_order: false,
            schedule: true,
            fault_ticks: 0,
            runs_max: u64::MAX,
            stop_at_failure: false,
        }
    }

    /// Three tasks append their numbers to a shared list in two steps each; the run's
    /// outcome is the order, as a failure when task 0 finished first (the default order does
    /// not: the search must preempt).
    fn three_tasks(source: Source) -> Run {
        use crate::{task, Config, Sim};
        use std::{cell::RefCell, rc::Rc};
        let sim = Sim::new(Config::default(), source);
        let (report, _) = sim.run(async {
            let order = Rc::new(RefCell::new(Vec::new()));
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    let order = order.clone();
                    task::spawn(async move {
                        task::yield_now().await;
                        order.borrow_mut().push(i);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            let first = order.borrow()[0];
            assert!(first != 0, "task 0 finished first");
        });
        Run::plain(report)
    }

    #[test]
    fn a_memo_walks_the_smaller_bounds_paths_without_running_them_again() {
        let none: &[Decision] = &[];
        let counting = |preemptions| ExploreConfig {
            stop_at_failure: false,
            ..cfg(preemptions, 0)
        };
        let never = |_: &Run| false;
        let plain: Vec<Explored> = (0..=3)
            .map(|p| explore_until(&three_tasks, none, &counting(p), &never))
            .collect();
        assert!(plain[3].complete && plain[1].runs < plain[3].runs);
        let mut memo = Memo::default();
        let mut walked = 0;
        for (p, plain) in plain.iter().enumerate() {
            let remembered =
                explore_remembering(&three_tasks, none, &counting(p as u32), &never, &mut memo);
            // Only the paths the smaller bound did not take run.
            assert_eq!(remembered.runs, plain.runs - walked, "bound {p}");
            assert!(remembered.complete);
            walked = plain.runs;
        }
        // Stopping at the first failure finds the same run with or without the memo.
        let failing = |r: &Run| r.failed();
        let mut memo = Memo::default();
        for p in 0..=3 {
            let stop = cfg(p, 0);
            let plain = explore_until(&three_tasks, none, &stop, &failing);
            let remembered = explore_remembering(&three_tasks, none, &stop, &failing, &mut memo);
            let hash = |e: &Explored| e.first_failure.as_ref().map(|r| r.report.trace_hash);
            assert_eq!(hash(&plain), hash(&remembered), "bound {p}");
            assert_eq!(plain.first_failure.is_some(), p > 0, "bound {p}");
        }
    }

    #[test]
    fn next_path_backtracks_to_the_deepest_open_choice() {
        let taken = [s(0, 2), s(0, 3)];
        assert_eq!(next_path(&taken, &cfg(2, 0)), Some(vec![s(0, 2), s(1, 3)]));
        let taken = [s(0, 2), s(2, 3)];
        assert_eq!(next_path(&taken, &cfg(2, 0)), Some(vec![s(1, 2)]));
        assert_eq!(next_path(&[s(1, 2), s(2, 3)], &cfg(2, 0)), None);
    }

    #[test]
    fn the_bound_counts_earlier_choices() {
        // One preemption already taken: a second one is not within a bound of 1.
        let taken = [s(1, 2), s(0, 2)];
        assert_eq!(next_path(&taken, &cfg(1, 0)), None);
        assert_eq!(next_path(&taken, &cfg(2, 0)), Some(vec![s(1, 2), s(1, 2)]));
    }

    #[test]
    fn latencies_are_searched_only_when_asked_up_to_their_bucket_and_count_against_the_bound() {
        let taken = [s(0, 2), l(0, 10)];
        // Not asked: only the scheduling choice branches.
        assert_eq!(next_path(&taken, &cfg(1, 0)), Some(vec![s(1, 2)]));
        // Asked: the latency is the deepest open choice, then stops at its last bucket.
        assert_eq!(next_path(&taken, &cfg(1, 2)), Some(vec![s(0, 2), l(1, 10)]));
        let taken = [s(0, 2), l(2, 10)];
        assert_eq!(next_path(&taken, &cfg(1, 2)), Some(vec![s(1, 2)]));
        // A delayed message uses the bound as a preemption does.
        let taken = [l(1, 10), s(0, 2)];
        assert_eq!(next_path(&taken, &cfg(1, 1)), None);
        assert_eq!(next_path(&taken, &cfg(2, 1)), Some(vec![l(1, 10), s(1, 2)]));
    }

    #[test]
    fn faults_are_searched_only_at_the_first_ticks_asked_and_count_against_the_bound() {
        let f = |value| Decision::new(DecisionKind::Fault, 4, value);
        let target = |value| Decision::new(DecisionKind::FaultTarget, 3, value);
        let lost = |value| Decision::new(DecisionKind::DiskTorn, 3, value);
        let faults = |preemptions, fault_ticks| ExploreConfig {
            schedule: false,
            fault_ticks,
            ..cfg(preemptions, 0)
        };
        // Not asked: nothing branches (the scheduling choice is off too).
        assert_eq!(next_path(&[s(0, 2), f(0), f(0)], &faults(1, 0)), None);
        // One tick: only the first tick's fault.
        assert_eq!(
            next_path(&[s(0, 2), f(0), f(0)], &faults(1, 1)),
            Some(vec![s(0, 2), f(1)])
        );
        assert_eq!(
            next_path(&[s(0, 2), f(0), f(0)], &faults(1, 2)),
            Some(vec![s(0, 2), f(0), f(1)])
        );
        // A crash's target and the fate of its writes branch, each against the bound.
        let crashed = [f(1), target(0), lost(0), f(0)];
        assert_eq!(
            next_path(&crashed, &faults(2, 1)),
            Some(vec![f(1), target(0), lost(1)])
        );
        assert_eq!(next_path(&crashed, &faults(1, 1)), Some(vec![f(2)]));
    }

    #[test]
    fn simultaneous_events_are_reordered_only_when_asked() {
        let e = |value| Decision::new(DecisionKind::EventOrder, 3, value);
        let taken = [s(0, 2), e(0)];
        assert_eq!(next_path(&taken, &cfg(1, 0)), Some(vec![s(1, 2)]));
        let with_order = ExploreConfig {
            event_order: true,
            ..cfg(1, 0)
        };
        assert_eq!(next_path(&taken, &with_order), Some(vec![s(0, 2), e(1)]));
        assert_eq!(
            next_path(&[s(0, 2), e(2)], &with_order),
            Some(vec![s(1, 2)])
        );
    }
}
