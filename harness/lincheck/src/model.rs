//! The [`Model`] trait (a sequential specification) and the [`Operation`] record.

use std::hash::Hash;

/// One operation of a concurrent history: a call by a client and its (possibly unknown) result.
///
/// `call` and `ret` are instants in any monotonic unit (nanoseconds, line numbers, ...). Two
/// operations are ordered in real time when one's `ret` is strictly before the other's `call`;
/// when `ret == call` they count as concurrent.
///
/// An operation whose `output` is `None` has an *unknown outcome* (a timeout, a crashed client):
/// it may take effect at any point after its call, or never. Its `ret` is ignored (treated as
/// +infinity).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operation<I, O> {
    /// The client (process, thread) that issued the operation; used by reports only.
    pub client: u64,
    /// What was asked.
    pub input: I,
    /// What was answered, or `None` when the outcome is unknown.
    pub output: Option<O>,
    /// When the call was issued.
    pub call: u64,
    /// When the answer arrived (ignored when `output` is `None`).
    pub ret: u64,
}

impl<I, O> Operation<I, O> {
    /// An operation with a known result.
    pub fn new(client: u64, input: I, output: O, call: u64, ret: u64) -> Self {
        Operation {
            client,
            input,
            output: Some(output),
            call,
            ret,
        }
    }

    /// An operation whose outcome is unknown: it may take effect at any time after `call`, or never.
    pub fn unknown(client: u64, input: I, call: u64) -> Self {
        Operation {
            client,
            input,
            output: None,
            call,
            ret: u64::MAX,
        }
    }
}

/// A sequential specification of an object, used to decide whether a history is linearizable.
///
/// `step` must be a pure function of its arguments: the checker calls it many times, in any
/// order, for the same state and operation.
pub trait Model {
    /// The object's state. Kept compact: the checker stores each distinct state once and
    /// hashes it at every step, so a small state with a cheap `Hash` makes the search fast.
    type State: Clone + Eq + Hash;
    /// An operation's input (the command).
    type Input;
    /// An operation's output (the result).
    type Output;

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Applies `input` to `state`. With `Some(output)`: returns the next state if the object
    /// could have answered `output`, `None` if not. With `None` (unknown outcome): returns the
    /// state after the operation takes effect (returning `None` means it cannot take effect
    /// from this state).
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether `input` never changes any state (a read). The checker then places such an
    /// operation as soon as it can go next with the state at hand, without trying other orders
    /// there: moving a read earlier, when no operation has to precede it, keeps a
    /// linearization valid. Answering `true` for an operation that can change some state makes
    /// the search unsound. The default, `false`, is always safe.
    fn is_read_only(&self, input: &Self::Input) -> bool {
        let _ = input;
        false
    }

    /// P-compositionality: splits the history into independent parts (for example one per
    /// key) that are checked separately, possibly on several threads. Returns lists of
    /// indices into `ops`; every index must appear in exactly one part. The default is a
    /// single part holding every operation.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// A short human-readable description of an operation, for reports.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        let _ = (input, output);
        String::from("operation")
    }

    /// A short human-readable description of a state, for reports.
    fn describe_state(&self, state: &Self::State) -> String {
        let _ = state;
        String::new()
    }
}
