//! The search of one part: Wing & Gong's backtracking over the history's call and return
//! entries, with Lowe's memoization of `(linearized set, state)`, as in Porcupine.
//!
//! Entries live in arrays linked by index (lifting an operation out of the list and putting it
//! back are O(1), dancing-links style); the linearized set is a bitset with an incrementally
//! maintained Zobrist hash; each distinct state is stored once and named by a `u32`. Operations
//! with a known outcome are numbered in call order, so the linearized set is a prefix (up to
//! its *front*, the first operation not in it) plus a few operations after it, all called
//! before the front returned: a memo entry stores the front, a window of bits as wide as the
//! most operations called while one is open, and a state id. Memory per entry follows the
//! concurrency of the history, not its length.

use crate::check::{PartOutcome, PartResult, SearchStats, UnknownReason};
use crate::model::{Model, Operation};
use crate::table::{zobrist_key, Full, Memo, StateTable};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Limits shared by the parts of one check.
pub(crate) struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub max_bytes: usize,
    pub cancel: &'a AtomicBool,
}

const HEAD: u32 = 0;

/// The buffers of a search, kept by a [`crate::Checker`] between checks so that a small check
/// allocates (almost) nothing.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Local operation number to index in `ops`: known outcomes first, in call order.
    locals: Vec<usize>,
    order: Vec<(u64, u8, u32)>,
    entry_op: Vec<u32>,
    is_call: Vec<bool>,
    matching: Vec<u32>,
    call_entry: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    zobrist: Vec<u64>,
    r_bits: Vec<u64>,
    u_bits: Vec<u64>,
    window: Vec<u64>,
    /// Linearized call entries, with the state id and the phase before each.
    stack: Vec<(u32, u32, u8)>,
    best: Vec<u32>,
    best_unplaced: Vec<u32>,
    memo: Option<Memo>,
}

/// What trying one call entry did.
enum Tried {
    /// Its operation was linearized; the search goes on from the first entry.
    Linearized,
    /// It could not go here; the search goes on with the next entry.
    Skipped,
    /// Every operation with a known outcome is linearized.
    Done,
    /// Nothing at this level can succeed: backtrack.
    Exhausted,
}

/// The search of one part.
struct Search<'a, M: Model> {
    model: &'a M,
    ops: &'a [Operation<M::Input, M::Output>],
    limits: &'a Limits<'a>,
    s: &'a mut Scratch,
    memo: Memo,
    states: StateTable<M::State>,
    /// Operations in the part, and those with a known outcome.
    n: usize,
    nr: usize,
    tail: u32,
    required_left: usize,
    r_hash: u64,
    /// The first known-outcome operation (local number) not linearized.
    front: usize,
    cur: u32,
    /// 0: trying operations with a known outcome; 1: those with an unknown one.
    phase: u8,
    /// The stack's length has not gone below this since `best` was copied from it.
    best_stable: usize,
    stats: SearchStats,
}

/// Checks the operations `part` (indices into `ops`) of one independent part.
pub(crate) fn check_part<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    limits: &Limits<'_>,
    scratch: &mut Scratch,
) -> PartResult {
    let started = Instant::now();
    let memo = scratch.memo.take().unwrap_or_else(Memo::new);
    let mut search = Search {
        model,
        ops,
        limits,
        s: scratch,
        memo,
        states: StateTable::new(),
        n: part.len(),
        nr: 0,
        tail: 0,
        required_left: 0,
        r_hash: 0,
        front: 0,
        cur: 0,
        phase: 0,
        best_stable: 0,
        stats: SearchStats::default(),
    };
    search.prepare(part);
    let outcome = match search.run() {
        Ok(outcome) => outcome,
        Err(reason) => PartOutcome::Unknown(reason),
    };
    search.finish(part, outcome, started)
}

