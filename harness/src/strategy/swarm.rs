//! Swarm testing (Groce et al., ISSTA 2012; FoundationDB's and TigerBeetle's simulators): each
//! case first draws, from its own seed, a *profile*: which fault kinds are on and at what rate,
//! the latency profile and the clock skew. The case then runs like [`super::Random`] (uniform
//! scheduling) under that profile. Turning some faults off in a case lets
//! the others reach states that a run with every fault on at once rarely gets to (a crash
//! every few milliseconds hides the bug that needs a long quiet stretch).
//!
//! The profile is a pure function of the case seed ([`SwarmProfile::draw`]), so a search stays a
//! pure function of (seed, case index); reports print it first and replay files store it.

use super::{below, Rates, Strategy};
use crate::decision::DecisionKind;
use crate::ids::TaskId;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How message latencies are drawn among the configured buckets (0: the minimum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyProfile {
    /// Every bucket equally likely (as the random strategy).
    Uniform,
    /// Always the minimum latency.
    Minimum,
    /// Mostly fast: each step up the buckets half as likely as the one below.
    Fast,
    /// Mostly slow: each step down from the maximum half as likely as the one above.
    Slow,
    /// The minimum, except one message in ten, which takes any latency (a long tail).
    Tail,
}

/// How node clocks are skewed (offset and drift), among the configured buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockProfile {
    /// No skew at all.
    Off,
    /// Half the nodes get the smallest step, ahead or behind.
    Small,
    /// Every node gets the largest step, ahead or behind.
    Large,
    /// Half the nodes get any step (as the random strategy).
    Uniform,
}

/// One case's swarm profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwarmProfile {
    /// Rates of the fault-like decisions; 0 means the kind is off in this case.
    pub rates: Rates,
    /// Message latencies.
    pub latency: LatencyProfile,
    /// Clock offsets and drifts.
    pub clock: ClockProfile,
}

/// Mixes the profile's draws away from the strategy's own stream.
const PROFILE_SALT: u64 = 0x5357_4152_4d21; // "SWARM!"

/// The fault-like rates a profile switches, with their names in reports.
fn rate_fields(rates: &mut Rates) -> [(&'static str, &mut f64); 7] {
    [
        ("drop", &mut rates.drop),
        ("duplicate", &mut rates.duplicate),
        ("reorder", &mut rates.reorder),
        ("fault ticks", &mut rates.fault),
        ("fault points", &mut rates.buggify),
        ("disk errors", &mut rates.disk_error),
        ("torn writes", &mut rates.disk_torn),
    ]
}

impl SwarmProfile {
    /// The profile of the case whose seed is `seed`, around the base rates `base`: each fault
    /// kind is on with probability 1/2, at a quarter, one or four times its base rate.
    pub fn draw(seed: u64, base: &Rates) -> SwarmProfile {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ PROFILE_SALT);
        let mut rates = base.clone();
        for (_, rate) in rate_fields(&mut rates) {
            let on = below(&mut rng, 2) == 1;
            let scale = [0.25, 1.0, 4.0][below(&mut rng, 3) as usize];
            *rate = if on { (*rate * scale).min(0.9) } else { 0.0 };
        }
        let latency = [
            LatencyProfile::Uniform,
            LatencyProfile::Minimum,
            LatencyProfile::Fast,
            LatencyProfile::Slow,
            LatencyProfile::Tail,
        ][below(&mut rng, 5) as usize];
        let clock = [
            ClockProfile::Off,
            ClockProfile::Small,
            ClockProfile::Large,
            ClockProfile::Uniform,
        ][below(&mut rng, 4) as usize];
        rates.clock = match clock {
            ClockProfile::Off => 0.0,
            ClockProfile::Large => 1.0,
            ClockProfile::Small | ClockProfile::Uniform => 0.5,
        };
        SwarmProfile {
            rates,
            latency,
            clock,
        }
    }
}

impl fmt::Display for SwarmProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rates = self.rates.clone();
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for (name, rate) in rate_fields(&mut rates) {
            if *rate > 0.0 {
                on.push(format!("{name} {}%", (*rate * 1000.0).round() / 10.0));
            } else {
                off.push(name);
            }
        }
        let list = |v: Vec<String>| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        write!(
            f,
            "faults on: {}; off: {}; latency: {}; clock skew: {}",
            list(on),
            list(off.into_iter().map(str::to_string).collect()),
            serde_json::to_value(self.latency)
                .expect("serializes")
                .as_str()
                .unwrap_or("?"),
            serde_json::to_value(self.clock)
                .expect("serializes")
                .as_str()
                .unwrap_or("?"),
        )
    }
}

