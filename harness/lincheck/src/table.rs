//! Internal hashing and hash tables of the search: a fast hasher for states, Zobrist keys for
//! the linearized set, and two open-addressing tables (distinct states, and the memo cache of
//! `(linearized set, state)` configurations) whose memory is accounted for exactly.

use std::hash::{Hash, Hasher};

/// The 64-bit finalizer of MurmurHash3: spreads every input bit over every output bit.
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A random-looking, deterministic 64-bit key (splitmix64 of `i`).
pub(crate) fn zobrist_key(i: u64) -> u64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small, fast, non-cryptographic hasher (FxHash's mixing step, with a final avalanche).
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        fmix64(self.0)
    }
}

/// Hashes a value with [`FastHasher`].
pub(crate) fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FastHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// The table is full: growing it would pass the memory bound.
#[derive(Debug)]
pub(crate) struct Full;

/// An open-addressing index: slots hold `tag << 32 | (entry + 1)`, 0 meaning empty, where
/// `tag` is the high half of the entry's hash. Entries live in the caller's arrays; the slot's
/// tag filters most mismatches without touching them, and is all that rehashing needs.
struct Index {
    slots: Vec<u64>,
    len: usize,
}

/// The slots a table starts with, on its first insertion (an empty check allocates none).
const FIRST_SLOTS: usize = 64;

/// A cleared table keeps its slots up to this many (clearing costs one write per slot).
const KEPT_SLOTS: usize = 1 << 11;

