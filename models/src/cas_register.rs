//! A compare-and-set register (the etcd model of Jepsen's and Porcupine's tests).

use crate::register::{describe, step_read_write, RegisterOp, RegisterResult};
use std::fmt::Display;
use std::hash::Hash;
use weft_lincheck::Model;

/// A register with reads, writes and compare-and-set, starting from `init`.
///
/// A compare-and-set `Cas { from, to }` answered [`RegisterResult::Ok`] requires the value
/// `from` and sets `to`; answered [`RegisterResult::Failed`] it requires another value and
/// changes nothing; with an unknown outcome it sets `to` if the value is `from`.
#[derive(Clone, Debug, Default)]
pub struct CasRegister<V> {
    /// The initial value.
    pub init: V,
}

impl<V> CasRegister<V> {
    /// A register holding `init` at first.
    pub fn new(init: V) -> Self {
        CasRegister { init }
    }
}

impl<V: Clone + Eq + Hash + Display> Model for CasRegister<V> {
    type State = V;
    type Input = RegisterOp<V>;
    type Output = RegisterResult<V>;

    fn init(&self) -> V {
        self.init.clone()
    }

    fn step(
        &self,
        state: &V,
        input: &RegisterOp<V>,
        output: Option<&RegisterResult<V>>,
    ) -> Option<V> {
        let RegisterOp::Cas { from, to } = input else {
            return step_read_write(state, input, output);
        };
        match output {
            Some(RegisterResult::Ok) => (state == from).then(|| to.clone()),
            Some(RegisterResult::Failed) => (state != from).then(|| state.clone()),
            Some(RegisterResult::Read(_)) => None,
            None if state == from => Some(to.clone()),
            None => Some(state.clone()),
        }
    }

    fn is_read_only(&self, input: &RegisterOp<V>) -> bool {
        matches!(input, RegisterOp::Read)
    }

    fn describe_operation(
        &self,
        input: &RegisterOp<V>,
        output: Option<&RegisterResult<V>>,
    ) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &V) -> String {
        state.to_string()
    }
}
