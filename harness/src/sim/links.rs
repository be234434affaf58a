//! The FIFO links' last messages: for each link (sender address, receiver address) that has
//! carried a message, the delivery time of its last one and the sequence number of that
//! message's delivery event, looked up at every send.
//!
//! An open-addressing table with linear probing, keyed by the two addresses packed in one
//! `u128`: a lookup is a multiplication and, almost always, one comparison (the network's
//! general maps, `HashMap`s, cost several times that). Entries are never removed one by one:
//! when the table is half full, it is rebuilt with the entries its owner still needs
//! ([`LinkTable::last`] with `keep`), larger if they are many.

use crate::ids::Addr;

/// No link: the first word is a node index, never `u32::MAX`.
const EMPTY: u128 = u128::MAX;

/// The least number of slots.
const SLOTS_MIN: usize = 16;

#[derive(Clone, Copy)]
struct Slot {
    key: u128,
    last: (u64, u64),
}

const FREE: Slot = Slot {
    key: EMPTY,
    last: (0, 0),
};

#[derive(Default)]
pub(crate) struct LinkTable {
    /// A power of two of them (or none yet), at most half used.
    slots: Vec<Slot>,
    len: usize,
}

fn key(from: Addr, to: Addr) -> u128 {
    let word = |a: Addr| (a.node.index() as u64) << 32 | u64::from(a.port);
    u128::from(word(from)) << 64 | u128::from(word(to))
}

fn index(key: u128, mask: usize) -> usize {
    let product = u128::from((key >> 64) as u64 ^ 0xa076_1d64_78bd_642f)
        * u128::from(key as u64 ^ 0xe703_7ed1_a0b4_28db);
    ((product as u64) ^ ((product >> 64) as u64)) as usize & mask
}

impl LinkTable {
    /// The entry of link `(from, to)`, `None` if it has none, for `update` to read and write
    /// (it returns what it returns). When the table is half full it is first rebuilt with
    /// only the entries that `keep` approves.
    #[inline(always)]
    pub fn last<R>(
        &mut self,
        (from, to): (Addr, Addr),
        keep: impl Fn((u64, u64)) -> bool,
        update: impl FnOnce(&mut Option<(u64, u64)>) -> R,
    ) -> R {
        if (self.len + 1) * 2 > self.slots.len() {
            self.rebuild(&keep);
        }
        let key = key(from, to);
        let mask = self.slots.len() - 1;
        let mut i = index(key, mask);
        loop {
            let slot = &mut self.slots[i];
            if slot.key == key {
                let mut last = Some(slot.last);
                let r = update(&mut last);
                slot.last = last.expect("a link's entry is never taken away");
                return r;
            }
            if slot.key == EMPTY {
                let mut last = None;
                let r = update(&mut last);
                if let Some(last) = last {
                    *slot = Slot { key, last };
                    self.len += 1;
                }
                return r;
            }
            i = (i + 1) & mask;
        }
    }

    /// Keeps the entries `keep` approves, in a table with room for four times as many (and no
    /// smaller than before): a rebuild comes after at least a quarter of the slots more.
    fn rebuild(&mut self, keep: &impl Fn((u64, u64)) -> bool) {
        let kept: Vec<Slot> = (self.slots.iter())
            .filter(|s| s.key != EMPTY && keep(s.last))
            .copied()
            .collect();
        let size = (4 * kept.len())
            .next_power_of_two()
            .max(self.slots.len())
            .max(SLOTS_MIN);
        self.slots.clear();
        self.slots.resize(size, FREE);
        self.len = kept.len();
        let mask = size - 1;
        for slot in kept {
            let mut i = index(slot.key, mask);
            while self.slots[i].key != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LinkTable;
    use crate::ids::{Addr, NodeId};
    use std::collections::BTreeMap;

    /// The table answers as a map would, through rebuilds that drop what `keep` rejects.
    #[test]
    fn behaves_as_a_map_of_the_kept_entries() {
        let mut table = LinkTable::default();
        let mut map: BTreeMap<(Addr, Addr), (u64, u64)> = BTreeMap::new();
        let addr = |n: u64, port: u64| Addr::new(NodeId::from_index(n as usize), port as u32);
        let mut state = 1u64;
        for step in 0..50_000u64 {
            state = crate::decision::mix(state, step);
            let link = (
                addr(state % 7, state >> 8 & 3),
                addr(state >> 16 & 7, state >> 24 & 511),
            );
            // Entries older than 1000 steps may go: they read as absent either way.
            let keep = |(last, _): (u64, u64)| last + 1000 > step;
            let seen = table.last(link, keep, |last| {
                let seen = last.filter(|&l| keep(l));
                *last = Some((step, state));
                seen
            });
            let expected = map.get(&link).copied().filter(|&l| keep(l));
            assert_eq!(seen, expected, "step {step}");
            map.insert(link, (step, state));
        }
        assert!(table.slots.len() < 8192, "{} slots", table.slots.len());
    }
}
