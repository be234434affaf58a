//! Semantics of the checker: unknown outcomes, parts, bounds and errors.

use std::time::Duration;
use weft_lincheck::{
    check, CheckConfig, CheckError, Model, Operation, PartOutcome, UnknownReason, Verdict,
};

/// Registers indexed by key: `(key, Some(v))` writes v, `(key, None)` reads; outputs are what a
/// read saw. Split per key when `per_key`.
struct Registers {
    per_key: bool,
}

type Op = Operation<(u8, Option<i64>), i64>;

impl Model for Registers {
    type State = [i64; 4];
    type Input = (u8, Option<i64>);
    type Output = i64;

    fn init(&self) -> [i64; 4] {
        [0; 4]
    }

    fn step(&self, s: &[i64; 4], input: &(u8, Option<i64>), out: Option<&i64>) -> Option<[i64; 4]> {
        let k = usize::from(input.0);
        match (input.1, out) {
            (Some(v), _) => {
                let mut next = *s;
                next[k] = v;
                Some(next)
            }
            (None, Some(seen)) => (s[k] == *seen).then_some(*s),
            (None, None) => Some(*s),
        }
    }

    fn partition(&self, ops: &[Op]) -> Vec<Vec<usize>> {
        if !self.per_key {
            return vec![(0..ops.len()).collect()];
        }
        (0..4u8)
            .map(|k| {
                (0..ops.len())
                    .filter(|&i| ops[i].input.0 == k)
                    .collect::<Vec<_>>()
            })
            .filter(|p| !p.is_empty())
            .collect()
    }

    fn describe_state(&self, s: &[i64; 4]) -> String {
        format!("{s:?}")
    }
}

fn write(client: u64, key: u8, v: i64, call: u64, ret: u64) -> Op {
    Operation::new(client, (key, Some(v)), 0, call, ret)
}
fn read(client: u64, key: u8, seen: i64, call: u64, ret: u64) -> Op {
    Operation::new(client, (key, None), seen, call, ret)
}

fn verdict(ops: &[Op], per_key: bool) -> Verdict {
    check(&Registers { per_key }, ops, &CheckConfig::default())
        .unwrap()
        .verdict
}

#[test]
fn unknown_outcomes_may_happen_late_or_never() {
    // A write with unknown outcome, called at 0: a read much later may see it or not.
    let w = Operation::unknown(0, (0, Some(5)), 0);
    assert_eq!(
        verdict(&[w.clone(), read(1, 0, 5, 10, 11)], false),
        Verdict::Linearizable
    );
    assert_eq!(
        verdict(&[w.clone(), read(1, 0, 0, 10, 11)], false),
        Verdict::Linearizable
    );
    // Once seen, it has happened: a later read cannot see the old value again.
    let seen_then_lost = [w.clone(), read(1, 0, 5, 10, 11), read(1, 0, 0, 12, 13)];
    assert_eq!(verdict(&seen_then_lost, false), Verdict::NotLinearizable);
    // It cannot take effect before its call.
    let before_call = [
        Operation::unknown(0, (0, Some(5)), 20),
        read(1, 0, 5, 10, 11),
    ];
    assert_eq!(verdict(&before_call, false), Verdict::NotLinearizable);
    // A known-outcome write must take effect before its return.
    let must_happen = [write(0, 0, 5, 0, 1), read(1, 0, 0, 10, 11)];
    assert_eq!(verdict(&must_happen, false), Verdict::NotLinearizable);
    // Touching intervals are concurrent.
    let touching = [write(0, 0, 5, 0, 10), read(1, 0, 0, 10, 11)];
    assert_eq!(verdict(&touching, false), Verdict::Linearizable);
}

#[test]
fn a_success_gives_a_linearization_and_a_violation_the_longest_prefix() {
    let ops = [
        write(0, 0, 1, 0, 10),
        read(1, 0, 1, 1, 2),
        read(2, 0, 0, 3, 4),
        write(3, 0, 2, 5, 6),
    ];
    let r = check(&Registers { per_key: false }, &ops, &CheckConfig::default()).unwrap();
    assert_eq!(r.verdict, Verdict::NotLinearizable);
    assert_eq!(r.parts[0].linearization, vec![0, 1]);
    assert_eq!(r.parts[0].unplaced, vec![2]);

    let ops = [
        write(0, 0, 1, 0, 10),
        read(1, 0, 0, 1, 2),
        read(2, 0, 1, 3, 4),
        write(3, 0, 2, 5, 6),
    ];
    let r = check(&Registers { per_key: false }, &ops, &CheckConfig::default()).unwrap();
    assert!(r.is_linearizable());
    assert_eq!(r.parts[0].linearization, vec![1, 0, 2, 3]);
}

