//! Uniformly random scheduling: every runnable task is equally likely to run next.

use super::{below, draw_value, Rates, Strategy};
use crate::decision::DecisionKind;
use crate::ids::TaskId;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// Picks uniformly among runnable tasks; fault-like decisions follow [`Rates`].
pub struct Random {
    rng: ChaCha8Rng,
    rates: Rates,
}

impl Random {
    /// A random strategy seeded with `seed`.
    pub fn new(seed: u64, rates: Rates) -> Random {
        Random {
            rng: ChaCha8Rng::seed_from_u64(seed),
            rates,
        }
    }
}

impl Strategy for Random {
    fn next_task(&mut self, options: &[TaskId]) -> usize {
        below(&mut self.rng, options.len() as u64) as usize
    }

    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        draw_value(&mut self.rng, &self.rates, kind, bound)
    }

    // The default hooks' values (`next_value` of a kind drawn uniformly: latency and event
    // order have no rate), without the trip through `draw_value`.
    fn next_latency(&mut self, _sender: Option<TaskId>, bound: u64) -> u64 {
        below(&mut self.rng, bound)
    }

    fn next_delivery(&mut self, senders: &[Option<TaskId>]) -> usize {
        below(&mut self.rng, senders.len() as u64) as usize
    }

    fn name(&self) -> &'static str {
        "random"
    }
}
