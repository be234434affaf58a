//! A node's replica side: its copies of keys, changed only here. An update is computed and put
//! in memory without yielding, then appended to the log and fsynced; the reply (the
//! acknowledgement) is sent only after the fsync.

use crate::bugs::Bug;
use crate::node::Node;
use crate::object::{Object, Sibling};
use crate::protocol::{KvError, Reply};
use crate::version::{Context, Dvv, PruneOrder};

/// The write's event, made here: a new dot from this node's actor, the values the client's
/// context covers discarded, the clock pruned; stored durably.
pub(crate) async fn coordinate(node: &Node, key: &str, value: Sibling, context: &Context) -> Reply {
    if let Err(e) = renew_actor_if_needed(node, key, context).await {
        return Reply::Failed(e);
    }
    let object = {
        let mut state = node.state.borrow_mut();
        let state = &mut *state;
        let stored = state.objects.get_mut(key);
        let stamp = weft::time::wall_clock_ns();
        let object = if node.bug(Bug::LastWriteWins) {
            Object::sync_into(stored.as_deref(), &Object::Lww { stamp, value })
        } else {
            let empty = Dvv::new();
            let dvv = match &stored {
                Some(Object::Causal(dvv)) => dvv,
                _ => &empty,
            };
            let actor = state.actor;
            let counter = state
                .counter
                .max(dvv.counter(actor))
                .max(context.get(actor))
                + 1;
            state.counter = counter;
            match state.issued.get_mut(key) {
                Some(issued) => *issued = counter,
                None => {
                    state.issued.insert(key.to_string(), counter);
                }
            }
            let updated = if node.bug(Bug::ReplicaClockSiblings) {
                dvv.update_per_replica(context, value, actor, counter, stamp)
            } else {
                dvv.update(context, value, actor, counter, stamp)
            };
            let order = if node.bug(Bug::PruneYoungest) {
                PruneOrder::YoungestFirst
            } else {
                PruneOrder::OldestFirst
            };
            Object::Causal(updated.into_pruned(node.config.prune, stamp, order))
        };
        match state.objects.get_mut(key) {
            Some(slot) => *slot = object.clone(),
            None => {
                state.objects.insert(key.to_string(), object.clone());
            }
        }
        state.changes += 1;
        object
    };
    if node.bug(Bug::VolatileHints) && !node.is_primary(key) {
        return Reply::Stored(object);
    }
    match node.storage.put(key, &object).await {
        Ok(()) => Reply::Stored(object),
        Err(_) => Reply::Failed(KvError::Disk),
    }
}

/// Takes a new actor (a new epoch, persisted) when this actor issued a dot for `key` that
/// neither this replica's copy nor the client's context covers: the node handed its copy off
/// (a fallback) or reaped it. A new event of the same actor would get a larger counter, and
/// a version vector entry covers every counter below its own, so the new version would
/// claim to have seen (and would discard everywhere) a value it never saw. Riak's kv679 fix
/// takes a new actor epoch in the same case.
async fn renew_actor_if_needed(node: &Node, key: &str, context: &Context) -> Result<(), KvError> {
    loop {
        let actor = {
            let state = node.state.borrow();
            let actor = state.actor;
            let issued = state.issued.get(key).copied().unwrap_or(0);
            let seen = match state.objects.get(key) {
                Some(Object::Causal(dvv)) => dvv.counter(actor),
                _ => 0,
            };
            if issued <= seen.max(context.get(actor)) {
                return Ok(());
            }
            actor
        };
        let next = actor.epoch + 1;
        crate::storage::save_epoch(next)
            .await
            .map_err(|_| KvError::Disk)?;
        let mut state = node.state.borrow_mut();
        if state.actor == actor {
            state.actor.epoch = next;
            state.counter = 0;
            state.issued.clear();
        }
    }
}

/// Merges `object` into this replica's copy of `key` and stores the result durably (a
/// fallback's hinted write too, unless the planted bug `volatile-hints` is on).
pub(crate) async fn store(node: &Node, key: &str, object: &Object) -> Reply {
    let merged = merge_in_memory(node, key, object);
    let volatile = node.bug(Bug::VolatileHints) && !node.is_primary(key);
    if volatile {
        return Reply::Stored(merged);
    }
    match node.storage.put(key, &merged).await {
        Ok(()) => Reply::Stored(merged),
        Err(_) => Reply::Failed(KvError::Disk),
    }
}

/// Merges `object` into memory and returns the merge (no disk: the caller stores it).
pub(crate) fn merge_in_memory(node: &Node, key: &str, object: &Object) -> Object {
    let mut state = node.state.borrow_mut();
    let state = &mut *state;
    let stored = state.objects.get_mut(key);
    let merged = Object::sync_into(stored.as_deref(), object);
    weft::ensure!(
        merged.descends(object),
        "{key}: the merge {merged:?} does not descend the incoming {object:?}"
    );
    match stored {
        Some(slot) if *slot == merged => {}
        Some(slot) => {
            *slot = merged.clone();
            state.changes += 1;
        }
        None => {
            state.objects.insert(key.to_string(), merged.clone());
            state.changes += 1;
        }
    }
    merged
}

/// This replica's copy of `key`.
pub(crate) fn fetch(node: &Node, key: &str) -> Reply {
    Reply::Fetched(node.state.borrow().objects.get(key).cloned())
}

/// Removes `key` if this replica's copy is exactly the tombstone `object` and the node is one
/// of its primaries; a fallback keeps its copy until it has handed it off.
pub(crate) async fn reap(node: &Node, key: &str, object: &Object) -> Reply {
    weft::ensure!(
        object.is_tombstone(),
        "{key}: reap of a live object {object:?}"
    );
    if node.is_primary(key) {
        drop_if_unchanged(node, key, object).await;
    }
    Reply::Done
}

/// Removes `key` if its copy is still `object` (nothing merged in since it was read), durably.
/// Returns whether it was removed.
pub(crate) async fn drop_if_unchanged(node: &Node, key: &str, object: &Object) -> bool {
    {
        let mut state = node.state.borrow_mut();
        if state.objects.get(key) != Some(object) {
            return false;
        }
        state.objects.remove(key);
        state.changes += 1;
    }
    // A failed drop record only means the key comes back after a restart, to be handed off
    // or reaped again.
    let _ = node.storage.drop_key(key).await;
    true
}
