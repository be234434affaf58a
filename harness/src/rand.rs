//! Random values for code under test. Every value is a recorded decision (value 0 is the
//! smallest), so runs replay exactly and shrinking pushes values toward 0.

use crate::decision::DecisionKind;
use crate::sim::world::with;

/// A value in `0..bound` (0 when `bound` is 0 or 1).
pub fn below(bound: u64) -> u64 {
    with(|w| {
        let drawn = w.decide(DecisionKind::Rand, bound);
        let value = drawn.value;
        w.note(drawn, |w| {
            let task = w.here().1;
            let task = task.map_or_else(|| "no task".to_string(), |t| w.task_name(t));
            format!("{task} drew random value {value} (of 0..{bound})")
        });
        value
    })
}

/// A value in `range` (its start when the range is empty).
pub fn range(range: std::ops::Range<u64>) -> u64 {
    range.start + below(range.end.saturating_sub(range.start))
}

/// A fair coin (false is the default).
pub fn bool() -> bool {
    below(2) == 1
}

/// Shuffles `items` (Fisher-Yates; all-zero decisions keep the order).
pub fn shuffle<T>(items: &mut [T]) {
    for i in 0..items.len() {
        let j = i + below((items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
}

/// A `rand_core::RngCore` whose every output is a decision, for libraries that take an RNG.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimRng;

impl rand_core::RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        below(1 << 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        below(u64::MAX)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
