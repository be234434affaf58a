//! Versions: dotted version vectors with siblings (a DVV set, as Riak's `dvvset`), and the
//! last-write-wins alternative.
//!
//! A [`Dvv`] holds, per actor (a node in one of its lives, see [`Actor`]), the highest event
//! counter seen and the values still live whose *dot* (actor, counter) is that actor's. A write
//! carries the causal context the client read; it discards exactly the values whose dots the
//! context covers, so two writes from the same context become siblings and a read-modify-write
//! supersedes what it read. [`Dvv::sync`] merges two replicas' versions: a value survives when
//! both hold it or the other side never saw its dot.
//!
//! The planted bug `replica-clock-siblings` stores values without dots ("anonymous" values), as
//! Riak's vector clocks keyed by replica did: a write can only drop them all (its context
//! descends the whole clock) or none, which is riak_test #383's sibling explosion.

use crate::codec::{Decoder, Encoder};
use std::fmt;

/// Who makes an event: a node in one of its lives. A node takes a new epoch at every start
/// (persisted), and a fresh one when its disk was lost, so an actor's counters never repeat.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Actor {
    /// The node's index.
    pub node: u32,
    /// The node's life.
    pub epoch: u32,
}

impl fmt::Debug for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}.{}", self.node, self.epoch)
    }
}

/// A causal context: the highest counter seen per actor, sorted by actor.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Context(pub Vec<(Actor, u64)>);

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (actor, counter)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{actor:?}:{counter}")?;
        }
        f.write_str("}")
    }
}

impl Context {
    /// The counter seen for `actor` (0: none).
    pub fn get(&self, actor: Actor) -> u64 {
        self.0
            .binary_search_by_key(&actor, |(a, _)| *a)
            .map_or(0, |i| self.0[i].1)
    }

    /// Whether this context has seen every event `other` has.
    pub fn descends(&self, other: &Context) -> bool {
        other.0.iter().all(|(a, c)| self.get(*a) >= *c)
    }
}

/// One actor's part of a [`Dvv`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<V> {
    /// The actor.
    pub actor: Actor,
    /// The highest counter of the actor's events seen.
    pub counter: u64,
    /// The coordinating node's wall clock at the actor's latest event (for pruning).
    pub stamp: u64,
    /// The live values with this actor's dots, by dot.
    pub values: Vec<(u64, V)>,
}

/// A dotted version vector set: the versions of one key.
#[derive(Clone, PartialEq, Eq)]
pub struct Dvv<V> {
    entries: Vec<Entry<V>>,
    anonymous: Vec<V>,
}

impl<V: fmt::Debug> fmt::Debug for Dvv<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_with(f, &|v| format!("{v:?}"))
    }
}

impl<V> Dvv<V> {
    /// Formats the siblings as `[actor:dot=value, ...]`, each value shown by `show`.
    pub fn fmt_with(&self, f: &mut fmt::Formatter<'_>, show: &dyn Fn(&V) -> String) -> fmt::Result {
        let mut list = f.debug_list();
        for entry in &self.entries {
            for (dot, value) in &entry.values {
                list.entry(&format_args!("{:?}:{dot}={}", entry.actor, show(value)));
            }
        }
        for value in &self.anonymous {
            list.entry(&format_args!("~{}", show(value)));
        }
        list.finish()
    }
}

impl<V> Default for Dvv<V> {
    fn default() -> Self {
        Dvv {
            entries: Vec::new(),
            anonymous: Vec::new(),
        }
    }
}

/// Which end of the clock pruning removes (riak_core #613 removed the wrong one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneOrder {
    /// The correct order: the oldest entries go first.
    OldestFirst,
    /// The planted bug `prune-youngest`: the sort is inverted and the youngest goes.
    YoungestFirst,
}

