//! The search of one part: Wing & Gong's backtracking over the history's call and return
//! entries, with Lowe's memoization of `(linearized set, state)`, as in Porcupine.
//!
//! Entries live in arrays linked by index (lifting an operation out of the list and putting it
//! back are O(1), dancing-links style); the linearized set is a bitset with an incrementally
//! maintained Zobrist hash; each distinct state is stored once and named by a `u32`, so a memo
//! entry is one bitset and one integer.

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

/// Checks the operations `part` (indices into `ops`) of one independent part.
pub(crate) fn check_part<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    limits: &Limits<'_>,
) -> PartResult {
    let started = Instant::now();
    let n = part.len();
    // Local numbering: operations with a known outcome first (0..nr), then the others.
    let mut locals: Vec<usize> = part
        .iter()
        .copied()
        .filter(|&g| ops[g].output.is_some())
        .collect();
    let nr = locals.len();
    locals.extend(part.iter().copied().filter(|&g| ops[g].output.is_none()));
    // Entries 1..=2n, sorted by time; calls before returns at equal times (touching intervals
    // are concurrent). Unknown outcomes return at +infinity.
    let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
    for (local, &global) in locals.iter().enumerate() {
        let op = &ops[global];
        order.push((op.call, 0, local as u32));
        let ret = if op.output.is_some() {
            op.ret
        } else {
            u64::MAX
        };
        order.push((ret, 1, local as u32));
    }
    order.sort_unstable();
    let tail = (2 * n + 1) as u32;
    let mut entry_op = vec![0u32; 2 * n + 2];
    let mut is_call = vec![false; 2 * n + 2];
    let mut matching = vec![0u32; 2 * n + 2];
    let mut call_entry = vec![0u32; n];
    for (i, &(_, kind, local)) in order.iter().enumerate() {
        let e = (i + 1) as u32;
        entry_op[e as usize] = local;
        if kind == 0 {
            is_call[e as usize] = true;
            call_entry[local as usize] = e;
        } else {
            matching[call_entry[local as usize] as usize] = e;
        }
    }
    let mut next: Vec<u32> = (1..=tail).chain([tail]).collect();
    let mut prev: Vec<u32> = [HEAD].into_iter().chain(0..=tail - 1).collect();
    let mut required_left = nr;

    // The linearized set, split: known outcomes (with an incremental Zobrist hash) and unknown.
    let stride_r = nr.div_ceil(64).max(1);
    let stride_u = (n - nr).div_ceil(64);
    let zobrist: Vec<u64> = (0..nr as u64).map(zobrist_key).collect();
    let mut r_bits = vec![0u64; stride_r];
    let mut u_bits = vec![0u64; stride_u];
    let mut r_hash = 0u64;
    let mut states: StateTable<M::State> = StateTable::new();
    let mut memo = Memo::new(stride_r, stride_u);
    let toggle = |local: usize, r_bits: &mut [u64], u_bits: &mut [u64], r_hash: &mut u64| {
        if local < nr {
            r_bits[local / 64] ^= 1 << (local % 64);
            *r_hash ^= zobrist[local];
        } else {
            let b = local - nr;
            u_bits[b / 64] ^= 1 << (b % 64);
        }
    };

    let mut stats = SearchStats::default();
    let mut best: Vec<u32> = Vec::new();
    let mut best_unplaced: Vec<u32> = Vec::new();
    // The stack of linearized call entries, with the state id and the phase before each.
    let mut stack: Vec<(u32, u32, u8)> = Vec::new();
    // Candidates are tried in two phases: operations with a known outcome first (phase 0),
    // then those with an unknown outcome (phase 1), which are rarely needed early.
    let mut phase = 0u8;

    let finish = |outcome: PartOutcome,
                  lin: Vec<u32>,
                  unplaced: Vec<u32>,
                  mut stats: SearchStats,
                  states: &StateTable<M::State>,
                  memo: &Memo| {
        stats.cache_entries = memo.len() as u64;
        stats.states = states.len() as u64;
        stats.cache_bytes = (memo.bytes() + states.bytes()) as u64;
        stats.elapsed = started.elapsed();
        PartResult {
            ops: part.to_vec(),
            outcome,
            linearization: lin.iter().map(|&l| locals[l as usize]).collect(),
            unplaced: unplaced.iter().map(|&l| locals[l as usize]).collect(),
            stats,
        }
    };

    let budget = |states: &StateTable<M::State>, memo: &Memo| {
        limits
            .max_bytes
            .saturating_sub(states.bytes() + memo.bytes())
    };
    let mut cur = match states.intern(model.init(), limits.max_bytes) {
        Ok(id) => id,
        Err(Full) => {
            let r = PartOutcome::Unknown(UnknownReason::MemoryLimit);
            return finish(r, best, best_unplaced, stats, &states, &memo);
        }
    };
    if required_left == 0 {
        return finish(
            PartOutcome::Linearizable,
            best,
            best_unplaced,
            stats,
            &states,
            &memo,
        );
    }

    let mut e = next[HEAD as usize];
    loop {
        stats.steps += 1;
        if stats.steps & 0x3ff == 0 {
            let reason = if limits.cancel.load(Ordering::Relaxed) {
                Some(UnknownReason::Cancelled)
            } else if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                Some(UnknownReason::Timeout)
            } else {
                None
            };
            if let Some(reason) = reason {
                if stack.len() > best.len() {
                    best = stack
                        .iter()
                        .map(|&(c, _, _)| entry_op[c as usize])
                        .collect();
                    best_unplaced = candidates(&next, &is_call, &entry_op, nr, tail);
                }
                let r = PartOutcome::Unknown(reason);
                return finish(r, best, best_unplaced, stats, &states, &memo);
            }
        }
        if e != tail && is_call[e as usize] {
            let local = entry_op[e as usize] as usize;
            let required = local < nr;
            if required != (phase == 0) {
                e = next[e as usize];
                continue;
            }
            let op = &ops[locals[local]];
            let stepped = model.step(states.get(cur), &op.input, op.output.as_ref());
            let mut advanced = false;
            if let Some(next_state) = stepped {
                let sid = match states.intern(next_state, budget(&states, &memo)) {
                    Ok(id) => id,
                    Err(Full) => {
                        let r = PartOutcome::Unknown(UnknownReason::MemoryLimit);
                        return finish(r, best, best_unplaced, stats, &states, &memo);
                    }
                };
                // An unknown-outcome operation that leaves the state unchanged is never worth
                // linearizing: leaving it out (it never happened) allows everything this allows.
                if required || sid != cur {
                    toggle(local, &mut r_bits, &mut u_bits, &mut r_hash);
                    let budget = budget(&states, &memo);
                    match memo.insert(r_hash, &r_bits, &u_bits, sid, budget) {
                        Ok(true) => {
                            stack.push((e, cur, phase));
                            phase = 0;
                            cur = sid;
                            lift(&mut next, &mut prev, e, matching[e as usize]);
                            if required {
                                required_left -= 1;
                                if required_left == 0 {
                                    let lin = stack.iter().map(|&(c, _, _)| entry_op[c as usize]);
                                    let lin = lin.collect();
                                    let r = PartOutcome::Linearizable;
                                    return finish(r, lin, Vec::new(), stats, &states, &memo);
                                }
                            }
                            e = next[HEAD as usize];
                            advanced = true;
                        }
                        Ok(false) => toggle(local, &mut r_bits, &mut u_bits, &mut r_hash),
                        Err(Full) => {
                            let r = PartOutcome::Unknown(UnknownReason::MemoryLimit);
                            return finish(r, best, best_unplaced, stats, &states, &memo);
                        }
                    }
                }
            }
            if !advanced {
                e = next[e as usize];
            }
        } else {
            // A return entry (or the end): its operation should have been linearized by now.
            if phase == 0 && nr < n {
                phase = 1;
                e = next[HEAD as usize];
                continue;
            }
            if stack.len() > best.len() || best.is_empty() && best_unplaced.is_empty() {
                best = stack
                    .iter()
                    .map(|&(c, _, _)| entry_op[c as usize])
                    .collect();
                best_unplaced = candidates(&next, &is_call, &entry_op, nr, tail);
            }
            let Some((c, before, was)) = stack.pop() else {
                let r = PartOutcome::NotLinearizable;
                return finish(r, best, best_unplaced, stats, &states, &memo);
            };
            let local = entry_op[c as usize] as usize;
            if local < nr {
                required_left += 1;
            }
            cur = before;
            phase = was;
            toggle(local, &mut r_bits, &mut u_bits, &mut r_hash);
            unlift(&mut next, &mut prev, c, matching[c as usize]);
            e = next[c as usize];
        }
    }
}

/// The operations with a known outcome that could go next: calls before the first return.
fn candidates(next: &[u32], is_call: &[bool], entry_op: &[u32], nr: usize, tail: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut e = next[HEAD as usize];
    while e != tail && is_call[e as usize] {
        let local = entry_op[e as usize];
        if (local as usize) < nr {
            out.push(local);
        }
        e = next[e as usize];
    }
    out
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
