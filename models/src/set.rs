//! A set with additions, removals and full reads (as Jepsen's set test).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::hash::Hash;
use weft_lincheck::Model;

/// An operation on a set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOp<V> {
    /// Add an element.
    Add(V),
    /// Remove an element.
    Remove(V),
    /// Read every element.
    Read,
}

/// The result of an operation on a set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetResult<V> {
    /// An addition or removal was done.
    Ok,
    /// A read returned these elements (in any order).
    Read(BTreeSet<V>),
}

/// A set of elements, starting from `init`.
#[derive(Clone, Debug, Default)]
pub struct Set<V: Ord> {
    /// The initial elements.
    pub init: BTreeSet<V>,
}

impl<V: Ord> Set<V> {
    /// A set holding `init` at first.
    pub fn new(init: impl IntoIterator<Item = V>) -> Self {
        Set {
            init: init.into_iter().collect(),
        }
    }
}

fn show<V: Display>(set: &BTreeSet<V>) -> String {
    let items: Vec<String> = set.iter().map(ToString::to_string).collect();
    format!("#{{{}}}", items.join(" "))
}

impl<V: Ord + Clone + Hash + Display> Model for Set<V> {
    type State = BTreeSet<V>;
    type Input = SetOp<V>;
    type Output = SetResult<V>;

    fn init(&self) -> BTreeSet<V> {
        self.init.clone()
    }

    fn step(
        &self,
        state: &BTreeSet<V>,
        input: &SetOp<V>,
        output: Option<&SetResult<V>>,
    ) -> Option<BTreeSet<V>> {
        match (input, output) {
            (SetOp::Read, Some(SetResult::Read(seen))) => (seen == state).then(|| state.clone()),
            (SetOp::Read, _) => Some(state.clone()),
            (_, Some(SetResult::Read(_))) => None,
            (SetOp::Add(v), _) => {
                let mut next = state.clone();
                next.insert(v.clone());
                Some(next)
            }
            (SetOp::Remove(v), _) => {
                let mut next = state.clone();
                next.remove(v);
                Some(next)
            }
        }
    }

    fn is_read_only(&self, input: &SetOp<V>) -> bool {
        matches!(input, SetOp::Read)
    }

    fn describe_operation(&self, input: &SetOp<V>, output: Option<&SetResult<V>>) -> String {
        match (input, output) {
            (SetOp::Add(v), Some(_)) => format!("add({v})"),
            (SetOp::Add(v), None) => format!("add({v}) → ?"),
            (SetOp::Remove(v), Some(_)) => format!("remove({v})"),
            (SetOp::Remove(v), None) => format!("remove({v}) → ?"),
            (SetOp::Read, Some(SetResult::Read(s))) => format!("read → {}", show(s)),
            (SetOp::Read, _) => "read → ?".to_string(),
        }
    }

    fn describe_state(&self, state: &BTreeSet<V>) -> String {
        show(state)
    }
}
