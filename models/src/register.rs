//! A read/write register, and the operation types shared with the
//! [compare-and-set register](crate::cas_register).

use std::fmt::Display;
use std::hash::Hash;
use weft_lincheck::Model;

/// An operation on a register.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp<V> {
    /// Read the value.
    Read,
    /// Replace the value.
    Write(V),
    /// Replace the value by `to` if it is `from` (only the compare-and-set register has it).
    Cas {
        /// The expected value.
        from: V,
        /// The new value.
        to: V,
    },
}

/// The result of an operation on a register.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterResult<V> {
    /// A read returned this value.
    Read(V),
    /// A write or a compare-and-set succeeded.
    Ok,
    /// A compare-and-set found another value (no effect); a write failed (no effect).
    Failed,
}

/// A register: reads return the last value written, starting from `init`.
#[derive(Clone, Debug, Default)]
pub struct Register<V> {
    /// The initial value.
    pub init: V,
}

impl<V> Register<V> {
    /// A register holding `init` at first.
    pub fn new(init: V) -> Self {
        Register { init }
    }
}

/// Reads and writes, common to both registers.
pub(crate) fn step_read_write<V: Clone + Eq>(
    state: &V,
    input: &RegisterOp<V>,
    output: Option<&RegisterResult<V>>,
) -> Option<V> {
    match (input, output) {
        (RegisterOp::Read, Some(RegisterResult::Read(v))) => (v == state).then(|| state.clone()),
        (RegisterOp::Read, Some(RegisterResult::Ok) | None) => Some(state.clone()),
        (RegisterOp::Write(v), Some(RegisterResult::Ok) | None) => Some(v.clone()),
        (RegisterOp::Write(_), Some(RegisterResult::Failed)) => Some(state.clone()),
        _ => None,
    }
}

/// Describes an operation on a register.
pub(crate) fn describe<V: Display>(
    input: &RegisterOp<V>,
    output: Option<&RegisterResult<V>>,
) -> String {
    let result = match output {
        None => "?".to_string(),
        Some(RegisterResult::Read(v)) => v.to_string(),
        Some(RegisterResult::Ok) => "ok".to_string(),
        Some(RegisterResult::Failed) => "failed".to_string(),
    };
    match input {
        RegisterOp::Read => format!("read → {result}"),
        RegisterOp::Write(v) => match output {
            Some(RegisterResult::Ok) => format!("write({v})"),
            _ => format!("write({v}) → {result}"),
        },
        RegisterOp::Cas { from, to } => format!("cas({from}, {to}) → {result}"),
    }
}

impl<V: Clone + Eq + Hash + Display> Model for Register<V> {
    type State = V;
    type Input = RegisterOp<V>;
    type Output = RegisterResult<V>;

    fn init(&self) -> V {
        self.init.clone()
    }

    /// A compare-and-set is not an operation of this register: it never applies.
    fn step(
        &self,
        state: &V,
        input: &RegisterOp<V>,
        output: Option<&RegisterResult<V>>,
    ) -> Option<V> {
        step_read_write(state, input, output)
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
