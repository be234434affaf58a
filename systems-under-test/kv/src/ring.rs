//! The ring: a fixed number of partitions, each owned by one member node, as riak_core's
//! `chash` ring. A key hashes (FNV-1a, never a randomly seeded hasher) to a partition; its
//! preference list is the first N distinct owners walking clockwise from that partition, and
//! its fallbacks are the next distinct members after them.
//!
//! Ownership changes only by [`Ring::join`] and [`Ring::leave`], which move as few partitions
//! as balance allows, and every change bumps the ring's version. Rings spread by gossip; of two
//! rings the one with the larger `(version, changed_by)` wins, so every node ends up with the
//! same ring.

use crate::codec::{fnv64, Decoder, Encoder};
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use weft::NodeId;

/// The ring's shape and ownership. Immutable once made, and shared: a clone (a node's copy, a
/// gossiped ring) is a reference count, and the walk of every partition is computed at the
/// ring's first use (or taken from the last ring of the same claim: every node of a cluster
/// starts with the same ring, made anew).
#[derive(Clone)]
pub struct Ring {
    shape: Rc<Shape>,
}

/// What a ring holds.
struct Shape {
    version: u64,
    changed_by: u32,
    claim: Claim,
    /// For each partition, every member in the order a walk clockwise from it meets them
    /// (`members.len()` nodes per partition): its preference list is a prefix, its fallbacks
    /// the rest.
    order: OnceCell<Rc<[NodeId]>>,
}

/// Who owns what: the members, and each partition's owner.
#[derive(Clone, PartialEq, Eq)]
struct Claim {
    members: Vec<NodeId>,
    owners: Vec<NodeId>,
}

impl PartialEq for Ring {
    fn eq(&self, other: &Ring) -> bool {
        Rc::ptr_eq(&self.shape, &other.shape)
            || (self.version() == other.version() && self.shape.claim == other.shape.claim)
    }
}

thread_local! {
    /// The last ring whose walks were computed: a ring of the same claim shares them.
    static LAST_WALKED: RefCell<Option<Ring>> = const { RefCell::new(None) };
    /// The partitions two nodes are both primaries of (for `n` replicas), for the last claim
    /// asked about: anti-entropy asks at every round of every node.
    static SHARED: RefCell<Option<SharedMemo>> = const { RefCell::new(None) };
}

/// A ring (for its claim), and the partitions shared by pairs of its nodes.
type SharedMemo = (Ring, BTreeMap<(NodeId, NodeId, usize), Vec<usize>>);

impl Eq for Ring {}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<usize> = self.members().iter().map(|m| m.index()).collect();
        let (version, changed_by) = self.version();
        write!(f, "ring v{version}.{changed_by} members {members:?}")
    }
}

impl Claim {
    /// Partitions owned by each member (members owning none included).
    fn owned_counts(&self) -> BTreeMap<NodeId, usize> {
        let mut counts: BTreeMap<NodeId, usize> = self.members.iter().map(|m| (*m, 0)).collect();
        for owner in &self.owners {
            *counts.entry(*owner).or_default() += 1;
        }
        counts
    }

    /// Whether giving `partition` to `node` keeps it off the `spread - 1` partitions on each
    /// side (so that preference lists walk fewer duplicates).
    fn spaced(&self, partition: usize, node: NodeId, spread: usize) -> bool {
        let count = self.owners.len();
        (1..spread).all(|d| {
            self.owners[(partition + d) % count] != node
                && self.owners[(partition + count - d % count) % count] != node
        })
    }

    /// Every member in the order a walk clockwise from `partition` meets them: the distinct
    /// owners, then the members owning nothing. Appended to `out`.
    fn walk_one(&self, partition: usize, out: &mut Vec<NodeId>) {
        let (count, start) = (self.owners.len(), out.len());
        let all = self.members.len();
        for step in 0..count {
            if out.len() - start == all {
                return;
            }
            let owner = self.owners[(partition + step) % count];
            if !out[start..].contains(&owner) {
                out.push(owner);
            }
        }
        for member in &self.members {
            if !out[start..].contains(member) {
                out.push(*member);
            }
        }
    }
}

