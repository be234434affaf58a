//! The event queue's order: a binary min-heap of entries keyed by when the event is due and
//! its sequence number (earliest first, ties in scheduling order; no two entries share a
//! sequence number, so the order of pops is the same whatever the heap's layout).
//!
//! `std`'s `BinaryHeap` did the same with a `u128` key (16-byte aligned entries of 32 bytes)
//! and a `pop` out of line; here the entries are 24 bytes and every operation is inline.

/// An entry: when the event is due and its sequence number, and its slot and generation
/// (stale once cancelled).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queued {
    pub at: u64,
    pub seq: u64,
    pub slot: u32,
    pub generation: u32,
}

impl Queued {
    /// Whether `self` comes before `other`: earlier, or as early and scheduled first.
    #[inline(always)]
    fn before(&self, other: &Queued) -> bool {
        (u128::from(self.at) << 64 | u128::from(self.seq))
            < (u128::from(other.at) << 64 | u128::from(other.seq))
    }
}

#[derive(Default)]
pub(crate) struct EventQueue {
    /// A binary heap: each entry comes before its children (`2i + 1`, `2i + 2`).
    entries: Vec<Queued>,
}

impl EventQueue {
    /// The entries, the first the earliest (its children are the next earliest candidates).
    #[inline(always)]
    pub fn as_slice(&self) -> &[Queued] {
        &self.entries
    }

    #[inline(always)]
    pub fn first(&self) -> Option<&Queued> {
        self.entries.first()
    }

    #[inline(always)]
    pub fn push(&mut self, entry: Queued) {
        self.entries.push(entry);
        let entries = &mut self.entries[..];
        let mut hole = entries.len() - 1;
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if !entry.before(&entries[parent]) {
                break;
            }
            entries[hole] = entries[parent];
            hole = parent;
        }
        entries[hole] = entry;
    }

    /// Removes and returns the first entry. As `std`'s heap: the last entry is moved into the
    /// hole the first leaves, the hole taken down to the bottom along the earlier child, and
    /// the entry moved up from there (it usually belongs near the bottom).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Queued> {
        let last = self.entries.pop()?;
        let entries = &mut self.entries[..];
        let Some(&first) = entries.first() else {
            return Some(last);
        };
        let end = entries.len();
        let mut hole = 0;
        let mut child = 1;
        while child + 1 < end {
            if entries[child + 1].before(&entries[child]) {
                child += 1;
            }
            entries[hole] = entries[child];
            hole = child;
            child = 2 * hole + 1;
        }
        if child + 1 == end {
            entries[hole] = entries[child];
            hole = child;
        }
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if !last.before(&entries[parent]) {
                break;
            }
            entries[hole] = entries[parent];
            hole = parent;
        }
        entries[hole] = last;
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::{EventQueue, Queued};
    use std::collections::BTreeSet;

    /// Pops in (time, sequence) order through any mix of pushes and pops.
    #[test]
    fn pops_in_time_then_sequence_order() {
        let mut queue = EventQueue::default();
        let mut expected = BTreeSet::new();
        let mut state = 7u64;
        let mut seq = 0;
        for step in 0..20_000u64 {
            state = crate::decision::mix(state, step);
            if state % 5 < 3 {
                seq += 1;
                let at = state >> 40 & 15;
                queue.push(Queued {
                    at,
                    seq,
                    slot: seq as u32,
                    generation: 0,
                });
                expected.insert((at, seq));
            } else {
                let popped = queue.pop().map(|q| (q.at, q.seq));
                assert_eq!(popped, expected.pop_first(), "step {step}");
            }
            let first = queue.first().map(|q| (q.at, q.seq));
            assert_eq!(first, expected.first().copied(), "step {step}");
        }
        while let Some(q) = queue.pop() {
            assert_eq!(Some((q.at, q.seq)), expected.pop_first());
        }
        assert!(expected.is_empty());
    }
}
