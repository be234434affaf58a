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
fn hashes(node: &Node, partitions: &[usize]) -> BTreeMap<String, u64> {
    let state = node.state.borrow();
    state
        .objects
        .iter()
        .filter(|(k, _)| {
            partitions
                .binary_search(&state.ring.partition_of(k))
                .is_ok()
        })
        .map(|(k, o)| (k.clone(), o.hash()))
        .collect()
}

/// The peer's side: objects for keys that differ, and keys this node lacks.
pub(crate) fn diff(node: &Node, partitions: &[usize], theirs: &[(String, u64)]) -> Reply {
    let mine = hashes(node, partitions);
    let theirs: BTreeMap<&String, u64> = theirs.iter().map(|(k, h)| (k, *h)).collect();
    let state = node.state.borrow();
    let mut objects = Vec::new();
    for (key, hash) in &mine {
        if theirs.get(key) != Some(hash) {
            objects.push((key.clone(), state.objects[key].clone()));
        }
    }
    let missing = theirs
        .keys()
        .filter(|k| !mine.contains_key(**k))
        .map(|k| (*k).clone())
        .collect();
    Reply::Diff { objects, missing }
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
    let hashes: Vec<(String, u64)> = hashes(node, &partitions).into_iter().collect();
    let msg = Msg::Exchange { partitions, hashes };
    let mut gather = Gather::scatter(node, &[peer], &msg);
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
        let mut gather = Gather::scatter(node, &[peer], &Msg::Store { key, object });
        if gather.next().await.is_none() {
            break;
        }
    }
    Exchanged::Other
}

/// What the anti-entropy rounds of a node remember: whose turn it is, the preference lists
/// of the ring they were computed from, and the peers found equal.
///
/// A node skips a peer it found equal in an exchange when its own objects have not changed
/// since: any difference now comes from a change on the peer, whose own exchanges (its
/// objects changed, so it skips nobody) find it. A restart forgets every peer found equal.
#[derive(Default)]
pub(crate) struct Aae {
    round: usize,
    // Every partition's preference list, for the ring they were computed from: rings change
    // rarely, exchanges happen often.
    preflists: Option<(Ring, Vec<Vec<NodeId>>)>,
    // Peers found equal, with this node's change count at that exchange's start.
    equal: BTreeMap<NodeId, u64>,
}

impl Aae {
    /// One round: an exchange with the next member in turn, covering every partition both
    /// are primaries of.
    pub(crate) async fn round(&mut self, node: &Node) {
        let ring = node.ring();
        let n = node.config.n_val;
        if self.preflists.as_ref().map(|(r, _)| r) != Some(&ring) {
            let lists = (0..ring.partition_count())
                .map(|p| ring.preflist(p, n))
                .collect();
            self.preflists = Some((ring.clone(), lists));
            self.equal.clear();
        }
        let peers: Vec<NodeId> = ring
            .members()
            .iter()
            .copied()
            .filter(|m| *m != node.me)
            .collect();
        let Some(peer) = peers.get(self.round % peers.len().max(1)).copied() else {
            return;
        };
        self.round += 1;
        let changes = node.state.borrow().changes;
        if self.equal.get(&peer) == Some(&changes) {
            return;
        }
        let lists = &self.preflists.as_ref().expect("computed above").1;
        let shared: Vec<usize> = (0..ring.partition_count())
            .filter(|p| lists[*p].contains(&node.me) && lists[*p].contains(&peer))
            .collect();
        if !shared.is_empty() && exchange(node, shared, peer).await == Exchanged::Other {
            self.equal.remove(&peer);
        } else {
            self.equal.insert(peer, changes);
        }
    }
}
