//! Coordinators: any node coordinates any client request, as in Riak.
//!
//! - Get: ask the N nodes of the sloppy preference list, answer after R replies (PR of them
//!   from primaries) with the merge of what came back, then wait for the rest and read-repair
//!   every replica whose copy the merge supersedes.
//! - Put and delete: the coordinating replica (this node when it is in the list, else the
//!   first) makes the write's event and stores it; its result goes to the other N-1; answer
//!   after W acknowledgements (PW of them from primaries). A delete writes a tombstone and,
//!   after `delete_delay` (and a few times more if not yet), reaps it if every node of the
//!   list holds that same tombstone and no other node holds a hint it supersedes.
//!
//! Every failure of a write means its outcome is unknown, as for any real client.

use crate::bugs::Bug;
use crate::node::{addr, Node, Target};
use crate::object::{Object, Sibling};
use crate::protocol::{KvError, Msg, ReadResult, Reply};
use crate::version::Context;
use std::rc::Rc;
use weft::net::{Endpoint, Request};
use weft::time::{self, Instant};
use weft::NodeId;

/// Requests sent to several nodes, and their replies as they come.
pub(crate) struct Gather {
    endpoint: Endpoint<Reply>,
    deadline: Instant,
    pending: Vec<NodeId>,
}

impl Gather {
    /// Sends `msg` to each of `nodes` (a copy to each but the last, which gets `msg`);
    /// replies are awaited until the node's request timeout.
    pub fn scatter(node: &Node, nodes: &[NodeId], msg: Msg) -> Gather {
        let endpoint = Endpoint::<Reply>::ephemeral();
        let mut msg = Some(msg);
        for (i, target) in nodes.iter().enumerate() {
            let to = addr(*target);
            let body = if i + 1 == nodes.len() {
                msg.take().expect("the last target takes the message")
            } else {
                msg.clone()
                    .expect("the message is kept until the last target")
            };
            endpoint.send(to, Request::<Msg, Reply>::new(body, to, endpoint.addr()));
        }
        Gather {
            endpoint,
            deadline: Instant::now().after(node.config.timing.request),
            pending: nodes.to_vec(),
        }
    }

    /// The next reply, or `None` when every node replied or the deadline passed.
    pub async fn next(&mut self) -> Option<(NodeId, Reply)> {
        while !self.pending.is_empty() {
            let left = self.deadline.as_nanos().saturating_sub(time::now_ns());
            let wait = std::time::Duration::from_nanos(left);
            let (from, reply) = time::timeout(wait, self.endpoint.recv()).await.ok()?;
            if let Some(i) = self.pending.iter().position(|n| *n == from.node) {
                self.pending.remove(i);
                return Some((from.node, reply));
            }
        }
        None
    }

    /// The nodes that have not replied.
    pub fn silent(&self) -> &[NodeId] {
        &self.pending
    }
}

fn merge_all(objects: &[(NodeId, Option<Object>)]) -> Option<Object> {
    objects
        .iter()
        .filter_map(|(_, o)| o.as_ref())
        .fold(None, |acc: Option<Object>, o| {
            Some(Object::sync_into(acc.as_ref(), o))
        })
}

fn read_result(merged: &Option<Object>) -> ReadResult {
    ReadResult {
        values: merged.as_ref().map_or_else(Vec::new, Object::values),
        context: merged
            .as_ref()
            .map_or_else(Context::default, Object::context),
        deleted: merged.as_ref().is_some_and(Object::has_tombstone),
    }
}

/// Coordinates a client's read.
pub(crate) async fn get(
    node: Rc<Node>,
    request: Request<Msg, Reply>,
    key: String,
    r: usize,
    pr: usize,
) {
    let targets = node.targets(&key);
    let nodes: Vec<NodeId> = targets.iter().map(|t| t.node).collect();
    let mut gather = Gather::scatter(&node, &nodes, Msg::Fetch { key: key.clone() });
    let mut replies: Vec<(NodeId, Option<Object>)> = Vec::new();
    let (mut primaries, mut answered) = (0, false);
    while let Some((from, reply)) = gather.next().await {
        node.trust(from);
        let Reply::Fetched(object) = reply else {
            continue;
        };
        replies.push((from, object));
        primaries += usize::from(targets.iter().any(|t| t.node == from && t.primary));
        if !answered && replies.len() >= r && primaries >= pr {
            request.reply(Reply::Read(read_result(&merge_all(&replies))));
            answered = true;
        }
    }
    for silent in gather.silent() {
        node.suspect(*silent);
    }
    if !answered {
        let needed = r.max(pr);
        request.reply(Reply::Failed(KvError::Unavailable {
            got: replies.len(),
            needed,
        }));
    }
    read_repair(&node, &key, &replies).await;
}