#[test]
fn parts_are_checked_separately_and_reported_in_order() {
    let mut ops = Vec::new();
    for k in 0..4u8 {
        let t = u64::from(k) * 100;
        ops.push(write(0, k, 7, t, t + 10));
        ops.push(read(1, k, if k == 2 { 3 } else { 7 }, t + 20, t + 30));
    }
    let config = CheckConfig {
        threads: 2,
        stop_on_violation: false,
        ..CheckConfig::default()
    };
    let r = check(&Registers { per_key: true }, &ops, &config).unwrap();
    assert_eq!(r.verdict, Verdict::NotLinearizable);
    let outcomes: Vec<PartOutcome> = r.parts.iter().map(|p| p.outcome).collect();
    use PartOutcome::*;
    assert_eq!(
        outcomes,
        vec![Linearizable, Linearizable, NotLinearizable, Linearizable]
    );
    assert_eq!(r.parts[2].ops, vec![4, 5]);
    assert_eq!(r.parts[2].unplaced, vec![5]);
    // Splitting does not change verdicts here: the keys are independent.
    assert_eq!(verdict(&ops, false), Verdict::NotLinearizable);
}

/// Many concurrent writes of distinct values and reads that contradict each other at the end:
/// exponential without pruning (a hard, not linearizable history).
fn hard_history(n: u64) -> Vec<Op> {
    let mut ops: Vec<Op> = (0..n).map(|i| write(i, 0, i as i64 + 1, 0, 1000)).collect();
    ops.extend((0..n).map(|i| Operation::unknown(100 + i, (1, Some(i as i64)), 0)));
    ops.push(read(500, 0, -1, 2000, 2001));
    ops
}

#[test]
fn bounds_give_unknown_instead_of_hanging_or_exhausting_memory() {
    let ops = hard_history(22);
    let timeout = CheckConfig {
        timeout: Some(Duration::from_millis(200)),
        ..CheckConfig::default()
    };
    let r = check(&Registers { per_key: false }, &ops, &timeout).unwrap();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.unknown_reason(), Some(UnknownReason::Timeout));
    assert!(r.elapsed < Duration::from_secs(5), "{:?}", r.elapsed);

    let memory = CheckConfig {
        max_memory_bytes: 1 << 20,
        ..CheckConfig::default()
    };
    let r = check(&Registers { per_key: false }, &ops, &memory).unwrap();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.unknown_reason(), Some(UnknownReason::MemoryLimit));
    assert!(
        r.parts[0].stats.cache_bytes <= 1 << 20,
        "{}",
        r.parts[0].stats.cache_bytes
    );
}

#[test]
fn invalid_inputs_are_errors() {
    let backwards = [write(0, 0, 1, 10, 5)];
    let e = check(
        &Registers { per_key: false },
        &backwards,
        &CheckConfig::default(),
    )
    .unwrap_err();
    assert_eq!(e, CheckError::ReturnBeforeCall { op: 0 });

    struct Bad;
    impl Model for Bad {
        type State = ();
        type Input = ();
        type Output = ();
        fn init(&self) {}
        fn step(&self, _: &(), _: &(), _: Option<&()>) -> Option<()> {
            Some(())
        }
        fn partition(&self, _: &[Operation<(), ()>]) -> Vec<Vec<usize>> {
            vec![vec![0, 1], vec![1]]
        }
    }
    let ops = [
        Operation::new(0, (), (), 0, 1),
        Operation::new(1, (), (), 0, 1),
    ];
    let e = check(&Bad, &ops, &CheckConfig::default()).unwrap_err();
    assert!(matches!(e, CheckError::InvalidPartition(_)), "{e}");
    assert!(
        check(&Registers { per_key: true }, &[], &CheckConfig::default())
            .unwrap()
            .is_linearizable()
    );
}
