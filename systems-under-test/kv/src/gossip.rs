//! Gossip of the ring and membership changes. Each round a node sends its ring to the next
//! member in turn (round-robin: no random draws, so the default schedule is quiet); the
//! receiver keeps the newer ring and answers with its own when that one is newer, so two nodes
//! agree after one exchange and every node agrees within a few rounds.
//!
//! A join or leave is applied by whichever node receives it, as a new ring version, and
//! acknowledged once that ring is on the node's disk; of two concurrent changes the larger
//! `(version, changed_by)` wins, and a joiner asks again until the ring it holds counts it
//! in. Every ring a node adopts is persisted, so a restart does not take it back to the
//! initial ring.

use crate::node::{addr, Node};
use crate::protocol::{KvError, Msg, Reply};
use crate::ring::Ring;
use crate::storage::Storage;
use std::rc::Rc;
use weft::net::call;
use weft::NodeId;
use weft::{task, time};

/// Keeps `ring` if it is newer than the node's; returns whether it did.
fn keep(node: &Node, ring: &Ring) -> bool {
    let mut state = node.state.borrow_mut();
    if !ring.is_newer_than(&state.ring) {
        return false;
    }
    weft::ensure!(
        ring.partition_count() == state.ring.partition_count(),
        "rings of different sizes"
    );
    state.ring = ring.clone();
    true
}

/// Keeps `ring` if it is newer, and persists it in the background.
fn adopt(node: &Node, ring: Ring) {
    if keep(node, &ring) {
        task::spawn(async move {
            // A lost save only means a restart recovers an older ring, which gossip updates.
            let _ = Storage::save_ring(&ring).await;
        });
    }
}

/// Handles a gossiped ring.
pub(crate) fn receive(node: &Node, ring: Ring) -> Reply {
    let mine = node.ring();
    if mine.is_newer_than(&ring) {
        Reply::Ring(mine)
    } else {
        adopt(node, ring);
        Reply::Done
    }
}

/// Makes `change` of the node's ring (a join or a leave) unless `applies` says it is already
/// in; answers with the ring once the change is durable (a change acknowledged to the client
/// survives a restart of this node).
async fn change(node: &Node, applies: bool, change: impl FnOnce(&Ring) -> Ring) -> Reply {
    if applies {
        let next = change(&node.ring());
        keep(node, &next);
        if Storage::save_ring(&next).await.is_err() {
            return Reply::Failed(KvError::Disk);
        }
    }
    Reply::Ring(node.ring())
}

/// Handles a join: the ring with `joiner` added, answered with the new ring.
pub(crate) async fn join(node: &Node, joiner: NodeId) -> Reply {
    let applies = !node.ring().is_member(joiner);
    change(node, applies, |r| {
        r.join(joiner, node.me, node.config.n_val)
    })
    .await
}

/// Handles a leave.
pub(crate) async fn leave(node: &Node, leaver: NodeId) -> Reply {
    let applies = node.ring().is_member(leaver);
    change(node, applies, |r| {
        r.leave(leaver, node.me, node.config.n_val)
    })
    .await
}

/// What the gossip rounds of a node remember: whose turn it is.
#[derive(Default)]
pub(crate) struct Gossip {
    round: usize,
}

impl Gossip {
    /// One gossip round: the node's ring to the next peer in turn.
    pub(crate) async fn round(&mut self, node: &Node) {
        let ring = node.ring();
        let peers: Vec<NodeId> = ring
            .members()
            .iter()
            .copied()
            .filter(|m| *m != node.me)
            .collect();
        if peers.is_empty() {
            return;
        }
        let peer = peers[self.round % peers.len()];
        self.round += 1;
        match call::<Msg, Reply>(addr(peer), Msg::Gossip(ring), node.config.timing.request).await {
            Ok(reply) => {
                node.trust(peer);
                if let Reply::Ring(theirs) = reply {
                    adopt(node, theirs);
                }
            }
            Err(_) => node.suspect(peer),
        }
    }
}

/// A joiner's loop: ask the seed to add this node until the ring counts it in.
pub(crate) async fn join_loop(node: Rc<Node>) {
    let seed = node.config.seed.expect("a joiner has a seed");
    while !node.ring().is_member(node.me) {
        let ask = call::<Msg, Reply>(addr(seed), Msg::Join(node.me), node.config.timing.request);
        if let Ok(Reply::Ring(ring)) = ask.await {
            adopt(&node, ring);
        }
        time::sleep(node.config.timing.gossip).await;
    }
}
