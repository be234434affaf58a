//! Simulated nodes: crash (tasks dropped, memory and unsynced writes lost), restart (the
//! node's start-up code runs again), pause and resume.

use crate::ids::NodeId;
use crate::sim::world::{with, Deferred, NodeState};

/// The node the calling task runs on.
pub fn current() -> NodeId {
    with(|w| NodeId(w.current_node()))
}

/// The name a node was added with.
pub fn name(node: NodeId) -> String {
    with(|w| w.nodes[node.index()].name.to_string())
}

/// Number of nodes, the driver included.
pub fn count() -> usize {
    with(|w| w.nodes.len())
}

/// Crashes a node: its tasks are dropped, its endpoints unbound, its unsynced disk writes
/// lost or torn. Takes effect when the calling task yields (at once if called from another
/// node). The driver node cannot crash.
pub fn crash(node: NodeId) {
    with(|w| {
        assert!(node.0 != 0, "weft: the driver node cannot crash");
        if w.nodes[node.index()].state != NodeState::Crashed {
            w.deferred.push_back(Deferred::Crash(node.0));
        }
    });
}

/// Restarts a crashed node: its start-up code runs again. No effect on a running node.
pub fn restart(node: NodeId) {
    with(|w| w.restart_node(node.0));
}

/// Pauses a node: none of its tasks run until it resumes; messages to it queue up.
pub fn pause(node: NodeId) {
    with(|w| w.pause_node(node.0));
}

/// Resumes a paused node.
pub fn resume(node: NodeId) {
    with(|w| w.resume_node(node.0));
}

/// Whether a node is up (neither crashed nor paused).
pub fn is_up(node: NodeId) -> bool {
    with(|w| w.nodes[node.index()].state == NodeState::Up)
}

/// A node's incarnation: 0 at start, increased by each restart.
pub fn incarnation(node: NodeId) -> u32 {
    with(|w| w.nodes[node.index()].incarnation)
}
