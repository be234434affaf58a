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
    rng: ChaCha8Rng,
    rates: Rates,
    /// Priority per task index; higher runs first. `u64::MAX` marks "not yet seen".
    priorities: Vec<u64>,
    /// Steps (scheduling decisions) at which the running task is demoted, ascending.
    change_points: Vec<u64>,
    step: u64,
    /// Next priority below all others, handed out at change points.
    low_water: u64,
}

const UNSEEN: u64 = u64::MAX;

impl Pct {
    /// A PCT strategy for bug depth `depth` (at least 1) over runs of about `steps_estimate`
    /// scheduling decisions.
    pub fn new(seed: u64, rates: Rates, depth: u32, steps_estimate: u64) -> Pct {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = steps_estimate.max(1);
        let mut change_points: Vec<u64> =
            (1..depth.max(1)).map(|_| 1 + below(&mut rng, k)).collect();
        change_points.sort_unstable();
        Pct {
            rng,
            rates,
            priorities: Vec::new(),
            change_points,
            step: 0,
            low_water: u64::from(depth.max(1)),
        }
    }

    fn priority(&mut self, task: TaskId) -> u64 {
        let i = task.index();
        if i >= self.priorities.len() {
            self.priorities.resize(i + 1, UNSEEN);
        }
        if self.priorities[i] == UNSEEN {
            // Random distinct-enough priority above the demotion range.
            self.priorities[i] = 1 << 32 | below(&mut self.rng, 1 << 31) << 1 | (i as u64 & 1);
        }
        self.priorities[i]
    }
}

impl Pct {
    fn highest(&mut self, options: &[TaskId]) -> usize {
        let mut best = 0;
        let mut best_priority = 0;
        for (index, &task) in options.iter().enumerate() {
            let p = self.priority(task);
            if index == 0 || p > best_priority {
                best = index;
                best_priority = p;
            }
        }
        best
    }
}

impl Strategy for Pct {
    fn next_task(&mut self, options: &[TaskId]) -> usize {
        self.step += 1;
        let best = self.highest(options);
        if self.change_points.first() != Some(&self.step) {
            return best;
        }
        // A change point: demote the task that would run, then choose again.
        self.change_points.remove(0);
        self.low_water = self.low_water.saturating_sub(1);
        self.priorities[options[best].index()] = self.low_water;
        self.highest(options)
    }

    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        draw_value(&mut self.rng, &self.rates, kind, bound)
    }

    fn name(&self) -> &'static str {
        "pct"
    }
}