/// When a clock is pruned (Riak's `small_vclock`, `big_vclock`, `young_vclock`,
/// `old_vclock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneLimits {
    /// No pruning at or below this many entries.
    pub small: usize,
    /// Above this many entries, prune down regardless of `old_ns`.
    pub big: usize,
    /// Never prune when the candidate entry is younger than this.
    pub young_ns: u64,
    /// Prune entries older than this once above `small`.
    pub old_ns: u64,
}

impl<V: Clone + Ord> Dvv<V> {
    /// No versions.
    pub fn new() -> Dvv<V> {
        Dvv::default()
    }

    /// The entries, by actor.
    pub fn entries(&self) -> &[Entry<V>] {
        &self.entries
    }

    /// The causal context a client gets with a read.
    pub fn context(&self) -> Context {
        Context(self.entries.iter().map(|e| (e.actor, e.counter)).collect())
    }

    /// Every live value (the siblings), dotted ones by actor and dot, then anonymous ones.
    pub fn values(&self) -> Vec<&V> {
        self.iter_values().collect()
    }

    /// The same values as [`Dvv::values`], without collecting them.
    pub fn iter_values(&self) -> impl Iterator<Item = &V> {
        let dotted = self
            .entries
            .iter()
            .flat_map(|e| e.values.iter().map(|v| &v.1));
        dotted.chain(self.anonymous.iter())
    }

    /// Whether this version has seen every event `other` has.
    pub fn descends(&self, other: &Dvv<V>) -> bool {
        other
            .entries
            .iter()
            .all(|e| self.counter(e.actor) >= e.counter)
    }

    fn entry(&self, actor: Actor) -> Option<&Entry<V>> {
        self.entries
            .binary_search_by_key(&actor, |e| e.actor)
            .ok()
            .map(|i| &self.entries[i])
    }

    fn entry_mut(&mut self, actor: Actor) -> &mut Entry<V> {
        let i = match self.entries.binary_search_by_key(&actor, |e| e.actor) {
            Ok(i) => i,
            Err(i) => {
                let entry = Entry {
                    actor,
                    counter: 0,
                    stamp: 0,
                    values: Vec::new(),
                };
                self.entries.insert(i, entry);
                i
            }
        };
        &mut self.entries[i]
    }

    /// The highest counter of `actor` seen.
    pub fn counter(&self, actor: Actor) -> u64 {
        self.entry(actor).map_or(0, |e| e.counter)
    }

