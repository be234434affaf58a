//! Generators: every choice is a `Generate` decision, so shrinking lowers it toward 0.

use crate::decision::DecisionKind;
use crate::source::Source;

/// The source of generated values for [`super::StateMachine::command`]. Smaller decision
/// values mean simpler values: the first option, the lower number, `false`.
pub struct Gen<'a> {
    source: &'a mut Source,
}

impl<'a> Gen<'a> {
    pub(crate) fn new(source: &'a mut Source) -> Gen<'a> {
        Gen { source }
    }

    /// A value in `0..bound` (0 when `bound` is 0 or 1).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.source.value(DecisionKind::Generate, bound)
    }

    /// A value in `range`.
    pub fn range(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.below(range.end.saturating_sub(range.start))
    }

    /// A coin (false is simpler).
    pub fn bool(&mut self) -> bool {
        self.below(2) == 1
    }

    /// One of `items` (the first is simplest). Panics on an empty slice.
    pub fn choose<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        assert!(!items.is_empty(), "weft: Gen::choose on an empty slice");
        &items[self.below(items.len() as u64) as usize]
    }

    /// One of `options`, with probability proportional to its weight (as QuickCheck's
    /// `frequency`). Shrinks toward the first option. Panics if every weight is 0.
    pub fn weighted<T: Clone>(&mut self, options: &[(u32, T)]) -> T {
        let total: u64 = options.iter().map(|(w, _)| u64::from(*w)).sum();
        assert!(total > 0, "weft: Gen::weighted needs a positive weight");
        let mut roll = self.below(total);
        for (weight, value) in options {
            if roll < u64::from(*weight) {
                return value.clone();
            }
            roll -= u64::from(*weight);
        }
        unreachable!("roll below total weight")
    }

    /// A value from a `proptest` strategy, drawn deterministically: the strategy's random
    /// generator is seeded from one decision. Needs the cargo feature `proptest`.
    #[cfg(feature = "proptest")]
    pub fn proptest<S: proptest::strategy::Strategy>(&mut self, strategy: &S) -> S::Value {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let seed = self.below(u64::MAX);
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        loop {
            // A strategy may reject values (filters); each retry uses the same runner's stream.
            if let Ok(tree) = strategy.new_tree(&mut runner) {
                return tree.current();
            }
        }
    }

    /// A value of a `quickcheck::Arbitrary` type, drawn deterministically with generator
    /// size `size`: quickcheck's generator is seeded from one decision. Needs the cargo feature
    /// `quickcheck`.
    #[cfg(feature = "quickcheck")]
    pub fn arbitrary<T: quickcheck::Arbitrary>(&mut self, size: usize) -> T {
        let seed = self.below(u64::MAX);
        let mut g = quickcheck::Gen::from_size_and_seed(size, seed);
        T::arbitrary(&mut g)
    }

    /// Number of `Generate` decisions drawn so far in this run.
    pub(crate) fn position(&self) -> usize {
        self.source.generated()
    }
}