impl Index {
    fn new() -> Self {
        Index {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// Empties the table, keeping a small allocation for the next use.
    fn clear(&mut self) {
        if self.slots.len() > KEPT_SLOTS {
            self.slots = Vec::new();
        } else {
            self.slots.fill(0);
        }
        self.len = 0;
    }

    fn bytes(&self) -> usize {
        self.slots.capacity() * 8
    }

    /// Looks for an entry with this hash for which `eq` holds; returns it, or the free slot.
    #[inline]
    fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Result<u32, usize> {
        let tag = hash >> 32;
        if self.slots.is_empty() {
            return Err(0);
        }
        let mask = self.slots.len() - 1;
        let mut pos = (tag as usize) & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                return Err(pos);
            }
            if s >> 32 == tag {
                let idx = (s as u32).wrapping_sub(1);
                if eq(idx) {
                    return Ok(idx);
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Fills the free slot `pos` (from `find`) with entry `idx`. Grows first when needed and
    /// allowed (`budget` is what the new slots may take, in bytes).
    fn insert(&mut self, pos: usize, hash: u64, idx: u32, budget: usize) -> Result<(), Full> {
        if (self.len + 1) * 2 > self.slots.len() {
            // Growing allocates twice the slots while the old ones are still held.
            if (self.slots.len() * 2).max(FIRST_SLOTS) * 8 > budget {
                return Err(Full);
            }
            self.grow();
            let tag = hash >> 32;
            let mask = self.slots.len() - 1;
            let mut p = (tag as usize) & mask;
            while self.slots[p] != 0 {
                p = (p + 1) & mask;
            }
            self.slots[p] = (tag << 32) | u64::from(idx + 1);
        } else {
            self.slots[pos] = ((hash >> 32) << 32) | u64::from(idx + 1);
        }
        self.len += 1;
        Ok(())
    }

    fn grow(&mut self) {
        let mut new = vec![0u64; (self.slots.len() * 2).max(FIRST_SLOTS)];
        let mask = new.len() - 1;
        for &s in &self.slots {
            if s != 0 {
                let mut p = ((s >> 32) as usize) & mask;
                while new[p] != 0 {
                    p = (p + 1) & mask;
                }
                new[p] = s;
            }
        }
        self.slots = new;
    }
}

/// Makes room in `v` for `extra` more elements, unless the new block would pass `budget` (the
/// bytes still allowed).
fn reserve_one<T>(v: &mut Vec<T>, extra: usize, budget: usize) -> Result<(), Full> {
    if v.len() + extra > v.capacity() {
        let want = (v.capacity() * 2).max(v.len() + extra).max(64);
        // The new block is allocated while the old one is still held.
        if want * std::mem::size_of::<T>() > budget {
            return Err(Full);
        }
        v.reserve_exact(want - v.len());
    }
    Ok(())
}

/// Each distinct state, stored once and named by a dense `u32` id.
pub(crate) struct StateTable<S> {
    states: Vec<S>,
    index: Index,
}

impl<S: Eq + Hash> StateTable<S> {
    pub(crate) fn new() -> Self {
        StateTable {
            states: Vec::new(),
            index: Index::new(),
        }
    }

    pub(crate) fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Bytes held, not counting memory the states own on the heap.
    pub(crate) fn bytes(&self) -> usize {
        self.states.capacity() * std::mem::size_of::<S>() + self.index.bytes()
    }

    /// The id of `state`, adding it if new. `budget` is the memory still allowed, in bytes.
    pub(crate) fn intern(&mut self, state: S, budget: usize) -> Result<u32, Full> {
        let hash = hash_of(&state);
        let states = &self.states;
        match self.index.find(hash, |i| states[i as usize] == state) {
            Ok(id) => Ok(id),
            Err(pos) => {
                let id = u32::try_from(self.states.len()).map_err(|_| Full)?;
                if id == u32::MAX {
                    return Err(Full);
                }
                reserve_one(&mut self.states, 1, budget)?;
                self.index.insert(pos, hash, id, budget)?;
                self.states.push(state);
                Ok(id)
            }
        }
    }
}

/// Lowe's memo cache of the configurations already seen, with subsumption for operations of
/// unknown outcome.
///
/// A configuration is `(R, U, state)`: the linearized operations with a known outcome (`R`),
/// those with an unknown outcome (`U`), and the state. `R` is stored as its *front* (the first
/// operation not in it: every one before is) and a window of the bits after the front, whose
/// width is bounded by how many operations overlap one (the search's caller sizes it), so an
/// entry is proportional to the concurrency of the history, not its length. Entries are grouped by `(R, state)`;
/// each group keeps the `U` sets seen. A new configuration is skipped when its group holds a
/// subset of its `U`: with the same state and the same required operations done, having
/// applied fewer optional operations leaves at least the same choices (an unknown outcome may
/// also never take effect, and its return is at +infinity, so it constrains nothing). With no
/// unknown outcomes this is exactly Lowe's cache.
pub(crate) struct Memo {
    stride_r: usize,
    stride_u: usize,
    /// Per group, `1 + stride_r` words: `front << 32 | state`, then the window of `R` (one
    /// record, so a lookup touches one place).
    group_bits: Vec<u64>,
    group_head: Vec<u32>,
    set_bits: Vec<u64>,
    set_next: Vec<u32>,
    index: Index,
}

const NONE: u32 = u32::MAX;

impl Memo {
    /// An empty cache; [`Memo::reset`] sizes it.
    pub(crate) fn new() -> Self {
        Memo {
            stride_r: 1,
            stride_u: 0,
            group_bits: Vec::new(),
            group_head: Vec::new(),
            set_bits: Vec::new(),
            set_next: Vec::new(),
            index: Index::new(),
        }
    }

    /// Empties the cache for windows of `R` of `stride_r` words and `U` sets of `stride_u`
    /// words, keeping small allocations.
    pub(crate) fn reset(&mut self, stride_r: usize, stride_u: usize) {
        self.stride_r = stride_r;
        self.stride_u = stride_u;
        for v in [&mut self.group_bits, &mut self.set_bits] {
            v.clear();
        }
        for v in [&mut self.group_head, &mut self.set_next] {
            v.clear();
        }
        self.index.clear();
    }

    /// Configurations stored.
    pub(crate) fn len(&self) -> usize {
        self.group_head.len().max(self.set_next.len())
    }

    pub(crate) fn bytes(&self) -> usize {
        self.group_bits.capacity() * 8
            + self.group_head.capacity() * 4
            + self.set_bits.capacity() * 8
            + self.set_next.capacity() * 4
            + self.index.bytes()
    }

    /// Adds the configuration `(R, u, state)`, `R` given by its `front` and the window `r`
    /// after it; `Ok(false)` if it, or one that subsumes it, was already there. `r_hash` is a
    /// hash of `R`.
    // Over 70 lines: the search's hottest path (probe, compare, subsume), kept whole.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        r_hash: u64,
        front: u32,
        r: &[u64],
        u: &[u64],
        state: u32,
        budget: usize,
    ) -> Result<bool, Full> {
        let hash = fmix64(r_hash ^ u64::from(state).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let (sr, su) = (self.stride_r, self.stride_u);
        let header = u64::from(front) << 32 | u64::from(state);
        let bits = &self.group_bits;
        let found = self.index.find(hash, |i| {
            let at = i as usize * (sr + 1);
            bits[at] == header && &bits[at + 1..at + 1 + sr] == r
        });
        let group = match found {
            Ok(g) => {
                if su == 0 {
                    return Ok(false);
                }
                // Is a subset of `u` there? Meanwhile unlink the supersets of `u`, which `u`
                // is about to subsume.
                let mut prev = NONE;
                let mut node = self.group_head[g as usize];
                while node != NONE {
                    let n = node as usize;
                    let seen = &self.set_bits[n * su..(n + 1) * su];
                    if seen.iter().zip(u).all(|(s, x)| s & !x == 0) {
                        return Ok(false);
                    }
                    let next = self.set_next[n];
                    if seen.iter().zip(u).all(|(s, x)| x & !s == 0) {
                        if prev == NONE {
                            self.group_head[g as usize] = next;
                        } else {
                            self.set_next[prev as usize] = next;
                        }
                    } else {
                        prev = node;
                    }
                    node = next;
                }
                g
            }
            Err(pos) => {
                let g = u32::try_from(self.group_head.len()).map_err(|_| Full)?;
                if g == NONE {
                    return Err(Full);
                }
                reserve_one(&mut self.group_bits, sr + 1, budget)?;
                reserve_one(&mut self.group_head, 1, budget)?;
                self.index.insert(pos, hash, g, budget)?;
                self.group_bits.push(header);
                self.group_bits.extend_from_slice(r);
                self.group_head.push(NONE);
                if su == 0 {
                    return Ok(true);
                }
                g
            }
        };
        let node = u32::try_from(self.set_next.len()).map_err(|_| Full)?;
        if node == NONE {
            return Err(Full);
        }
        reserve_one(&mut self.set_bits, su, budget)?;
        reserve_one(&mut self.set_next, 1, budget)?;
        self.set_bits.extend_from_slice(u);
        self.set_next.push(self.group_head[group as usize]);
        self.group_head[group as usize] = node;
        Ok(true)
    }
}
