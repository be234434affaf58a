//! Raft's safety properties checked where they can first break, across every node of one
//! simulation: ghost state that the test shares with the nodes (it survives their crashes, as
//! a Jepsen checker's log does), never read by the system's logic.
//!
//! - Election safety: at most one leader per term.
//! - State machine safety: every node applies the same entry at a given index.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The shared record of leaders and applied entries.
#[derive(Clone, Default)]
pub struct Oracle(Rc<RefCell<Ledger>>);

#[derive(Default)]
struct Ledger {
    /// term -> the Raft id of its leader.
    leaders: BTreeMap<u64, u64>,
    /// index -> (term, data, the node that applied it first).
    applied: BTreeMap<u64, (u64, Vec<u8>, u64)>,
}

impl Oracle {
    /// Node `id` is leader in `term`; fails the run if another node led that term.
    pub fn leader(&self, term: u64, id: u64) {
        let mut ledger = self.0.borrow_mut();
        let first = *ledger.leaders.entry(term).or_insert(id);
        weft::ensure!(
            first == id,
            "election safety: two leaders in term {term}: {} and {}",
            crate::node_name(first),
            crate::node_name(id)
        );
    }

    /// Node `id` applies the entry of `term` holding `data` at `index`; fails the run if a
    /// different entry was applied at that index anywhere.
    pub fn applied(&self, id: u64, index: u64, term: u64, data: &[u8]) {
        let mut ledger = self.0.borrow_mut();
        let (first_term, first_data, first_node) = ledger
            .applied
            .entry(index)
            .or_insert_with(|| (term, data.to_vec(), id))
            .clone();
        weft::ensure!(
            first_term == term && first_data == data,
            "state machine safety: {} applied entry {index} of term {term}, {} but {} had \
             applied entry {index} of term {first_term}, {}",
            crate::node_name(id),
            crate::describe_entry(data),
            crate::node_name(first_node),
            crate::describe_entry(&first_data)
        );
    }

    /// The leader of every term so far, by Raft id.
    pub fn leaders(&self) -> BTreeMap<u64, u64> {
        self.0.borrow().leaders.clone()
    }
}