/// Sends the merge of every reply to each replica whose copy it supersedes.
async fn read_repair(node: &Node, key: &str, replies: &[(NodeId, Option<Object>)]) {
    let Some(merged) = merge_all(replies) else {
        return;
    };
    let stale: Vec<NodeId> = replies
        .iter()
        .filter(|(_, o)| o.as_ref() != Some(&merged))
        .map(|(n, _)| *n)
        .collect();
    if stale.is_empty() {
        return;
    }
    let object = match (&merged, node.bug(Bug::ReadRepairDropsSiblings)) {
        (Object::Causal(dvv), true) => Object::Causal(dvv.keep_one()),
        _ => merged,
    };
    let msg = Msg::Store {
        key: key.to_string(),
        object,
    };
    let mut gather = Gather::scatter(node, &stale, msg);
    while gather.next().await.is_some() {}
}

/// A client's write (a delete writes a tombstone).
pub(crate) struct Write {
    pub key: String,
    pub value: Sibling,
    pub context: Context,
    pub w: usize,
    pub pw: usize,
}

/// Coordinates a client's write.
pub(crate) async fn put(node: Rc<Node>, request: Request<Msg, Reply>, write: Write) {
    let targets = node.targets(&write.key);
    let Some(first) = targets
        .iter()
        .find(|t| t.node == node.me)
        .or(targets.first())
        .copied()
    else {
        request.reply(Reply::Failed(KvError::Unavailable {
            got: 0,
            needed: write.w,
        }));
        return;
    };
    let event = Msg::Coordinate {
        key: write.key.clone(),
        value: write.value.clone(),
        context: write.context.clone(),
    };
    let object =
        match weft::net::call::<Msg, Reply>(addr(first.node), event, node.config.timing.request)
            .await
        {
            Ok(Reply::Stored(object)) => object,
            Ok(Reply::Failed(e)) => return request.reply(Reply::Failed(e)),
            Ok(_) | Err(_) => {
                node.suspect(first.node);
                return request.reply(Reply::Failed(KvError::Timeout));
            }
        };
    replicate(&node, &request, &write, &targets, first, object).await;
}

/// Sends the coordinating replica's result to the other targets; answers the client after W
/// acknowledgements (the first included), PW of them from primaries. An acknowledged delete
/// starts its reaper then.
async fn replicate(
    node: &Rc<Node>,
    request: &Request<Msg, Reply>,
    write: &Write,
    targets: &[Target],
    first: Target,
    object: Object,
) {
    let (mut acks, mut primaries) = (1, usize::from(first.primary));
    let mut acked = false;
    let mut answer = |acks: usize, primaries: usize, early: bool| {
        if !acked && (early || (acks >= write.w && primaries >= write.pw)) {
            request.reply(Reply::Written);
            acked = true;
            if write.value.is_none() {
                let (node, key) = (node.clone(), write.key.clone());
                weft::task::spawn_named("reaper", async move { reap_later(&node, &key).await });
            }
        }
    };
    answer(acks, primaries, node.bug(Bug::AckBeforeQuorum));
    let others: Vec<NodeId> = targets
        .iter()
        .map(|t| t.node)
        .filter(|n| *n != first.node)
        .collect();
    let msg = Msg::Store {
        key: write.key.clone(),
        object,
    };
    let mut gather = Gather::scatter(node, &others, msg);
    while let Some((from, reply)) = gather.next().await {
        node.trust(from);
        if let Reply::Stored(_) = reply {
            acks += 1;
            primaries += usize::from(targets.iter().any(|t| t.node == from && t.primary));
            answer(acks, primaries, false);
        }
    }
    for silent in gather.silent() {
        node.suspect(*silent);
    }
    if !acked {
        request.reply(Reply::Failed(KvError::Unavailable {
            got: acks,
            needed: write.w,
        }));
    }
}

