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
use std::rc::Rc;
use weft::time;
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

/// One exchange of `partitions` with `peer`.
async fn exchange(node: &Node, partitions: Vec<usize>, peer: NodeId) {
    let hashes: Vec<(String, u64)> = hashes(node, &partitions).into_iter().collect();
    let msg = Msg::Exchange { partitions, hashes };
    let mut gather = Gather::scatter(node, &[peer], &msg);
    let Some((_, Reply::Diff { objects, missing })) = gather.next().await else {
        return;
    };
    node.trust(peer);
    let mut repairs: Vec<(String, Object)> = Vec::new();
    for (key, object) in objects {
        let merged = match replica::store(node, &key, &object).await {
            Reply::Stored(merged) => merged,
            _ => return,
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
            return;
        }
    }
}

/// The anti-entropy loop: the other members in turn, each exchange covering every partition
/// both are primaries of.
pub(crate) async fn run(node: Rc<Node>) {
    let mut round = 0usize;
    // Every partition's preference list, for the ring they were computed from: rings change
    // rarely, exchanges happen often.
    let mut preflists: Option<(Ring, Vec<Vec<NodeId>>)> = None;
    loop {
        time::sleep(node.config.timing.aae).await;
        let ring = node.ring();
        let n = node.config.n_val;
        if preflists.as_ref().map(|(r, _)| r) != Some(&ring) {
            let lists = (0..ring.partition_count())
                .map(|p| ring.preflist(p, n))
                .collect();
            preflists = Some((ring.clone(), lists));
        }
        let lists = &preflists.as_ref().expect("computed above").1;
        let peers: Vec<NodeId> = ring
            .members()
            .iter()
            .copied()
            .filter(|m| *m != node.me)
            .collect();
        let Some(peer) = peers.get(round % peers.len().max(1)).copied() else {
            continue;
        };
        round += 1;
        let shared: Vec<usize> = (0..ring.partition_count())
            .filter(|p| lists[*p].contains(&node.me) && lists[*p].contains(&peer))
            .collect();
        if !shared.is_empty() {
            exchange(&node, shared, peer).await;
        }
    }
}
