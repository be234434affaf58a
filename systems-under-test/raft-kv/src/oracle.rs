//! Raft's safety properties checked where they can first break, across every node of one
//! simulation: ghost state that the test shares with the nodes (it survives their crashes, as
//! a Jepsen checker's log does), never read by the system's logic.
//!
//! - Election safety: at most one leader per term.
//! - Leader completeness: a new leader's log holds every entry applied anywhere in an
//!   earlier term (an entry applied by a node in term `t` was committed in a term `<= t`).
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
    /// index -> the entry applied there.
    applied: BTreeMap<u64, Applied>,
}

#[derive(Clone)]
struct Applied {
    term: u64,
    data: Vec<u8>,
    /// The node that applied it first.
    node: u64,
    /// The lowest term a node applied it in: it was committed in this term or before.
    seen_term: u64,
}

impl Oracle {
    /// Node `id` is leader in `term`, with `log_term` giving the term of its entry at an
    /// index (0 if it has none). Fails the run if another node led that term, or (the first
    /// time) if its log lacks an entry applied anywhere in an earlier term.
    pub fn leader(&self, term: u64, id: u64, log_term: impl Fn(u64) -> u64) {
        let mut ledger = self.0.borrow_mut();
        if let Some(first) = ledger.leaders.get(&term) {
            weft::ensure!(
                *first == id,
                "election safety: two leaders in term {term}: {} and {}",
                crate::node_name(*first),
                crate::node_name(id)
            );
            return;
        }
        ledger.leaders.insert(term, id);
        for (index, applied) in &ledger.applied {
            let has = log_term(*index);
            weft::ensure!(
                applied.seen_term >= term || has == applied.term,
                "leader completeness: {} leads term {term} with {} at index {index}, but {} \
                 had applied entry {index} of term {} ({}) in term {}",
                crate::node_name(id),
                if has == 0 {
                    "no entry".to_string()
                } else {
                    format!("an entry of term {has}")
                },
                crate::node_name(applied.node),
                applied.term,
                crate::describe_entry(&applied.data),
                applied.seen_term
            );
        }
    }

    /// Node `id`, in term `now_term`, applies the entry of `term` holding `data` at `index`;
    /// fails the run if a different entry was applied at that index anywhere.
    pub fn applied(&self, id: u64, now_term: u64, index: u64, term: u64, data: &[u8]) {
        let mut ledger = self.0.borrow_mut();
        let first = ledger.applied.entry(index).or_insert_with(|| Applied {
            term,
            data: data.to_vec(),
            node: id,
            seen_term: now_term,
        });
        first.seen_term = first.seen_term.min(now_term);
        let first = first.clone();
        weft::ensure!(
            first.term == term && first.data == data,
            "state machine safety: {} applied entry {index} of term {term}, {} but {} had \
             applied entry {index} of term {}, {}",
            crate::node_name(id),
            crate::describe_entry(data),
            crate::node_name(first.node),
            first.term,
            crate::describe_entry(&first.data)
        );
    }

    /// The leader of every term so far, by Raft id.
    pub fn leaders(&self) -> BTreeMap<u64, u64> {
        self.0.borrow().leaders.clone()
    }
}
