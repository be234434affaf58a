//! Simulated nodes: crash (tasks dropped, memory and unsynced writes lost), restart (the
//! node's start-up code runs again), pause and resume.

use crate::decision::DecisionKind;
use crate::sim::world::{with, Deferred, Node, NodeInit, NodeState, World, NONE};
use crate::sim::EventKind;
use crate::sim::ExitReason;
use serde::{Deserialize, Serialize};

/// A node's identity: nodes are numbered in the order they were added; 0 is the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The index.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The node with index `index` (as numbered by `Sim::add_node`).
    pub fn from_index(index: usize) -> NodeId {
        NodeId(index as u32)
    }
}

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

impl World {
    pub(crate) fn add_node(&mut self, name: &str, init: Option<NodeInit>) -> u32 {
        let id = self.nodes.len() as u32;
        let (offset, drift) = if id == 0 { (0, 0) } else { self.draw_clock() };
        self.nodes.push(Node {
            name: name.into(),
            state: NodeState::Up,
            incarnation: 0,
            init,
            parked: Vec::new(),
            clock_offset_ns: offset,
            clock_drift_ppm: drift,
            disk: Default::default(),
            next_port: 1 << 16,
        });
        self.net.grow(self.nodes.len());
        id
    }

    fn draw_clock(&mut self) -> (i64, i64) {
        let c = &self.cfg.clock;
        let (offset_max, drift_max, buckets) = (
            c.offset_max_ns as i64,
            i64::from(c.drift_max_ppm),
            i64::from(c.buckets.max(1)),
        );
        // 0: none; 1..=buckets: positive steps; buckets+1..=2*buckets: negative steps.
        let signed = |v: u64, max: i64| -> i64 {
            let v = v as i64;
            if v == 0 {
                0
            } else if v <= buckets {
                max * v / buckets
            } else {
                -(max * (v - buckets) / buckets)
            }
        };
        let offset = if offset_max > 0 {
            signed(
                self.decide(DecisionKind::ClockOffset, 2 * buckets as u64 + 1),
                offset_max,
            )
        } else {
            0
        };
        let drift = if drift_max > 0 {
            signed(
                self.decide(DecisionKind::ClockDrift, 2 * buckets as u64 + 1),
                drift_max,
            )
        } else {
            0
        };
        let name = format!("node {}", self.nodes.len());
        self.note(DecisionKind::ClockOffset, u64::from(offset != 0), |_| {
            format!("{name}'s clock is offset by {}ms", offset / 1_000_000)
        });
        self.note(DecisionKind::ClockDrift, u64::from(drift != 0), |_| {
            format!("{name}'s clock drifts by {drift}ppm")
        });
        (offset, drift)
    }

    pub(crate) fn start_node(&mut self, node: u32) {
        let Some(init) = self.nodes[node as usize].init.clone() else {
            return;
        };
        let name = format!("{}:init", self.nodes[node as usize].name);
        self.spawn_task(node, Some(name.into()), init());
    }

    pub(crate) fn crash_now(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        if n.state == NodeState::Crashed {
            return;
        }
        n.state = NodeState::Crashed;
        n.parked.clear();
        self.event(node, NONE, EventKind::Crash, 0, 0);
        for task in 0..self.tasks.len() as u32 {
            if self.tasks[task as usize].alive && self.tasks[task as usize].node == node {
                self.end_task(task, ExitReason::NodeCrashed);
            }
        }
        self.unbind_node(node);
        self.crash_disk(node);
    }

    pub(crate) fn restart_node(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        if n.state != NodeState::Crashed {
            return;
        }
        n.state = NodeState::Up;
        n.incarnation += 1;
        let incarnation = n.incarnation;
        self.event(node, NONE, EventKind::Restart, u64::from(incarnation), 0);
        self.start_node(node);
    }

    pub(crate) fn pause_node(&mut self, node: u32) {
        assert!(node != 0, "weft: the driver node cannot be paused");
        if self.nodes[node as usize].state != NodeState::Up {
            return;
        }
        self.nodes[node as usize].state = NodeState::Paused;
        self.event(node, NONE, EventKind::Pause, 0, 0);
        // Runnable tasks of the node wait until it resumes.
        let mut parked = Vec::new();
        for &t in &self.runnable {
            if self.tasks[t as usize].node == node && self.tasks[t as usize].queued {
                parked.push(t);
            }
        }
        for &t in &parked {
            self.tasks[t as usize].queued = false;
        }
        self.nodes[node as usize].parked.extend(parked);
    }

    pub(crate) fn resume_node(&mut self, node: u32) {
        if self.nodes[node as usize].state != NodeState::Paused {
            return;
        }
        self.nodes[node as usize].state = NodeState::Up;
        self.event(node, NONE, EventKind::Resume, 0, 0);
        for t in std::mem::take(&mut self.nodes[node as usize].parked) {
            self.make_runnable(t);
        }
    }
}