/// The swarm strategy: random scheduling and values under one case's [`SwarmProfile`].
pub struct Swarm {
    rng: ChaCha8Rng,
    profile: SwarmProfile,
}

impl Swarm {
    /// The swarm strategy of the case whose seed is `seed`, around the base rates `base`.
    pub fn new(seed: u64, base: &Rates) -> Swarm {
        Swarm {
            rng: ChaCha8Rng::seed_from_u64(seed),
            profile: SwarmProfile::draw(seed, base),
        }
    }

    /// This case's profile.
    pub fn profile(&self) -> &SwarmProfile {
        &self.profile
    }

    /// A roll in [0, 1).
    fn roll(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// How many steps a geometric(1/2) draw takes, at most `max`.
    fn geometric(&mut self, max: u64) -> u64 {
        let mut steps = 0;
        while steps < max && self.rng.next_u64() & 1 == 1 {
            steps += 1;
        }
        steps
    }

    fn latency(&mut self, bound: u64) -> u64 {
        match self.profile.latency {
            LatencyProfile::Uniform => below(&mut self.rng, bound),
            LatencyProfile::Minimum => 0,
            LatencyProfile::Fast => self.geometric(bound - 1),
            LatencyProfile::Slow => bound - 1 - self.geometric(bound - 1),
            LatencyProfile::Tail => {
                if self.roll() < 0.1 {
                    below(&mut self.rng, bound)
                } else {
                    0
                }
            }
        }
    }

    /// A clock offset or drift: 0 none, 1..=b ahead, b+1..=2b behind (`bound` = 2b + 1).
    fn clock(&mut self, bound: u64) -> u64 {
        let buckets = (bound - 1) / 2;
        if buckets == 0 || self.roll() >= self.profile.rates.clock {
            return 0;
        }
        let behind = below(&mut self.rng, 2) * buckets;
        match self.profile.clock {
            ClockProfile::Off => 0,
            ClockProfile::Small => 1 + behind,
            ClockProfile::Large => buckets + behind,
            ClockProfile::Uniform => 1 + below(&mut self.rng, bound - 1),
        }
    }
}

impl Strategy for Swarm {
    fn next_task(&mut self, options: &[TaskId]) -> usize {
        below(&mut self.rng, options.len() as u64) as usize
    }

    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        match kind {
            DecisionKind::Latency => self.latency(bound),
            DecisionKind::ClockOffset | DecisionKind::ClockDrift => self.clock(bound),
            _ => super::draw_value(&mut self.rng, &self.profile.rates, kind, bound),
        }
    }

    fn name(&self) -> &'static str {
        "swarm"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_a_function_of_the_seed_and_profiles_differ() {
        let base = Rates::default();
        let profiles: Vec<SwarmProfile> = (0..64).map(|s| SwarmProfile::draw(s, &base)).collect();
        assert_eq!(profiles[7], SwarmProfile::draw(7, &base));
        let drop_off = profiles.iter().filter(|p| p.rates.drop == 0.0).count();
        assert!((10..54).contains(&drop_off), "drop off in {drop_off} of 64");
        let latencies: std::collections::BTreeSet<String> = profiles
            .iter()
            .map(|p| format!("{:?}", p.latency))
            .collect();
        assert_eq!(latencies.len(), 5, "every latency profile is drawn");
    }

    #[test]
    fn values_stay_below_their_bound_and_off_kinds_stay_default() {
        for seed in 0..200 {
            let mut s = Swarm::new(seed, &Rates::default());
            for kind in DecisionKind::ALL {
                for bound in [2, 3, 5, 9] {
                    let v = s.next_value(kind, bound);
                    assert!(v < bound, "{kind:?} {v} >= {bound}");
                    if kind == DecisionKind::Drop && s.profile.rates.drop == 0.0 {
                        assert_eq!(v, 0);
                    }
                }
            }
            let options = [0, 1, 2].map(TaskId::from_index);
            assert!(s.next_task(&options) < 3);
        }
    }
}
