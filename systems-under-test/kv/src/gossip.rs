//! Gossip of the ring and membership changes. Each round a node sends its ring to the next
//! member in turn (round-robin: no random draws, so the default schedule is quiet); the
//! receiver keeps the newer ring and answers with its own when that one is newer, so two nodes
//! agree after one exchange and every node agrees within a few rounds.
//!
//! A join or leave is applied by whichever node receives it, as a new ring version; of two
//! concurrent changes the larger `(version, changed_by)` wins, and a joiner asks again until
//! the ring it holds counts it in.

use crate::node::{addr, Node};
use crate::protocol::{Msg, Reply};
use crate::ring::Ring;
use std::rc::Rc;
use weft::net::call;
use weft::time;
use weft::NodeId;

fn adopt(node: &Node, ring: Ring) {
    let mut state = node.state.borrow_mut();
    if ring.is_newer_than(&state.ring) {
        weft::ensure!(
            ring.partition_count() == state.ring.partition_count(),
            "rings of different sizes"
        );
        state.ring = ring;
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

/// Handles a join: the ring with `joiner` added, answered with the new ring.
pub(crate) fn join(node: &Node, joiner: NodeId) -> Reply {
    let ring = node.ring();
    if !ring.is_member(joiner) {
        adopt(node, ring.join(joiner, node.me, node.config.n_val));
    }
    Reply::Ring(node.ring())
}

/// Handles a leave.
pub(crate) fn leave(node: &Node, leaver: NodeId) -> Reply {
    let ring = node.ring();
    if ring.is_member(leaver) {
        adopt(node, ring.leave(leaver, node.me, node.config.n_val));
    }
    Reply::Ring(node.ring())
}

/// The gossip loop.
pub(crate) async fn run(node: Rc<Node>) {
    let mut round = 0usize;
    let mut ticks = time::interval(node.config.timing.gossip);
    loop {
        ticks.tick().await;
        let ring = node.ring();
        let peers: Vec<NodeId> = ring
            .members()
            .iter()
            .copied()
            .filter(|m| *m != node.me)
            .collect();
        if peers.is_empty() {
            continue;
        }
        let peer = peers[round % peers.len()];
        round += 1;
        match call::<Msg, Reply>(addr(peer), Msg::Gossip(ring), node.config.timing.request).await {
            Ok(reply) => {
                node.trust(peer);
                if let Reply::Ring(theirs) = reply {
                    adopt(&node, theirs);
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
