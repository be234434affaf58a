//! The fixed cost of a check: an empty history and a 6-operation one, with `check` (default
//! configuration) and with a reused [`Checker`]. Criterion-free: `cargo bench -p weft-lincheck
//! --bench fixed_cost` prints the mean time per check, the best of 10 rounds.

use std::hint::black_box;
use std::time::Instant;
use weft_lincheck::{check, CheckConfig, Checker, Model, Operation};

struct Register;

impl Model for Register {
    type State = i64;
    type Input = Option<i64>; // Some(v): write v; None: read
    type Output = i64;

    fn init(&self) -> i64 {
        0
    }

    fn step(&self, state: &i64, input: &Option<i64>, output: Option<&i64>) -> Option<i64> {
        match (input, output) {
            (Some(v), _) => Some(*v),
            (None, Some(seen)) => (seen == state).then_some(*state),
            (None, None) => Some(*state),
        }
    }
}

fn small() -> Vec<Operation<Option<i64>, i64>> {
    vec![
        Operation::new(0, Some(1), 0, 0, 10),
        Operation::new(1, None, 1, 2, 5),
        Operation::new(2, Some(2), 0, 3, 12),
        Operation::new(1, None, 2, 13, 15),
        Operation::new(0, None, 2, 14, 16),
        Operation::new(2, Some(3), 0, 17, 20),
    ]
}

/// Nanoseconds per call of `f`: the best of 10 rounds of `n` calls.
fn time(n: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..10 {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(started.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    best
}

fn main() {
    let config = CheckConfig::default();
    let empty: Vec<Operation<Option<i64>, i64>> = Vec::new();
    let six = small();
    let mut checker = Checker::new(config.clone());
    let rows = [
        (
            "check, empty history",
            time(20_000, || {
                black_box(check(&Register, black_box(&empty), &config).unwrap());
            }),
        ),
        (
            "check, 6 operations",
            time(20_000, || {
                black_box(check(&Register, black_box(&six), &config).unwrap());
            }),
        ),
        (
            "Checker (reused), empty history",
            time(20_000, || {
                black_box(checker.check(&Register, black_box(&empty)).unwrap());
            }),
        ),
        (
            "Checker (reused), 6 operations",
            time(20_000, || {
                black_box(checker.check(&Register, black_box(&six)).unwrap());
            }),
        ),
    ];
    println!("| case | µs per check (best of 10 rounds) |");
    println!("|---|---:|");
    for (name, ns) in rows {
        println!("| {name} | {:.2} |", ns / 1e3);
    }
}
