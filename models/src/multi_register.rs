//! Knossos's multi-register: registers named by keys, read and written by transactions.
//!
//! A transaction is a list of micro-operations applied in order, atomically: `Read(key,
//! Some(v))` requires the key to hold `v` (reads see the transaction's own earlier writes),
//! `Read(key, None)` read a value that was not recorded and is consistent with any state (as
//! Knossos's nil reads), `Write(key, v)` sets the key. A key never written holds
//! `V::default()` (nil, for recorded histories).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::hash::Hash;
use weft_lincheck::Model;

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Micro<K, V> {
    /// Read `key`; `Some(v)`: it returned `v`; `None`: what it returned is unknown.
    Read(K, Option<V>),
    /// Write `key`.
    Write(K, V),
}

/// The registers: keys to values, starting from `init` (other keys hold `V::default()`).
#[derive(Clone, Debug, Default)]
pub struct MultiRegister<K: Ord, V> {
    /// The initial values.
    pub init: BTreeMap<K, V>,
}

impl<K: Ord, V: Default + Eq> MultiRegister<K, V> {
    /// Registers holding `init` at first (every other key holds `V::default()`).
    pub fn new(init: impl IntoIterator<Item = (K, V)>) -> Self {
        let default = V::default();
        let init = init.into_iter().filter(|(_, v)| *v != default).collect();
        MultiRegister { init }
    }
}

/// Applies a transaction to `state`; with `check_reads`, returns `None` if a read disagrees.
/// Keys holding the default value are absent, so equal states compare and hash equal.
fn apply<K, V>(
    state: &BTreeMap<K, V>,
    txn: &[Micro<K, V>],
    check_reads: bool,
) -> Option<BTreeMap<K, V>>
where
    K: Ord + Clone,
    V: Default + Eq + Clone,
{
    let default = V::default();
    let mut next: Option<BTreeMap<K, V>> = None;
    for micro in txn {
        let current = next.as_ref().unwrap_or(state);
        match micro {
            Micro::Read(key, Some(v)) if check_reads => {
                if current.get(key).unwrap_or(&default) != v {
                    return None;
                }
            }
            Micro::Read(..) => {}
            Micro::Write(key, v) => {
                if current.get(key).unwrap_or(&default) == v {
                    continue;
                }
                let map = next.get_or_insert_with(|| state.clone());
                if *v == default {
                    map.remove(key);
                } else {
                    map.insert(key.clone(), v.clone());
                }
            }
        }
    }
    Some(next.unwrap_or_else(|| state.clone()))
}

/// Describes a transaction, as Knossos prints one: `[[:read x 1] [:write y 2]]`.
fn describe_txn<K: Display, V: Display>(txn: &[Micro<K, V>], known: bool) -> String {
    let items: Vec<String> = txn
        .iter()
        .map(|m| match m {
            Micro::Read(k, Some(v)) if known => format!("[:read {k} {v}]"),
            Micro::Read(k, _) => format!("[:read {k} ?]"),
            Micro::Write(k, v) => format!("[:write {k} {v}]"),
        })
        .collect();
    let done = if known { "" } else { " → ?" };
    format!("txn [{}]{done}", items.join(" "))
}

impl<K, V> Model for MultiRegister<K, V>
where
    K: Ord + Clone + Hash + Display,
    V: Default + Eq + Clone + Hash + Display,
{
    type State = BTreeMap<K, V>;
    type Input = Vec<Micro<K, V>>;
    type Output = ();

    fn init(&self) -> BTreeMap<K, V> {
        self.init.clone()
    }

    /// A transaction with an unknown outcome applies its writes (its reads are not known).
    fn step(
        &self,
        state: &BTreeMap<K, V>,
        input: &Vec<Micro<K, V>>,
        output: Option<&()>,
    ) -> Option<BTreeMap<K, V>> {
        apply(state, input, output.is_some())
    }

    fn is_read_only(&self, input: &Vec<Micro<K, V>>) -> bool {
        input.iter().all(|m| matches!(m, Micro::Read(..)))
    }

    fn describe_operation(&self, input: &Vec<Micro<K, V>>, output: Option<&()>) -> String {
        describe_txn(input, output.is_some())
    }

    fn describe_state(&self, state: &BTreeMap<K, V>) -> String {
        let items: Vec<String> = state.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{{{}}}", items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_lincheck::{check, CheckConfig, Operation, Verdict};

    type M = MultiRegister<&'static str, i64>;

    fn verdict(ops: &[Operation<Vec<Micro<&'static str, i64>>, ()>]) -> Verdict {
        let model: M = MultiRegister::new([("x", 0)]);
        check(&model, ops, &CheckConfig::default()).unwrap().verdict
    }

    #[test]
    fn reads_see_earlier_writes_of_their_own_transaction() {
        let txn = vec![Micro::Write("x", 1), Micro::Read("x", Some(1))];
        assert_eq!(
            verdict(&[Operation::new(0, txn, (), 0, 1)]),
            Verdict::Linearizable
        );
        let txn = vec![Micro::Read("x", Some(1)), Micro::Write("x", 1)];
        assert_eq!(
            verdict(&[Operation::new(0, txn, (), 0, 1)]),
            Verdict::NotLinearizable
        );
    }

    #[test]
    fn a_transaction_is_atomic() {
        // Writes x=1, y=1 atomically; a later read sees x=1 but y=0: impossible.
        let write = vec![Micro::Write("x", 1), Micro::Write("y", 1)];
        let read = vec![Micro::Read("x", Some(1)), Micro::Read("y", Some(0))];
        let ops = [
            Operation::new(0, write, (), 0, 1),
            Operation::new(1, read, (), 2, 3),
        ];
        assert_eq!(verdict(&ops), Verdict::NotLinearizable);
    }

    #[test]
    fn unknown_reads_and_outcomes() {
        let write = vec![Micro::Write("x", 5)];
        let read = vec![Micro::Read("x", None), Micro::Read("y", Some(0))];
        let later = vec![Micro::Read("x", Some(5))];
        let ops = [
            Operation::unknown(0, write, 0),
            Operation::new(1, read, (), 1, 2),
            Operation::new(1, later, (), 3, 4),
        ];
        assert_eq!(verdict(&ops), Verdict::Linearizable);
    }
}