impl Ring {
    fn from_parts(version: u64, changed_by: u32, claim: Claim) -> Ring {
        Ring {
            shape: Rc::new(Shape {
                version,
                changed_by,
                claim,
                order: OnceCell::new(),
            }),
        }
    }

    /// A ring of `partition_count` partitions claimed round-robin by `members` (a cluster
    /// created with all of them, as by `riak-admin cluster plan` with every join staged).
    pub fn new(partition_count: usize, members: &[NodeId]) -> Ring {
        assert!(partition_count > 0, "a ring has partitions");
        assert!(!members.is_empty(), "a ring has members");
        let mut members = members.to_vec();
        members.sort();
        members.dedup();
        let owners = (0..partition_count)
            .map(|p| members[p % members.len()])
            .collect();
        Ring::from_parts(1, 0, Claim { members, owners })
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> usize {
        self.shape.claim.owners.len()
    }

    /// The version: bumped by every ownership change.
    pub fn version(&self) -> (u64, u32) {
        (self.shape.version, self.shape.changed_by)
    }

    /// Whether this ring supersedes `other` (gossip keeps the newer).
    pub fn is_newer_than(&self, other: &Ring) -> bool {
        self.version() > other.version()
    }

    /// The members, in order.
    pub fn members(&self) -> &[NodeId] {
        &self.shape.claim.members
    }

    /// Whether `node` is a member.
    pub fn is_member(&self, node: NodeId) -> bool {
        self.members().binary_search(&node).is_ok()
    }

    /// The owner of partition `partition`.
    pub fn owner(&self, partition: usize) -> NodeId {
        self.shape.claim.owners[partition]
    }

    /// The partition a key hashes to (the hash's position on a ring of 2^64 points; FNV-1a
    /// then MurmurHash3's finalizer, which spreads the high bits).
    pub fn partition_of(&self, key: &str) -> usize {
        let hash = u128::from(mix64(fnv64(key.as_bytes())));
        ((hash * self.partition_count() as u128) >> 64) as usize
    }

    /// Every member in the order a walk clockwise from `partition` meets them: the first `n`
    /// are the preference list for N = `n`, the rest the fallbacks in the order they are
    /// chosen. (Called for every request and every key of every handoff pass, so it is
    /// computed once per ring for all partitions.)
    pub fn walk_from(&self, partition: usize) -> &[NodeId] {
        let all = self.members().len();
        let order = self.shape.order.get_or_init(|| self.walk_all());
        &order[partition * all..(partition + 1) * all]
    }

    /// Every partition's walk, one after the other: the last walked ring's if it has the same
    /// claim, else computed (and this ring becomes the last walked).
    fn walk_all(&self) -> Rc<[NodeId]> {
        let claim = &self.shape.claim;
        let shared = LAST_WALKED.with(|last| {
            let last = last.borrow();
            let last = last.as_ref().filter(|l| l.shape.claim == *claim)?;
            last.shape.order.get().cloned()
        });
        if let Some(order) = shared {
            return order;
        }
        let mut order = Vec::with_capacity(claim.owners.len() * claim.members.len());
        for p in 0..claim.owners.len() {
            claim.walk_one(p, &mut order);
        }
        // This ring's walks are set when this returns, before anyone reads them from here.
        LAST_WALKED.with(|last| *last.borrow_mut() = Some(self.clone()));
        order.into()
    }

    /// The preference list of `partition` as a slice (see [`Ring::preflist`]).
    pub fn primaries(&self, partition: usize, n: usize) -> &[NodeId] {
        let order = self.walk_from(partition);
        &order[..n.min(order.len())]
    }

    /// Whether `node` is in the preference list of `key`.
    pub fn is_primary_for(&self, key: &str, n: usize, node: NodeId) -> bool {
        self.primaries(self.partition_of(key), n).contains(&node)
    }

    /// The partitions whose preference lists for N = `n` hold both `a` and `b`, in order.
    pub fn shared_partitions(&self, a: NodeId, b: NodeId, n: usize) -> Vec<usize> {
        SHARED.with(|memo| {
            let mut memo = memo.borrow_mut();
            // Rings of one claim share their walks (see `walk_all`): the same walks are the
            // same claim, known without comparing every partition's owner.
            let walks = self.shape.order.get();
            let same = |r: &Ring| {
                let same_walks = matches!(
                    (r.shape.order.get(), walks),
                    (Some(a), Some(b)) if Rc::ptr_eq(a, b)
                );
                Rc::ptr_eq(&r.shape, &self.shape) || same_walks || r.shape.claim == self.shape.claim
            };
            if !memo.as_ref().is_some_and(|(r, _)| same(r)) {
                *memo = Some((self.clone(), BTreeMap::new()));
            }
            let (_, shared) = memo.as_mut().expect("set above");
            let partitions = shared.entry((a, b, n)).or_insert_with(|| {
                (0..self.partition_count())
                    .filter(|p| {
                        let list = self.primaries(*p, n);
                        list.contains(&a) && list.contains(&b)
                    })
                    .collect()
            });
            partitions.clone()
        })
    }

    /// The preference list of `partition`: its first `n` distinct nodes (fewer when the ring
    /// has fewer members).
    pub fn preflist(&self, partition: usize, n: usize) -> Vec<NodeId> {
        self.primaries(partition, n).to_vec()
    }

    /// The preference list for `key`.
    pub fn preflist_for(&self, key: &str, n: usize) -> Vec<NodeId> {
        self.preflist(self.partition_of(key), n)
    }

    /// The nodes after the preference list, in the order fallbacks are chosen.
    pub fn fallbacks(&self, partition: usize, n: usize) -> Vec<NodeId> {
        let order = self.walk_from(partition);
        order[n.min(order.len())..].to_vec()
    }

    /// Partitions owned by each member (members owning none included).
    pub fn owned_counts(&self) -> BTreeMap<NodeId, usize> {
        self.shape.claim.owned_counts()
    }

    /// The ring with `node` joined by `by`: the newcomer takes partitions, one at a time, from
    /// the member owning the most, until it owns its fair share (rounded down). Nothing else
    /// moves.
    pub fn join(&self, node: NodeId, by: NodeId, spread: usize) -> Ring {
        let mut next = self.shape.claim.clone();
        if self.is_member(node) {
            return self.bumped(by, next);
        }
        next.members.push(node);
        next.members.sort();
        let target = next.owners.len() / next.members.len();
        for _ in 0..target {
            let counts = next.owned_counts();
            let (richest, _) = counts
                .iter()
                .filter(|(m, _)| **m != node)
                .max_by_key(|(m, c)| (**c, **m))
                .expect("other members");
            let richest = *richest;
            let theirs: Vec<usize> = (0..next.owners.len())
                .filter(|p| next.owners[*p] == richest)
                .collect();
            let pick = theirs
                .iter()
                .copied()
                .find(|p| next.spaced(*p, node, spread))
                .unwrap_or(theirs[0]);
            next.owners[pick] = node;
        }
        self.bumped(by, next)
    }

    /// The ring with `node` removed by `by`: each of its partitions goes to the member owning
    /// the fewest (spaced where possible). Nothing else moves.
    pub fn leave(&self, node: NodeId, by: NodeId, spread: usize) -> Ring {
        let mut next = self.shape.claim.clone();
        if !self.is_member(node) || next.members.len() == 1 {
            return self.bumped(by, next);
        }
        next.members.retain(|m| *m != node);
        for partition in 0..next.owners.len() {
            if next.owners[partition] != node {
                continue;
            }
            let counts = next.owned_counts();
            let mut order: Vec<(usize, NodeId)> = counts
                .iter()
                .filter(|(m, _)| **m != node)
                .map(|(m, c)| (*c, *m))
                .collect();
            order.sort();
            let heir = order
                .iter()
                .find(|(_, m)| next.spaced(partition, *m, spread))
                .unwrap_or(&order[0])
                .1;
            next.owners[partition] = heir;
        }
        self.bumped(by, next)
    }

    /// Appends the ring to `e` (a node persists every ring it adopts).
    pub fn encode(&self, e: &mut Encoder) {
        e.u64(self.shape.version);
        e.u32(self.shape.changed_by);
        let claim = &self.shape.claim;
        for list in [&claim.members, &claim.owners] {
            e.u32(list.len() as u32);
            for node in list.iter() {
                e.u32(node.index() as u32);
            }
        }
    }

    /// A ring [`Ring::encode`] wrote, or `None` if `d` holds none.
    pub fn decode(d: &mut Decoder<'_>) -> Option<Ring> {
        let (version, changed_by) = (d.u64()?, d.u32()?);
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            for _ in 0..d.u32()? {
                list.push(NodeId::from_index(d.u32()? as usize));
            }
        }
        let [members, owners] = lists;
        let valid = !owners.is_empty() && owners.iter().all(|o| members.contains(o));
        valid.then(|| Ring::from_parts(version, changed_by, Claim { members, owners }))
    }

