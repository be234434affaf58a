//! Active anti-entropy: periodically each node compares the partitions it shares with another
//! node (both primaries of them; peers in turn) by the hash of every key's object, and both
//! end with the merge of every key that differed. Replicas converge after any fault heals,
//! even for keys nobody reads.
//!
//! The exchange: the initiator sends its (key, hash) list; the peer answers with its objects
//! for keys whose hashes differ and the keys it lacks; the initiator merges those objects in
//! (durably) and sends the merges of all differing keys back.

use crate::coordinator::Gather;
use crate::node::Node;
use crate::object::Object;
use crate::protocol::{Msg, Reply};
use crate::replica;
use crate::ring::Ring;
use std::collections::BTreeMap;
use weft::NodeId;

/// This node's (key, hash) for every key of `partitions`, by key.
fn hashes(node: &Node, partitions: &[usize]) -> Vec<(String, u64)> {
    let state = node.state.borrow();
    state
        .objects
        .iter()
        .filter(|(k, _)| in_partitions(&state.ring, partitions, k))
        .map(|(k, o)| (k.clone(), o.hash()))
        .collect()
}

fn in_partitions(ring: &Ring, partitions: &[usize], key: &str) -> bool {
    partitions.binary_search(&ring.partition_of(key)).is_ok()
}

/// The peer's side: objects for keys that differ, and keys this node lacks. One pass over
/// this node's keys and the peer's, both sorted.
pub(crate) fn diff(node: &Node, partitions: &[usize], theirs: &[(String, u64)]) -> Reply {
    let sorted;
    let theirs = if theirs.windows(2).all(|w| w[0].0 < w[1].0) {
        theirs
    } else {
        sorted = sorted_by_key(theirs);
        &sorted[..]
    };
    let state = node.state.borrow();
    let (mut objects, mut missing) = (Vec::new(), Vec::new());
    let mut rest = theirs.iter().peekable();
    let mine = state.objects.iter();
    for (key, object) in mine.filter(|(k, _)| in_partitions(&state.ring, partitions, k)) {
        let lacking = std::iter::from_fn(|| rest.next_if(|(k, _)| k < key));
        missing.extend(lacking.map(|(k, _)| k.clone()));
        let hash = rest.next_if(|(k, _)| k == key).map(|(_, h)| *h);
        if hash != Some(object.hash()) {
            objects.push((key.clone(), object.clone()));
        }
    }
    missing.extend(rest.map(|(k, _)| k.clone()));
    Reply::Diff { objects, missing }
}

/// A peer's (key, hash) list sorted by key, one entry per key (the last given).
fn sorted_by_key(list: &[(String, u64)]) -> Vec<(String, u64)> {
    let map: BTreeMap<&String, u64> = list.iter().map(|(k, h)| (k, *h)).collect();
    map.into_iter().map(|(k, h)| (k.clone(), h)).collect()
}

/// How an exchange ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exchanged {
    /// Both held the same objects: nothing was sent.
    Equal,
    /// Objects were exchanged, or the exchange stopped early.
    Other,
}

/// One exchange of `partitions` with `peer`.
async fn exchange(node: &Node, partitions: Vec<usize>, peer: NodeId) -> Exchanged {
    let hashes = hashes(node, &partitions);
    let msg = Msg::Exchange { partitions, hashes };
    let mut gather = Gather::scatter(node, &[peer], msg);
    let Some((_, Reply::Diff { objects, missing })) = gather.next().await else {
        return Exchanged::Other;
    };
    node.trust(peer);
    if objects.is_empty() && missing.is_empty() {
        return Exchanged::Equal;
    }
    let mut repairs: Vec<(String, Object)> = Vec::new();
    for (key, object) in objects {
        let merged = match replica::store(node, &key, &object).await {
            Reply::Stored(merged) => merged,
            _ => return Exchanged::Other,
        };
        if merged != object {
            repairs.push((key, merged));
        }
    }
    for key in missing {
        let object = node.state.borrow().objects.get(&key).cloned();
        repairs.extend(object.map(|o| (key, o)));
    }
    for (key, object) in repairs {
        let mut gather = Gather::scatter(node, &[peer], Msg::Store { key, object });
        if gather.next().await.is_none() {
            break;
        }
    }
    Exchanged::Other
}

/// What the anti-entropy rounds of a node remember: whose turn it is, the ring of the last
/// round, and the peers found equal.
///
/// A node skips a peer it found equal in an exchange when its own objects have not changed
/// since: any difference now comes from a change on the peer, whose own exchanges (its
/// objects changed, so it skips nobody) find it. A restart forgets every peer found equal.
#[derive(Default)]
pub(crate) struct Aae {
    round: usize,
    // The ring of the last round: a new ring forgets the peers found equal.
    ring: Option<Ring>,
    // Peers found equal, with this node's change count at that exchange's start.
    equal: BTreeMap<NodeId, u64>,
}

impl Aae {
    /// One round: an exchange with the next member in turn, covering every partition both
    /// are primaries of.
    pub(crate) async fn round(&mut self, node: &Node) {
        let ring = node.ring();
        let n = node.config.n_val;
        if self.ring.as_ref() != Some(&ring) {
            self.ring = Some(ring.clone());
            self.equal.clear();
        }
        let peers = || ring.members().iter().copied().filter(|m| *m != node.me);
        let count = peers().count();
        let Some(peer) = peers().nth(self.round % count.max(1)) else {
            return;
        };
        self.round += 1;
        let changes = node.state.borrow().changes;
        if self.equal.get(&peer) == Some(&changes) {
            return;
        }
        let shared = ring.shared_partitions(node.me, peer, n);
        if !shared.is_empty() && exchange(node, shared, peer).await == Exchanged::Other {
            self.equal.remove(&peer);
        } else {
            self.equal.insert(peer, changes);
        }
    }
}