    /// Merges two replicas' versions: values both hold, or that the other never saw, survive.
    pub fn sync(&self, other: &Dvv<V>) -> Dvv<V> {
        let mut entries = Vec::with_capacity(self.entries.len().max(other.entries.len()));
        let (mut ours, mut theirs) = (
            self.entries.iter().peekable(),
            other.entries.iter().peekable(),
        );
        // Both entry lists are sorted by actor: one pass over the two, as a merge sort's.
        loop {
            let (a, b) = match (ours.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(a), Some(b)) if a.actor == b.actor => (ours.next(), theirs.next()),
                (Some(a), Some(b)) if a.actor < b.actor => (ours.next(), None),
                (Some(_), None) => (ours.next(), None),
                (_, Some(_)) => (None, theirs.next()),
            };
            let actor = a.or(b).map(|e| e.actor).expect("one side has the actor");
            entries.push(Entry {
                actor,
                counter: a.map_or(0, |e| e.counter).max(b.map_or(0, |e| e.counter)),
                stamp: a.map_or(0, |e| e.stamp).max(b.map_or(0, |e| e.stamp)),
                values: merge_values(a, b),
            });
        }
        Dvv {
            entries,
            anonymous: self.sync_anonymous(other),
        }
    }

    fn sync_anonymous(&self, other: &Dvv<V>) -> Vec<V> {
        let (ours, theirs) = (self.descends(other), other.descends(self));
        match (ours, theirs) {
            (true, false) => self.anonymous.clone(),
            (false, true) => other.anonymous.clone(),
            _ => {
                let mut all = self.anonymous.clone();
                all.extend(other.anonymous.iter().cloned());
                all.sort();
                all.dedup();
                all
            }
        }
    }

    /// A write of `value` by `actor` with the client's `context`: the values the context
    /// covers are discarded, the context joins the history, and the value gets the dot
    /// (`actor`, `counter`). `counter` must exceed every counter of `actor` seen anywhere.
    pub fn update(
        &self,
        context: &Context,
        value: V,
        actor: Actor,
        counter: u64,
        stamp: u64,
    ) -> Dvv<V> {
        let mut out = self.clone();
        for (a, c) in &context.0 {
            let entry = out.entry_mut(*a);
            // Events this replica learns of only from the client's context are stamped with
            // the time it learns of them: the context carries no stamps, and an older stamp
            // (or none) would let pruning drop an entry whose value other replicas still
            // hold as current, which brings that value back.
            if *c > entry.counter {
                entry.counter = *c;
                entry.stamp = entry.stamp.max(stamp);
            }
        }
        for entry in &mut out.entries {
            let seen = context.get(entry.actor);
            entry.values.retain(|(dot, _)| *dot > seen);
        }
        if context.descends(&self.context()) {
            out.anonymous.clear();
        }
        let entry = out.entry_mut(actor);
        weft::ensure!(
            counter > entry.counter,
            "dot {actor:?}:{counter} reused (seen {})",
            entry.counter
        );
        entry.counter = counter;
        entry.stamp = stamp;
        entry.values.push((counter, value));
        out
    }

    /// The planted bug `replica-clock-siblings`: a vector clock keyed by replica with
    /// undotted siblings. A write whose context descends the whole clock replaces every
    /// sibling; otherwise it is added to all of them, even those the writer had seen.
    pub fn update_per_replica(
        &self,
        context: &Context,
        value: V,
        actor: Actor,
        counter: u64,
        stamp: u64,
    ) -> Dvv<V> {
        let supersedes = context.descends(&self.context());
        let mut out = self.clone();
        for (a, c) in &context.0 {
            let entry = out.entry_mut(*a);
            entry.counter = entry.counter.max(*c);
        }
        let mut siblings: Vec<V> = if supersedes {
            Vec::new()
        } else {
            out.values().into_iter().cloned().collect()
        };
        for entry in &mut out.entries {
            entry.values.clear();
        }
        siblings.push(value);
        siblings.sort();
        siblings.dedup();
        out.anonymous = siblings;
        let entry = out.entry_mut(actor);
        entry.counter = counter;
        entry.stamp = stamp;
        out
    }

    /// Removes entries with no live values, as Riak's `vclock:prune`, once the clock is
    /// longer than `limits.small`. The correct order removes the oldest first.
    pub fn prune(&self, limits: PruneLimits, now: u64, order: PruneOrder) -> Dvv<V> {
        self.clone().into_pruned(limits, now, order)
    }

    /// [`Dvv::prune`] of a version the caller gives up (no copy when nothing is pruned).
    pub fn into_pruned(self, limits: PruneLimits, now: u64, order: PruneOrder) -> Dvv<V> {
        let mut out = self;
        loop {
            if out.entries.len() <= limits.small {
                return out;
            }
            let mut bare: Vec<(u64, Actor)> = out
                .entries
                .iter()
                .filter(|e| e.values.is_empty())
                .map(|e| (e.stamp, e.actor))
                .collect();
            bare.sort();
            let (Some(oldest), Some(youngest)) = (bare.first().copied(), bare.last().copied())
            else {
                return out;
            };
            // Riak checks the age of the head of its sorted list; #613's inverted sort made
            // the head the youngest entry while the checks still reasoned about the oldest.
            let age = now.saturating_sub(oldest.0);
            if age < limits.young_ns || (out.entries.len() <= limits.big && age <= limits.old_ns) {
                return out;
            }
            let victim = match order {
                PruneOrder::OldestFirst => oldest.1,
                PruneOrder::YoungestFirst => youngest.1,
            };
            out.entries.retain(|e| e.actor != victim);
        }
    }

    /// The planted bug `read-repair-drops-siblings`: one winner (the value with the latest
    /// stamp) under the merged clock, the other siblings' dots marked as seen.
    pub fn keep_one(&self) -> Dvv<V> {
        let mut out = self.clone();
        let winner = out
            .entries
            .iter()
            .filter(|e| !e.values.is_empty())
            .max_by_key(|e| (e.stamp, e.actor))
            .map(|e| e.actor);
        for entry in &mut out.entries {
            if Some(entry.actor) != winner {
                entry.values.clear();
            } else {
                entry.values.drain(..entry.values.len() - 1);
            }
        }
        if winner.is_some() {
            out.anonymous.clear();
        } else {
            out.anonymous.truncate(1);
        }
        out
    }
}