/// How many times a delete's coordinator tries to reap its tombstone, `delete_delay` apart.
const REAP_ATTEMPTS: usize = 4;

/// What one look at a tombstone's copies found.
enum Reap {
    /// Reaped on the primaries (or nothing left to do: a newer write, a ring too small).
    Done,
    /// Not yet: some copy is missing, some node did not answer, or a hint may be out there.
    Later,
}

/// After `delete_delay`, and again up to [`REAP_ATTEMPTS`] times: reap the tombstone if every
/// node of the sloppy preference list holds it and no other node may hold a hint it
/// supersedes (fallbacks of the list keep theirs until handed off). Targets that lack the
/// tombstone, while no copy is newer, get it first (as read repair would).
async fn reap_later(node: &Node, key: &str) {
    for _ in 0..REAP_ATTEMPTS {
        time::sleep(node.config.timing.delete_delay).await;
        if let Reap::Done = try_reap(node, key).await {
            return;
        }
    }
}

/// One reap attempt (see [`reap_later`]).
async fn try_reap(node: &Node, key: &str) -> Reap {
    let targets = node.targets(key);
    let ring = node.ring();
    if targets.len() < node.config.n_val.min(ring.members().len()) {
        return Reap::Later;
    }
    let nodes: Vec<NodeId> = targets.iter().map(|t| t.node).collect();
    // Nodes neither in the list nor primaries may hold a hint from an earlier write: the
    // tombstone must outlive it, or the hint, handed off after the reap, brings the deleted
    // value back. Each must answer, with nothing or the same tombstone.
    let primaries = ring.preflist_for(key, node.config.n_val);
    let others: Vec<NodeId> = ring
        .members()
        .iter()
        .copied()
        .filter(|m| !nodes.contains(m) && !primaries.contains(m))
        .collect();
    let asked: Vec<NodeId> = nodes.iter().chain(&others).copied().collect();
    let copies = fetch_copies(node, key, &asked).await;
    let Some(merged) = merge_all(&copies) else {
        return Reap::Done;
    };
    if !merged.is_tombstone() {
        return Reap::Done; // written again since the delete
    }
    let held = |n: &NodeId| copies.iter().find(|(from, _)| from == n).map(|(_, o)| o);
    let lacking: Vec<NodeId> = nodes
        .iter()
        .copied()
        .filter(|n| held(n) != Some(&Some(merged.clone())))
        .collect();
    let hints_clear = others
        .iter()
        .all(|n| matches!(held(n), Some(None)) || held(n) == Some(&Some(merged.clone())));
    if !hints_clear || lacking.iter().any(|n| held(n).is_none()) {
        return Reap::Later;
    }
    // Read repair first: the reap goes on once every target stored the tombstone.
    if !lacking.is_empty() && !store_everywhere(node, key, &lacking, &merged).await {
        return Reap::Later;
    }
    let msg = Msg::Reap {
        key: key.to_string(),
        object: merged,
    };
    let mut gather = Gather::scatter(node, &nodes, msg);
    while gather.next().await.is_some() {}
    Reap::Done
}

/// Every copy of `key` that `asked` answered with (`None`: the node holds nothing); nodes that
/// answered are trusted, silent ones suspected.
async fn fetch_copies(node: &Node, key: &str, asked: &[NodeId]) -> Vec<(NodeId, Option<Object>)> {
    let fetch = Msg::Fetch {
        key: key.to_string(),
    };
    let mut gather = Gather::scatter(node, asked, fetch);
    let mut copies = Vec::new();
    while let Some((from, reply)) = gather.next().await {
        node.trust(from);
        if let Reply::Fetched(object) = reply {
            copies.push((from, object));
        }
    }
    for silent in gather.silent() {
        node.suspect(*silent);
    }
    copies
}

/// Stores `object` under `key` on every node of `targets`; whether each stored exactly it.
async fn store_everywhere(node: &Node, key: &str, targets: &[NodeId], object: &Object) -> bool {
    let store = Msg::Store {
        key: key.to_string(),
        object: object.clone(),
    };
    let mut gather = Gather::scatter(node, targets, store);
    let mut stored = 0;
    while let Some((_, reply)) = gather.next().await {
        stored += usize::from(matches!(&reply, Reply::Stored(o) if o == object));
    }
    stored == targets.len()
}
