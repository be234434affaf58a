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

    /// The "one more command?" flag of a test case, drawn below `bound` (0 stops).
    pub(crate) fn more(&mut self, bound: u64) -> bool {
        self.source.more(bound)
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
        let roll = self.below(total);
        // A source held to some options (the shrinker's search of small cases) maps the roll
        // onto theirs, in proportion to their weights.
        let allowed = (total <= 64)
            .then(|| self.source.options_allowed(total))
            .flatten();
        let roll = allowed.map_or(roll, |mask| allowed_roll(options, mask, roll, total));
        // The values that start an option (bit v: value v), and the option drawn with its
        // first value: the log records that value, one per option.
        let (mut start, mut starts, mut drawn) = (0u64, 0u64, None);
        for (weight, value) in options.iter().filter(|(w, _)| *w > 0) {
            if start < 64 {
                starts |= 1 << start;
            }
            if drawn.is_none() && roll < start + u64::from(*weight) {
                drawn = Some((start, value));
            }
            start += u64::from(*weight);
        }
        let (first, value) = drawn.expect("roll below total weight");
        if total >= 2 {
            self.source
                .weighted_drawn(first, if total <= 64 { starts } else { 0 });
        }
        value.clone()
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

/// `roll` (below `total`, the options' total weight) carried onto the options whose first
/// values are in `mask`, in proportion to their weights; `roll` itself if none is.
fn allowed_roll<T>(options: &[(u32, T)], mask: u64, roll: u64, total: u64) -> u64 {
    let weights = || {
        options
            .iter()
            .map(|(w, _)| u64::from(*w))
            .filter(|&w| w > 0)
    };
    let allowed = |start: u64| start < 64 && (mask >> start) & 1 == 1;
    let mut start = 0;
    let mut sub = 0;
    for w in weights() {
        sub += if allowed(start) { w } else { 0 };
        start += w;
    }
    if sub == 0 {
        return roll;
    }
    let mut r = roll * sub / total;
    start = 0;
    for w in weights() {
        if allowed(start) {
            if r < w {
                return start + r;
            }
            r -= w;
        }
        start += w;
    }
    unreachable!("a roll below the allowed weight falls in an allowed option")
}

#[cfg(test)]
mod tests {
    use super::Gen;
    use crate::decision::{Decision, DecisionKind, DecisionLog};
    use crate::source::Source;

    fn replaying(values: &[(u64, u64)]) -> Source {
        let decisions = values
            .iter()
            .map(|&(value, bound)| Decision::new(DecisionKind::Generate, bound, value))
            .collect();
        Source::replay_with_fallback(&DecisionLog { decisions })
    }

    #[test]
    fn a_weighted_choice_records_its_option_and_where_options_start() {
        // Values 0-2: a, 3-4: b (z has no weight), 5-9: c.
        let options = [(3, 'a'), (0, 'z'), (2, 'b'), (5, 'c')];
        for (value, option, start) in [(0, 'a', 0), (2, 'a', 0), (4, 'b', 3), (9, 'c', 5)] {
            let mut source = replaying(&[(value, 10)]);
            assert_eq!(Gen::new(&mut source).weighted(&options), option);
            let d = source.log()[0];
            assert_eq!((d.bound, d.value), (10, start), "value {value}");
            let starts: Vec<u64> = (0..10).filter(|&v| d.is_option_start(v)).collect();
            assert_eq!(starts, [0, 3, 5]);
        }
    }

    #[test]
    fn a_weighted_choice_over_more_than_64_values_tries_every_value() {
        let options = [(40, 'a'), (40, 'b')];
        let mut source = replaying(&[(70, 80)]);
        assert_eq!(Gen::new(&mut source).weighted(&options), 'b');
        let d = source.log()[0];
        assert_eq!(d.value, 40);
        assert!((0..80).all(|v| d.is_option_start(v)));
    }

    #[test]
    fn a_source_held_to_some_options_draws_only_those_and_replays_without_the_hold() {
        use crate::strategy::{Rates, StrategyKind};
        use std::collections::BTreeMap;
        // Values 0-2: a, 3-4: b, 5-9: c; held to b and c (first values 3 and 5).
        let options = [(3, 'a'), (2, 'b'), (5, 'c')];
        let only = std::rc::Rc::new(BTreeMap::from([(10u64, (1u64 << 3) | (1 << 5))]));
        let mut seen = Vec::new();
        for seed in 0..200 {
            let strategy = StrategyKind::Random.build(seed, Rates::default(), 1, 1);
            let mut source = Source::generate(strategy).with_options_only(only.clone());
            let drawn = Gen::new(&mut source).weighted(&options);
            assert_ne!(drawn, 'a', "seed {seed}");
            seen.push(drawn);
            let log = DecisionLog {
                decisions: source.log().to_vec(),
            };
            let mut again = Source::replay_with_fallback(&log);
            assert_eq!(
                Gen::new(&mut again).weighted(&options),
                drawn,
                "seed {seed}"
            );
        }
        // In proportion to their weights (2 : 5), roughly.
        let b = seen.iter().filter(|&&c| c == 'b').count();
        assert!((30..=90).contains(&b), "{b} of 200 draws took b");
    }

    #[test]
    fn other_draws_are_options_of_their_own() {
        let mut source = replaying(&[(2, 5), (0, 1)]);
        let mut g = Gen::new(&mut source);
        assert_eq!(g.below(5), 2);
        assert_eq!(g.weighted(&[(1, 'x')]), 'x'); // one option: nothing drawn
        assert_eq!(source.log().len(), 1);
        assert!((0..5).all(|v| source.log()[0].is_option_start(v)));
    }
}
