//! Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010).
//!
//! Every task gets a random distinct priority when it is first seen; the highest-priority
//! runnable task always runs. At `depth - 1` change points, steps drawn uniformly from the
//! expected run length, the running task drops below every other priority. A bug of depth `d`
//! is found with probability at least 1/(n k^(d-1)) per run, for n tasks and k steps.

use super::{below, draw_value, Rates, Strategy};
use crate::decision::DecisionKind;
use crate::ids::TaskId;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// The PCT strategy.
pub struct Pct {
    priorities: Priorities,
    rates: Rates,
}

/// PCT's state, shared with [`super::Pctcp`]: a random priority per task, and the change
/// points at which the task concerned drops below every other.
pub(super) struct Priorities {
    pub(super) rng: ChaCha8Rng,
    /// Priority per task index; higher runs first. `u64::MAX` marks "not yet seen".
    priorities: Vec<u64>,
    /// Steps at which a task is demoted, ascending.
    change_points: Vec<u64>,
    step: u64,
    /// Next priority below all others, handed out at change points.
    low_water: u64,
    /// How many tasks have a priority.
    seen: u64,
}

const UNSEEN: u64 = u64::MAX;

impl Priorities {
    /// Priorities for bug depth `depth` (at least 1) over runs of about `steps_estimate` steps.
    pub(super) fn new(seed: u64, depth: u32, steps_estimate: u64) -> Priorities {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = steps_estimate.max(1);
        let mut change_points: Vec<u64> =
            (1..depth.max(1)).map(|_| 1 + below(&mut rng, k)).collect();
        change_points.sort_unstable();
        Priorities {
            rng,
            priorities: Vec::new(),
            change_points,
            step: 0,
            low_water: u64::from(depth.max(1)),
            seen: 0,
        }
    }

    /// The priority of `task`, drawn when it is first seen.
    pub(super) fn priority(&mut self, task: TaskId) -> u64 {
        let i = task.index();
        if i >= self.priorities.len() {
            self.priorities.resize(i + 1, UNSEEN);
        }
        if self.priorities[i] == UNSEEN {
            // Random distinct-enough priority above the demotion range.
            self.priorities[i] = 1 << 32 | below(&mut self.rng, 1 << 31) << 1 | (i as u64 & 1);
            self.seen += 1;
        }
        self.priorities[i]
    }

    /// How many tasks with a priority rank above `task`, and how many have one.
    pub(super) fn rank(&mut self, task: TaskId) -> (u64, u64) {
        let p = self.priority(task);
        let above = self
            .priorities
            .iter()
            .filter(|&&q| q != UNSEEN && q > p)
            .count() as u64;
        (above, self.seen)
    }

    /// The index of the highest-priority task among `options` (the first on a tie).
    pub(super) fn highest(&mut self, options: &[TaskId]) -> usize {
        self.highest_of(options.iter().map(|&task| Some(task)))
    }

    /// As [`Priorities::highest`], where `None` (no task) ranks below every task.
    pub(super) fn highest_of(&mut self, options: impl Iterator<Item = Option<TaskId>>) -> usize {
        let mut best = 0;
        let mut best_priority = 0;
        for (index, task) in options.enumerate() {
            let p = task.map_or(0, |task| self.priority(task));
            if index == 0 || p > best_priority {
                best = index;
                best_priority = p;
            }
        }
        best
    }

    /// Counts a step; at every change point due now (two may be due at once), the task
    /// `target` names drops below every other priority.
    pub(super) fn step(&mut self, mut target: impl FnMut(&mut Priorities) -> TaskId) {
        self.step += 1;
        while self
            .change_points
            .first()
            .is_some_and(|&at| at <= self.step)
        {
            self.change_points.remove(0);
            let task = target(self);
            self.priority(task);
            self.low_water = self.low_water.saturating_sub(1);
            self.priorities[task.index()] = self.low_water;
        }
    }

    /// PCT's choice among runnable tasks: the highest priority, after every change point due
    /// now has demoted the task that would run.
    pub(super) fn next_task(&mut self, options: &[TaskId]) -> usize {
        self.step(|p| options[p.highest(options)]);
        self.highest(options)
    }
}

impl Pct {
    /// A PCT strategy for bug depth `depth` (at least 1) over runs of about `steps_estimate`
    /// scheduling decisions.
    pub fn new(seed: u64, rates: Rates, depth: u32, steps_estimate: u64) -> Pct {
        Pct {
            priorities: Priorities::new(seed, depth, steps_estimate),
            rates,
        }
    }
}

impl Strategy for Pct {
    fn next_task(&mut self, options: &[TaskId]) -> usize {
        self.priorities.next_task(options)
    }

    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        draw_value(&mut self.priorities.rng, &self.rates, kind, bound)
    }

    fn name(&self) -> &'static str {
        "pct"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_change_points_at_the_same_step_both_demote() {
        let mut pct = Pct::new(1, Rates::default(), 3, 10);
        pct.priorities.change_points = vec![2, 2];
        let options = [0, 1, 2].map(TaskId::from_index);
        let first = pct.next_task(&options);
        let second = pct.next_task(&options);
        assert!(
            pct.priorities.change_points.is_empty(),
            "the second change point was lost"
        );
        // Two demotions at step 2: the first choice and the next highest both drop, so the
        // task chosen now is the one that was lowest before.
        assert_ne!(second, first);
        let lowest_before = (0..3).find(|&i| i != first && pct.priorities.priorities[i] > 1 << 31);
        assert_eq!(Some(second), lowest_before);
    }
}