impl<M: Model> Search<'_, M> {
    /// Numbers the operations, builds the entry list and sizes the bitsets and the memo.
    fn prepare(&mut self, part: &[usize]) {
        let ops = self.ops;
        let s = &mut *self.s;
        s.locals.clear();
        s.locals
            .extend(part.iter().copied().filter(|&g| ops[g].output.is_some()));
        s.locals.sort_by_key(|&g| ops[g].call);
        self.nr = s.locals.len();
        s.locals
            .extend(part.iter().copied().filter(|&g| ops[g].output.is_none()));
        self.required_left = self.nr;
        self.build_entries();
        let (n, nr) = (self.n, self.nr);
        let s = &mut *self.s;
        if s.zobrist.len() < nr {
            let have = s.zobrist.len() as u64;
            s.zobrist.extend((have..nr as u64).map(zobrist_key));
        }
        let stride_r = nr.div_ceil(64).max(1);
        s.r_bits.clear();
        s.r_bits.resize(stride_r + 1, 0);
        s.u_bits.clear();
        s.u_bits.resize((n - nr).div_ceil(64), 0);
        let window = self.window_words();
        self.s.window.clear();
        self.s.window.resize(window, 0);
        self.memo.reset(window, self.s.u_bits.len());
        self.s.stack.clear();
        self.s.best.clear();
        self.s.best_unplaced.clear();
    }

    /// Entries 1..=2n, sorted by time, calls before returns at equal times (touching
    /// intervals are concurrent); unknown outcomes return at +infinity. Links them in a list.
    fn build_entries(&mut self) {
        let (ops, n) = (self.ops, self.n);
        let s = &mut *self.s;
        s.order.clear();
        for (local, &global) in s.locals.iter().enumerate() {
            let op = &ops[global];
            s.order.push((op.call, 0, local as u32));
            let ret = if op.output.is_some() {
                op.ret
            } else {
                u64::MAX
            };
            s.order.push((ret, 1, local as u32));
        }
        s.order.sort_unstable();
        self.tail = (2 * n + 1) as u32;
        for v in [&mut s.entry_op, &mut s.matching] {
            v.clear();
            v.resize(2 * n + 2, 0);
        }
        s.is_call.clear();
        s.is_call.resize(2 * n + 2, false);
        s.call_entry.clear();
        s.call_entry.resize(n, 0);
        for (i, &(_, kind, local)) in s.order.iter().enumerate() {
            let e = (i + 1) as u32;
            s.entry_op[e as usize] = local;
            if kind == 0 {
                s.is_call[e as usize] = true;
                s.call_entry[local as usize] = e;
            } else {
                s.matching[s.call_entry[local as usize] as usize] = e;
            }
        }
        s.next.clear();
        s.next.extend((1..=self.tail).chain([self.tail]));
        s.prev.clear();
        s.prev.extend([HEAD].into_iter().chain(0..self.tail));
    }

    /// Words of the memo's window: operations after the front that may be linearized are
    /// called before the front's return, so the window spans the most known-outcome
    /// operations called while one is open.
    fn window_words(&self) -> usize {
        let s = &*self.s;
        let calls: Vec<u64> = s.locals[..self.nr]
            .iter()
            .map(|&g| self.ops[g].call)
            .collect();
        let width = s.locals[..self.nr]
            .iter()
            .enumerate()
            .map(|(f, &g)| calls.partition_point(|&c| c <= self.ops[g].ret) - f)
            .max()
            .unwrap_or(0);
        width.div_ceil(64).max(1)
    }

    /// The search loop.
    fn run(&mut self) -> Result<PartOutcome, UnknownReason> {
        self.cur = self
            .states
            .intern(self.model.init(), self.limits.max_bytes)
            .map_err(|Full| UnknownReason::MemoryLimit)?;
        if self.required_left == 0 {
            return Ok(PartOutcome::Linearizable);
        }
        let mut e = self.s.next[HEAD as usize];
        loop {
            self.stats.steps += 1;
            if self.stats.steps & 0x3ff == 0 {
                if let Some(reason) = self.interrupted() {
                    if self.s.stack.len() > self.s.best.len() {
                        self.record_best();
                    }
                    return Err(reason);
                }
            }
            if e != self.tail && self.s.is_call[e as usize] {
                let resume = match self.try_call(e)? {
                    Tried::Linearized => Some(self.s.next[HEAD as usize]),
                    Tried::Skipped => Some(self.s.next[e as usize]),
                    Tried::Done => return Ok(PartOutcome::Linearizable),
                    Tried::Exhausted => self.dead_end(),
                };
                let Some(resume) = resume else {
                    return Ok(PartOutcome::NotLinearizable);
                };
                e = resume;
            } else if self.phase == 0 && self.nr < self.n {
                // Known outcomes are exhausted here: try the unknown ones.
                self.phase = 1;
                e = self.s.next[HEAD as usize];
            } else {
                // A return entry (or the end): its operation should have been linearized.
                match self.dead_end() {
                    Some(resume) => e = resume,
                    None => return Ok(PartOutcome::NotLinearizable),
                }
            }
        }
    }

    /// Nothing more to try here: keeps the longest partial linearization and backtracks.
    fn dead_end(&mut self) -> Option<u32> {
        let s = &*self.s;
        if s.stack.len() > s.best.len() || s.best.is_empty() && s.best_unplaced.is_empty() {
            self.record_best();
        }
        self.backtrack()
    }

    /// Why to stop now, if the part was cancelled or the time is up.
    fn interrupted(&self) -> Option<UnknownReason> {
        if self.limits.cancel.load(Ordering::Relaxed) {
            Some(UnknownReason::Cancelled)
        } else if self.limits.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(UnknownReason::Timeout)
        } else {
            None
        }
    }

    /// The memory still allowed, in bytes.
    fn budget(&self) -> usize {
        let used = self.states.bytes() + self.memo.bytes();
        self.limits.max_bytes.saturating_sub(used)
    }

    /// Tries to linearize the operation of call entry `e` next.
    fn try_call(&mut self, e: u32) -> Result<Tried, UnknownReason> {
        let local = self.s.entry_op[e as usize] as usize;
        let required = local < self.nr;
        if required != (self.phase == 0) {
            return Ok(Tried::Skipped);
        }
        let op = &self.ops[self.s.locals[local]];
        let Some(next) = self
            .model
            .step(self.states.get(self.cur), &op.input, op.output.as_ref())
        else {
            return Ok(Tried::Skipped);
        };
        let full = |Full| UnknownReason::MemoryLimit;
        // Reads mostly leave the state as it is: no need to look it up.
        let sid = if next == *self.states.get(self.cur) {
            self.cur
        } else {
            self.states.intern(next, self.budget()).map_err(full)?
        };
        // An unknown-outcome operation that leaves the state unchanged is never worth
        // linearizing: leaving it out (it never happened) allows everything this allows.
        if !required && sid == self.cur {
            return Ok(Tried::Skipped);
        }
        self.toggle(local);
        if !self.remember(sid).map_err(full)? {
            self.toggle(local);
            // Seen, so failed; after a read this whole level fails too (see `backtrack`).
            if required && self.model.is_read_only(&op.input) {
                return Ok(Tried::Exhausted);
            }
            return Ok(Tried::Skipped);
        }
        self.s.stack.push((e, self.cur, self.phase));
        self.phase = 0;
        self.cur = sid;
        let s = &mut *self.s;
        lift(&mut s.next, &mut s.prev, e, s.matching[e as usize]);
        if required {
            self.required_left -= 1;
            if self.required_left == 0 {
                return Ok(Tried::Done);
            }
        }
        Ok(Tried::Linearized)
    }

    /// Adds the current linearized set with state `sid` to the memo; `Ok(false)` if seen.
    fn remember(&mut self, sid: u32) -> Result<bool, Full> {
        let s = &mut *self.s;
        let (word, shift) = (self.front / 64, self.front % 64);
        let bit = |i: usize| s.r_bits.get(i).copied().unwrap_or(0);
        for (k, w) in s.window.iter_mut().enumerate() {
            let low = bit(word + k) >> shift;
            let high = if shift == 0 {
                0
            } else {
                bit(word + k + 1) << (64 - shift)
            };
            *w = low | high;
        }
        debug_assert!(
            (word + s.window.len() + 1..s.r_bits.len()).all(|i| s.r_bits[i] == 0),
            "a linearized operation beyond the memo's window"
        );
        let budget = self.budget();
        let s = &*self.s;
        self.memo.insert(
            self.r_hash,
            self.front as u32,
            &s.window,
            &s.u_bits,
            sid,
            budget,
        )
    }

    /// Adds `local` to the linearized set, or takes it out; keeps the hash and the front.
    fn toggle(&mut self, local: usize) {
        let s = &mut *self.s;
        if local >= self.nr {
            let b = local - self.nr;
            s.u_bits[b / 64] ^= 1 << (b % 64);
            return;
        }
        s.r_bits[local / 64] ^= 1 << (local % 64);
        self.r_hash ^= s.zobrist[local];
        if local < self.front {
            self.front = local;
        } else if local == self.front {
            // Past the run of linearized operations, a word at a time.
            let mut f = self.front;
            loop {
                let shift = f % 64;
                let ones = (s.r_bits[f / 64] >> shift).trailing_ones() as usize;
                f += ones;
                if ones < 64 - shift {
                    break;
                }
            }
            self.front = f;
        }
    }

    /// Undoes linearizations back to a level with something left to try; returns the entry
    /// to go on from, `None` when the stack is empty (not linearizable).
    ///
    /// A level whose operation is read-only (`Model::is_read_only`, of known outcome) is
    /// exhausted with it: if any linearization went on from the level's configuration
    /// `(R, s)`, moving the read to its front would give one from `(R + read, s)` (the read was
    /// a candidate, so nothing must precede it, and it changes no state), which failed.
    fn backtrack(&mut self) -> Option<u32> {
        loop {
            let (c, before, was) = self.s.stack.pop()?;
            let after = self.cur;
            self.best_stable = self.best_stable.min(self.s.stack.len());
            let local = self.s.entry_op[c as usize] as usize;
            if local < self.nr {
                self.required_left += 1;
            }
            self.cur = before;
            self.phase = was;
            self.toggle(local);
            let s = &mut *self.s;
            unlift(&mut s.next, &mut s.prev, c, s.matching[c as usize]);
            let input = &self.ops[s.locals[local]].input;
            if local >= self.nr || !self.model.is_read_only(input) {
                return Some(s.next[c as usize]);
            }
            debug_assert_eq!(before, after, "a read-only operation changed the state");
        }
    }

    /// Copies the stack into the longest partial linearization (only what changed since the
    /// last copy), with the operations that could go next.
    fn record_best(&mut self) {
        let s = &mut *self.s;
        s.best.truncate(self.best_stable);
        let entry_op = &s.entry_op;
        s.best.extend(
            s.stack[self.best_stable..]
                .iter()
                .map(|&(c, _, _)| entry_op[c as usize]),
        );
        self.best_stable = s.stack.len();
        s.best_unplaced.clear();
        let mut e = s.next[HEAD as usize];
        while e != self.tail && s.is_call[e as usize] {
            let local = s.entry_op[e as usize];
            if (local as usize) < self.nr {
                s.best_unplaced.push(local);
            }
            e = s.next[e as usize];
        }
    }

    /// The part's result; gives the memo back to the scratch space.
    fn finish(self, part: &[usize], outcome: PartOutcome, started: Instant) -> PartResult {
        let mut stats = self.stats;
        stats.cache_entries = self.memo.len() as u64;
        stats.states = self.states.len() as u64;
        stats.cache_bytes = (self.memo.bytes() + self.states.bytes()) as u64;
        stats.elapsed = started.elapsed();
        let s = self.s;
        let global = |l: &u32| s.locals[*l as usize];
        let (linearization, unplaced) = if outcome == PartOutcome::Linearizable {
            let lin = s.stack.iter().map(|&(c, _, _)| s.entry_op[c as usize]);
            (lin.map(|l| s.locals[l as usize]).collect(), Vec::new())
        } else {
            let lin = s.best.iter().map(global).collect();
            (lin, s.best_unplaced.iter().map(global).collect())
        };
        s.memo = Some(self.memo);
        PartResult {
            ops: part.to_vec(),
            outcome,
            linearization,
            unplaced,
            stats,
        }
    }
}

#[inline]
fn lift(next: &mut [u32], prev: &mut [u32], call: u32, ret: u32) {
    for e in [call, ret] {
        let (p, n) = (prev[e as usize], next[e as usize]);
        next[p as usize] = n;
        prev[n as usize] = p;
    }
}

#[inline]
fn unlift(next: &mut [u32], prev: &mut [u32], call: u32, ret: u32) {
    for e in [ret, call] {
        let (p, n) = (prev[e as usize], next[e as usize]);
        next[p as usize] = e;
        prev[n as usize] = e;
    }
}

/// Statistics are reported with a zero duration until the part is finished.
impl Default for SearchStats {
    fn default() -> Self {
        SearchStats {
            steps: 0,
            cache_entries: 0,
            states: 0,
            cache_bytes: 0,
            elapsed: Duration::ZERO,
        }
    }
}
