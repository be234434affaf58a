//! Handoff: a node hands every key it holds but is not a primary for (a fallback's hinted
//! writes, and after a ring change the partitions it no longer owns) to the key's primaries,
//! and drops its copy once all N have stored it. Hinted and ownership handoff are one
//! mechanism here: in both, the data goes where the current ring says it belongs.
//!
//! The planted bug `handoff-drops-tombstones` (riak_kv #1850) skips tombstones but, once
//! every primary answers, drops them locally as if they had been handed over, so a primary
//! that missed the delete keeps the old value and, once the tombstone is reaped elsewhere,
//! spreads it back.

use crate::bugs::Bug;
use crate::coordinator::Gather;
use crate::node::Node;
use crate::object::Object;
use crate::protocol::{Msg, Reply};
use crate::replica::drop_if_unchanged;
use weft::NodeId;

/// Keys handed off per pass.
const BATCH_MAX: usize = 16;

/// The keys this node holds but is not a primary for, with their objects.
fn foreign(node: &Node) -> Vec<(String, Object)> {
    let state = node.state.borrow();
    let n = node.config.n_val;
    state
        .objects
        .iter()
        .filter(|(k, _)| !state.ring.is_primary_for(k, n, node.me))
        .take(BATCH_MAX)
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect()
}

/// Hands `key` to its primaries; drops the local copy when all acknowledged.
async fn hand_off(node: &Node, key: &str, object: Object) {
    let primaries: Vec<NodeId> = node.ring().preflist_for(key, node.config.n_val);
    let skip = object.is_tombstone() && node.bug(Bug::HandoffDropsTombstones);
    // The bug's handoff folds over the data without the tombstones: it only learns that
    // every primary is there, then deletes its copy as if the transfer had carried it.
    let msg = if skip {
        Msg::Fetch {
            key: key.to_string(),
        }
    } else {
        Msg::Store {
            key: key.to_string(),
            object: object.clone(),
        }
    };
    let mut gather = Gather::scatter(node, &primaries, msg);
    let mut acks = 0;
    while let Some((from, reply)) = gather.next().await {
        node.trust(from);
        acks += usize::from(matches!(reply, Reply::Stored(_) | Reply::Fetched(_)));
    }
    if acks == primaries.len() {
        drop_if_unchanged(node, key, &object).await;
    }
}

/// One handoff pass: every foreign key (up to a batch) to its primaries.
pub(crate) async fn pass(node: &Node) {
    for (key, object) in foreign(node) {
        hand_off(node, &key, object).await;
    }
}