    /// `claim` as the next version of this ring, changed by `by`.
    fn bumped(&self, by: NodeId, claim: Claim) -> Ring {
        Ring::from_parts(self.shape.version + 1, by.index() as u32, claim)
    }
}

/// MurmurHash3's 64-bit finalizer.
fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(range: std::ops::Range<usize>) -> Vec<NodeId> {
        range.map(NodeId::from_index).collect()
    }

    fn assert_balanced(ring: &Ring) {
        let fair = ring.partition_count() as f64 / ring.members().len() as f64;
        for (node, count) in ring.owned_counts() {
            assert!(
                count as f64 <= (1.5 * fair).max(1.0),
                "{node:?} owns {count} of {} partitions (fair share {fair})",
                ring.partition_count()
            );
        }
    }

    fn moved(a: &Ring, b: &Ring) -> usize {
        (0..a.partition_count())
            .filter(|p| a.owner(*p) != b.owner(*p))
            .count()
    }

    #[test]
    fn initial_claim_is_balanced_and_preflists_are_distinct() {
        for size in 1..12 {
            let ring = Ring::new(64, &nodes(1..1 + size));
            assert_balanced(&ring);
            for p in 0..64 {
                let list = ring.preflist(p, 3);
                assert_eq!(list.len(), 3.min(size));
                let mut sorted = list.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), list.len(), "distinct nodes in {list:?}");
                assert_eq!(list[0], ring.owner(p), "the owner comes first");
            }
        }
    }

    #[test]
    fn joins_one_at_a_time_stay_balanced_and_move_little() {
        let mut ring = Ring::new(64, &nodes(1..4));
        for joiner in 4..20 {
            let next = ring.join(NodeId::from_index(joiner), NodeId::from_index(1), 3);
            assert_balanced(&next);
            let fair = 64 / next.members().len();
            assert_eq!(moved(&ring, &next), fair, "only the newcomer's share moves");
            assert!(next.is_newer_than(&ring));
            for p in 0..64 {
                assert_eq!(next.preflist(p, 3).len(), 3);
            }
            ring = next;
        }
    }

    #[test]
    fn leave_moves_only_the_leavers_partitions() {
        let ring = Ring::new(64, &nodes(1..6));
        let leaver = NodeId::from_index(3);
        let owned = ring.owned_counts()[&leaver];
        let next = ring.leave(leaver, NodeId::from_index(1), 3);
        assert!(!next.is_member(leaver));
        assert_eq!(moved(&ring, &next), owned);
        assert_balanced(&next);
        assert!((0..64).all(|p| next.owner(p) != leaver));
    }

    #[test]
    fn a_ring_decodes_to_itself() {
        let ring =
            Ring::new(64, &nodes(1..6)).join(NodeId::from_index(9), NodeId::from_index(2), 3);
        let mut e = Encoder::default();
        ring.encode(&mut e);
        let decoded = Ring::decode(&mut Decoder::new(&e.bytes)).expect("a ring");
        assert_eq!(decoded, ring);
        assert_eq!(decoded.version(), (2, 2));
        let short = &e.bytes[..e.bytes.len() - 1];
        assert_eq!(Ring::decode(&mut Decoder::new(short)), None);
    }

    #[test]
    fn key_placement_is_stable_and_spread() {
        let ring = Ring::new(64, &nodes(1..6));
        assert_eq!(ring.partition_of("k1"), ring.partition_of("k1"));
        let mut hit = [false; 64];
        for i in 0..2000 {
            hit[ring.partition_of(&format!("key{i}"))] = true;
        }
        assert!(hit.iter().all(|h| *h), "every partition gets keys");
        let fallbacks = ring.fallbacks(0, 3);
        assert_eq!(fallbacks.len(), 2);
        assert!(fallbacks.iter().all(|f| !ring.preflist(0, 3).contains(f)));
    }
}
