//! The worker pool as a sequential specification, for checking recorded histories
//! (`weft check-history --model pool`): a pool of capacity `size + max_overflow` whose
//! checkouts hand out workers that are not already out, or answer `full` only when the pool is
//! at capacity, and whose checkins succeed exactly for workers that are out.
//!
//! Which idle worker a checkout returns is not specified (any worker not out will do). A
//! checkout of unknown outcome (a timeout) may have taken some worker: the state counts such
//! anonymous workers, and a later checkin of a worker not known to be out may return one.

use std::collections::BTreeSet;
use weft_lincheck::{Model, Value};

/// An operation on the pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PoolOp {
    /// Take a worker.
    Checkout,
    /// Give a worker back.
    Checkin(Value),
}

/// What a pool operation answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PoolAnswer {
    /// A checkout got this worker.
    Worker(Value),
    /// A checkout found the pool at capacity.
    Full,
    /// A checkin was accepted.
    CheckedIn,
    /// A checkin was refused (not a checked-out worker).
    Refused,
}

/// The pool's state: the workers known to be out, and how many more were taken by checkouts
/// whose outcome is unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PoolState {
    out: BTreeSet<Value>,
    anonymous: usize,
}

/// A pool of `capacity` workers (size plus maximum overflow).
#[derive(Clone, Copy, Debug)]
pub struct PoolSpec {
    /// Most workers out at once.
    pub capacity: usize,
}

impl Model for PoolSpec {
    type State = PoolState;
    type Input = PoolOp;
    type Output = PoolAnswer;

    fn init(&self) -> PoolState {
        PoolState::default()
    }

    fn step(
        &self,
        s: &PoolState,
        input: &PoolOp,
        output: Option<&PoolAnswer>,
    ) -> Option<PoolState> {
        let out = s.out.len() + s.anonymous;
        match (input, output) {
            (PoolOp::Checkout, Some(PoolAnswer::Worker(w))) => {
                if out >= self.capacity || s.out.contains(w) {
                    return None;
                }
                let mut next = s.clone();
                next.out.insert(w.clone());
                Some(next)
            }
            (PoolOp::Checkout, Some(PoolAnswer::Full)) => (out >= self.capacity).then(|| s.clone()),
            (PoolOp::Checkout, None) => {
                // Took some worker, if there was one to take.
                let mut next = s.clone();
                if out < self.capacity {
                    next.anonymous += 1;
                }
                Some(next)
            }
            (PoolOp::Checkin(w), Some(PoolAnswer::CheckedIn) | None) => {
                let mut next = s.clone();
                if next.out.remove(w) {
                    Some(next)
                } else if next.anonymous > 0 {
                    next.anonymous -= 1;
                    Some(next)
                } else if output.is_none() {
                    Some(next) // a refused checkin of unknown outcome changes nothing
                } else {
                    None
                }
            }
            (PoolOp::Checkin(w), Some(PoolAnswer::Refused)) => {
                (!s.out.contains(w)).then(|| s.clone())
            }
            _ => None,
        }
    }

    fn describe_operation(&self, input: &PoolOp, output: Option<&PoolAnswer>) -> String {
        let op = match input {
            PoolOp::Checkout => "checkout".to_string(),
            PoolOp::Checkin(w) => format!("checkin({w})"),
        };
        match output {
            Some(PoolAnswer::Worker(w)) => format!("{op} → {w}"),
            Some(PoolAnswer::Full) => format!("{op} → full"),
            Some(PoolAnswer::CheckedIn) => format!("{op} → ok"),
            Some(PoolAnswer::Refused) => format!("{op} → refused"),
            None => format!("{op} → ?"),
        }
    }

    fn describe_state(&self, s: &PoolState) -> String {
        let items: Vec<String> = s.out.iter().map(ToString::to_string).collect();
        let anonymous = if s.anonymous > 0 {
            format!(" + {} unknown", s.anonymous)
        } else {
            String::new()
        };
        format!(
            "out: #{{{}}}{anonymous} of {}",
            items.join(" "),
            self.capacity
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_lincheck::{check, CheckConfig, Operation, Verdict};

    fn verdict(capacity: usize, ops: &[Operation<PoolOp, PoolAnswer>]) -> Verdict {
        check(&PoolSpec { capacity }, ops, &CheckConfig::default())
            .unwrap()
            .verdict
    }

    fn w(n: i64) -> Value {
        Value::Int(n)
    }

    #[test]
    fn sequential_histories() {
        use PoolAnswer::*;
        let op = |c, i, o, t| Operation::new(c, i, o, t, t + 1);
        // A pool of one: checkout, full, checkin, checkout again.
        let ok = [
            op(0, PoolOp::Checkout, Worker(w(1)), 0),
            op(0, PoolOp::Checkout, Full, 2),
            op(0, PoolOp::Checkin(w(1)), CheckedIn, 4),
            op(0, PoolOp::Checkout, Worker(w(1)), 6),
        ];
        assert_eq!(verdict(1, &ok), Verdict::Linearizable);
        // serve-expired-waiter's symptom: after the checkin the pool still says full.
        let leaked = [
            op(0, PoolOp::Checkout, Worker(w(1)), 0),
            op(0, PoolOp::Checkin(w(1)), CheckedIn, 2),
            op(0, PoolOp::Checkout, Full, 4),
        ];
        assert_eq!(verdict(1, &leaked), Verdict::NotLinearizable);
        // A worker handed out twice.
        let twice = [
            op(0, PoolOp::Checkout, Worker(w(1)), 0),
            op(1, PoolOp::Checkout, Worker(w(1)), 2),
        ];
        assert_eq!(verdict(2, &twice), Verdict::NotLinearizable);
        // A foreign checkin accepted.
        let foreign = [op(0, PoolOp::Checkin(w(9)), CheckedIn, 0)];
        assert_eq!(verdict(1, &foreign), Verdict::NotLinearizable);
        assert_eq!(
            verdict(1, &[op(0, PoolOp::Checkin(w(9)), Refused, 0)]),
            Verdict::Linearizable
        );
    }

    #[test]
    fn concurrency_and_unknown_outcomes() {
        use PoolAnswer::*;
        // Two overlapping checkouts of a pool of one: one gets the worker, the other full.
        let overlapping = [
            Operation::new(0, PoolOp::Checkout, Full, 0, 10),
            Operation::new(1, PoolOp::Checkout, Worker(w(1)), 1, 9),
        ];
        assert_eq!(verdict(1, &overlapping), Verdict::Linearizable);
        // A checkout that timed out may have taken the only worker: a later full is explained.
        let timed_out = [
            Operation::unknown(0, PoolOp::Checkout, 0),
            Operation::new(1, PoolOp::Checkout, Full, 5, 6),
        ];
        assert_eq!(verdict(1, &timed_out), Verdict::Linearizable);
        // ... and its worker can come back through a checkin of a worker never seen out.
        let returned = [
            Operation::unknown(0, PoolOp::Checkout, 0),
            Operation::new(0, PoolOp::Checkin(w(7)), CheckedIn, 5, 6),
            Operation::new(1, PoolOp::Checkout, Worker(w(7)), 7, 8),
        ];
        assert_eq!(verdict(1, &returned), Verdict::Linearizable);
    }
}