fn merge_values<V: Clone + Ord>(a: Option<&Entry<V>>, b: Option<&Entry<V>>) -> Vec<(u64, V)> {
    let seen_a = a.map_or(0, |e| e.counter);
    let seen_b = b.map_or(0, |e| e.counter);
    let empty = Vec::new();
    let (va, vb) = (
        a.map_or(&empty, |e| &e.values),
        b.map_or(&empty, |e| &e.values),
    );
    // Two values under one dot mean an actor was reused (kv679); keep the larger, so that
    // replicas still agree.
    let twin = |dot: u64, value: &V| {
        let theirs = &vb.iter().find(|(d, _)| *d == dot)?.1;
        Some(if value >= theirs { value } else { theirs }.clone())
    };
    let mut out: Vec<(u64, V)> = va
        .iter()
        .filter_map(|(dot, value)| match twin(*dot, value) {
            Some(kept) => Some((*dot, kept)),
            None => (*dot > seen_b).then(|| (*dot, value.clone())),
        })
        .collect();
    for (dot, value) in vb {
        if *dot > seen_a && !out.iter().any(|(d, _)| d == dot) {
            out.push((*dot, value.clone()));
        }
    }
    out.sort_by_key(|(dot, _)| *dot);
    out
}

impl Dvv<Option<Vec<u8>>> {
    /// Appends the canonical encoding (the same versions encode to the same bytes).
    pub fn encode(&self, e: &mut Encoder) {
        e.u32(self.entries.len() as u32);
        for entry in &self.entries {
            e.u32(entry.actor.node);
            e.u32(entry.actor.epoch);
            e.u64(entry.counter);
            e.u64(entry.stamp);
            e.u32(entry.values.len() as u32);
            for (dot, value) in &entry.values {
                e.u64(*dot);
                encode_value(e, value);
            }
        }
        e.u32(self.anonymous.len() as u32);
        for value in &self.anonymous {
            encode_value(e, value);
        }
    }

    /// Reads what [`Dvv::encode`] wrote.
    pub fn decode(d: &mut Decoder<'_>) -> Option<Self> {
        let mut out = Dvv::new();
        for _ in 0..d.u32()? {
            let actor = Actor {
                node: d.u32()?,
                epoch: d.u32()?,
            };
            let (counter, stamp) = (d.u64()?, d.u64()?);
            let mut values = Vec::new();
            for _ in 0..d.u32()? {
                values.push((d.u64()?, decode_value(d)?));
            }
            out.entries.push(Entry {
                actor,
                counter,
                stamp,
                values,
            });
        }
        for _ in 0..d.u32()? {
            out.anonymous.push(decode_value(d)?);
        }
        Some(out)
    }
}

/// Encodes a sibling: a value or a tombstone.
pub fn encode_value(e: &mut Encoder, value: &Option<Vec<u8>>) {
    match value {
        None => e.u8(0),
        Some(bytes) => {
            e.u8(1);
            e.bytes(bytes);
        }
    }
}

/// Decodes a sibling.
pub fn decode_value(d: &mut Decoder<'_>) -> Option<Option<Vec<u8>>> {
    match d.u8()? {
        0 => Some(None),
        1 => Some(Some(d.bytes()?)),
        _ => None,
    }
}
