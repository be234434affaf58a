//! Knossos's mutex: `acquire` requires it free and takes it, `release` requires it held and
//! frees it (any client may release).

use weft_lincheck::Model;

/// An operation on the mutex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexOp {
    /// Take the mutex; it must be free.
    Acquire,
    /// Free the mutex; it must be held.
    Release,
}

/// A mutex, initially free.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutex;

impl Model for Mutex {
    /// Whether the mutex is held.
    type State = bool;
    type Input = MutexOp;
    type Output = ();

    fn init(&self) -> bool {
        false
    }

    /// The same rule for known and unknown outcomes: an unknown acquire that takes effect
    /// requires the mutex free, like a known one (or it never took effect).
    fn step(&self, held: &bool, input: &MutexOp, _output: Option<&()>) -> Option<bool> {
        match input {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn describe_operation(&self, input: &MutexOp, output: Option<&()>) -> String {
        let done = if output.is_some() { "" } else { " → ?" };
        match input {
            MutexOp::Acquire => format!("acquire{done}"),
            MutexOp::Release => format!("release{done}"),
        }
    }

    fn describe_state(&self, held: &bool) -> String {
        if *held { "held" } else { "free" }.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_lincheck::{check, CheckConfig, Operation, Verdict};

    fn verdict(ops: &[Operation<MutexOp, ()>]) -> Verdict {
        check(&Mutex, ops, &CheckConfig::default()).unwrap().verdict
    }

    #[test]
    fn two_holders_at_once_are_not_linearizable() {
        let ops = [
            Operation::new(0, MutexOp::Acquire, (), 0, 1),
            Operation::new(1, MutexOp::Acquire, (), 2, 3),
        ];
        assert_eq!(verdict(&ops), Verdict::NotLinearizable);
        // An unknown release in between makes it possible.
        let ops = [
            Operation::new(0, MutexOp::Acquire, (), 0, 1),
            Operation::unknown(0, MutexOp::Release, 1),
            Operation::new(1, MutexOp::Acquire, (), 2, 3),
        ];
        assert_eq!(verdict(&ops), Verdict::Linearizable);
    }
}
