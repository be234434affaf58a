//! Strategies produce the decision stream when a run is generated rather than replayed.
//!
//! The interface is deliberately small (as shuttle's `Scheduler`): a strategy is told that a
//! new execution begins, picks the next task among the runnable ones, and picks any other
//! bounded value. Both kinds of choice are recorded by [`crate::Source`], so one recorded
//! sequence replays the run whatever strategy produced it.

mod pct;
mod pctcp;
mod random;
mod swarm;

pub use pct::Pct;
pub use pctcp::Pctcp;
pub use random::Random;
pub use swarm::{ClockProfile, LatencyProfile, Swarm, SwarmProfile};

use crate::decision::DecisionKind;
use crate::ids::TaskId;
use serde::{Deserialize, Serialize};

/// A producer of decisions.
pub trait Strategy {
    /// Picks the task to poll next: an index into `options`, which lists the runnable tasks
    /// with the default choice first (the current task if it is still runnable, else the most
    /// recently woken). Called only when there are at least two options.
    fn next_task(&mut self, options: &[TaskId]) -> usize;

    /// Picks a value below `bound` (at least 2) for a decision of the given kind.
    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64;

    /// Picks the latency of a message sent by `sender` (`None`: sent from outside any task),
    /// as one of `bound` (at least 2) buckets from the network's least latency (0) to its
    /// greatest. By default a [`DecisionKind::Latency`] value like any other.
    fn next_latency(&mut self, sender: Option<TaskId>, bound: u64) -> u64 {
        let _ = sender;
        self.next_value(DecisionKind::Latency, bound)
    }

    /// Picks which of the messages due at the same instant is delivered first: an index into
    /// `senders`, each message's sender, in the order they were sent (0, the default, keeps
    /// that order). Called only with at least two messages. By default a
    /// [`DecisionKind::EventOrder`] value like any other.
    fn next_delivery(&mut self, senders: &[Option<TaskId>]) -> usize {
        self.next_value(DecisionKind::EventOrder, senders.len() as u64) as usize
    }

    /// Short name for reports ("random", "pct").
    fn name(&self) -> &'static str;
}

/// How often the generating strategies choose a non-default value for fault-like decisions.
/// Scheduling, latency, random values and generation draws are uniform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Probability that a message is dropped.
    pub drop: f64,
    /// Probability that a message is duplicated.
    pub duplicate: f64,
    /// Probability that a message may overtake earlier ones on its link.
    pub reorder: f64,
    /// Probability that a background fault tick injects a fault.
    pub fault: f64,
    /// Probability that an enabled fault point fires.
    pub buggify: f64,
    /// Probability that a disk operation fails (when disk errors are enabled).
    pub disk_error: f64,
    /// Probability that an unsynced write is lost or torn on a crash.
    pub disk_torn: f64,
    /// Probability that a clock offset or drift is non-zero.
    pub clock: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            drop: 0.02,
            duplicate: 0.02,
            reorder: 0.1,
            fault: 0.3,
            buggify: 0.25,
            disk_error: 0.02,
            disk_torn: 0.5,
            clock: 0.5,
        }
    }
}

impl Rates {
    /// The probability of a non-default value for `kind`, or `None` when the kind is drawn
    /// uniformly.
    pub fn of(&self, kind: DecisionKind) -> Option<f64> {
        Some(match kind {
            DecisionKind::Drop => self.drop,
            DecisionKind::Duplicate => self.duplicate,
            DecisionKind::Reorder => self.reorder,
            DecisionKind::Fault => self.fault,
            DecisionKind::Buggify => self.buggify,
            DecisionKind::DiskError => self.disk_error,
            DecisionKind::DiskTorn => self.disk_torn,
            DecisionKind::ClockOffset | DecisionKind::ClockDrift => self.clock,
            _ => return None,
        })
    }
}

/// Which generating strategy to use, by name (for configuration and the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Uniformly random scheduling ([`Random`]).
    Random,
    /// Probabilistic concurrency testing ([`Pct`]).
    Pct,
    /// Swarm testing: random under a per-case profile of faults, latency and clocks
    /// ([`Swarm`]).
    Swarm,
    /// PCT extended to messages, after PCTCP: one priority per task orders both the tasks and
    /// the messages they send ([`Pctcp`]).
    Pctcp,
}

impl StrategyKind {
    /// Every strategy, by name.
    pub const ALL: [StrategyKind; 4] = [
        StrategyKind::Random,
        StrategyKind::Pct,
        StrategyKind::Swarm,
        StrategyKind::Pctcp,
    ];

    /// Parses "random", "pct", "swarm" or "pctcp".
    pub fn parse(name: &str) -> Option<StrategyKind> {
        match name {
            "random" => Some(StrategyKind::Random),
            "pct" => Some(StrategyKind::Pct),
            "swarm" => Some(StrategyKind::Swarm),
            "pctcp" => Some(StrategyKind::Pctcp),
            _ => None,
        }
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Pct => "pct",
            StrategyKind::Swarm => "swarm",
            StrategyKind::Pctcp => "pctcp",
        }
    }

    /// Builds the strategy for one case.
    pub fn build(
        self,
        seed: u64,
        rates: Rates,
        pct_depth: u32,
        steps_estimate: u64,
    ) -> Box<dyn Strategy> {
        match self {
            StrategyKind::Random => Box::new(Random::new(seed, rates)),
            StrategyKind::Pct => Box::new(Pct::new(seed, rates, pct_depth, steps_estimate)),
            StrategyKind::Swarm => Box::new(Swarm::new(seed, &rates)),
            StrategyKind::Pctcp => Box::new(Pctcp::new(seed, rates, pct_depth, steps_estimate)),
        }
    }

    /// The swarm profile of the case whose seed is `seed`, if this strategy draws one.
    pub fn profile(self, seed: u64, rates: &Rates) -> Option<SwarmProfile> {
        (self == StrategyKind::Swarm).then(|| SwarmProfile::draw(seed, rates))
    }
}

/// Draws a value for a non-scheduling decision from `rng`, honouring `rates`.
#[inline(always)]
pub(crate) fn draw_value(
    rng: &mut rand_chacha::ChaCha8Rng,
    rates: &Rates,
    kind: DecisionKind,
    bound: u64,
) -> u64 {
    use rand_core::RngCore;
    if let Some(p) = rates.of(kind) {
        // Fault-like: default with probability 1 - p, else uniform among the others.
        let roll = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= p {
            return 0;
        }
        return 1 + below(rng, bound - 1);
    }
    below(rng, bound)
}

/// Uniform value below `bound` (Lemire's method, unbiased).
#[inline(always)]
pub(crate) fn below(rng: &mut rand_chacha::ChaCha8Rng, bound: u64) -> u64 {
    use rand_core::RngCore;
    debug_assert!(bound > 0);
    loop {
        let x = rng.next_u64();
        let m = (x as u128) * (bound as u128);
        let low = m as u64;
        // The rejection threshold (2^64 mod bound) is below `bound`: the division is needed
        // only when `low` is too (the same values, without a division at almost every draw).
        if low >= bound || low >= bound.wrapping_neg() % bound {
            return (m >> 64) as u64;
        }
    }
}

/// Derives an independent seed for case `index` from a run seed (splitmix64).
pub fn case_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
