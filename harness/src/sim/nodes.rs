//! Nodes inside the executor: adding one (with its clock drawn), starting its start-up code,
//! crash, restart, pause and resume. The public API is `weft::node`.

use super::clocks::{describe_rate, NodeClock};
use super::world::{salt, Node, NodeInit, NodeState, World};
use super::{EventKind, ExitReason};
use crate::decision::mix;
use crate::decision::DecisionKind;
use crate::ids::{NodeId, TaskId};

impl World {
    pub(crate) fn add_node(&mut self, name: &str, init: Option<NodeInit>) -> NodeId {
        let id = NodeId::from_index(self.nodes.len());
        let (offset, drift) = if id == NodeId::DRIVER {
            (0, 0)
        } else {
            let subject = mix(salt::CLOCK, id.index() as u64);
            self.with_draw_ctx(subject, |w| w.draw_clock(name))
        };
        self.nodes.push(Node {
            name: name.into(),
            state: NodeState::Up,
            incarnation: 0,
            init,
            parked: Vec::new(),
            clock: NodeClock::new(offset, drift),
            timers: Default::default(),
            named_only: false,
            disk: Default::default(),
            next_port: 1 << 16,
        });
        self.net.grow(self.nodes.len());
        id
    }

    /// The node called `name` if it was named ([`World::name_node`]) and not yet added: it
    /// takes `init`; else a new node.
    pub(crate) fn add_named_node(&mut self, name: &str, init: NodeInit) -> NodeId {
        let named = (self.nodes.iter()).position(|n| n.named_only && &*n.name == name);
        match named {
            Some(id) => {
                let node = &mut self.nodes[id];
                node.named_only = false;
                node.init = Some(init);
                NodeId::from_index(id)
            }
            None => self.add_node(name, Some(init)),
        }
    }

    /// A node's id before it is added: the node named `name` (named or added before), or a
    /// new one without start-up code until `add_named_node` gives it some.
    pub(crate) fn name_node(&mut self, name: &str) -> NodeId {
        if let Some(id) = self.nodes.iter().position(|n| &*n.name == name) {
            return NodeId::from_index(id);
        }
        let id = self.add_node(name, None);
        self.nodes[id.index()].named_only = true;
        id
    }

    /// Fails loudly if a node was named but never added.
    pub(crate) fn check_named_nodes(&self) {
        if let Some(node) = self.nodes.iter().find(|n| n.named_only) {
            panic!(
                "weft: node {:?} was named (Sim::node_id) but never added (Sim::add_node)",
                node.name
            );
        }
    }

    fn draw_clock(&mut self, name: &str) -> (i64, i64) {
        let c = &self.cfg.clock;
        let (offset_max, drift_max, buckets) = (
            c.offset_max_ns as i64,
            i64::from(c.drift_max_ppm),
            u64::from(c.buckets.max(1)),
        );
        let mut offset = 0;
        if offset_max > 0 {
            let drawn = self.decide(DecisionKind::ClockOffset, 2 * buckets + 1);
            offset = signed_bucket(drawn.value, offset_max, buckets);
            self.note(drawn, |_| {
                format!(
                    "{name}'s clock runs {} {} the true time",
                    crate::sim::format_ns(offset.unsigned_abs()),
                    if offset > 0 { "ahead of" } else { "behind" }
                )
            });
        }
        let mut drift = 0;
        if drift_max > 0 {
            let drawn = self.decide(DecisionKind::ClockDrift, 2 * buckets + 1);
            drift = drift_bucket(drawn.value, drift_max, buckets);
            self.note(drawn, |_| {
                format!("{name}'s clock runs {}", describe_rate(drift))
            });
        }
        (offset, drift)
    }

    pub(crate) fn start_node(&mut self, node: NodeId) {
        let Some(init) = self.nodes[node.index()].init.clone() else {
            return;
        };
        let name = format!("{}:init", self.nodes[node.index()].name);
        if self.addressed {
            let incarnation = self.nodes[node.index()].incarnation;
            let ident = mix(mix(salt::INIT, node.index() as u64), u64::from(incarnation));
            self.spawn_ident = Some(ident);
        }
        self.spawn_task(node, Some(name.into()), init());
    }

    pub(crate) fn crash_now(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.index()];
        if n.state == NodeState::Crashed {
            return;
        }
        n.state = NodeState::Crashed;
        n.parked.clear();
        self.event(Some(node), None, EventKind::Crash, 0, 0);
        for index in 0..self.tasks.len() {
            let task = &self.tasks[index];
            if task.alive && task.node == node {
                self.end_task(TaskId::from_index(index), ExitReason::NodeCrashed);
            }
        }
        self.unbind_node(node);
        let incarnation = u64::from(self.nodes[node.index()].incarnation);
        let subject = mix(mix(salt::CRASH, node.index() as u64), incarnation);
        self.with_draw_ctx(subject, |w| w.crash_disk(node));
    }

    pub(crate) fn restart_node(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.index()];
        if n.state != NodeState::Crashed {
            return;
        }
        n.state = NodeState::Up;
        n.incarnation += 1;
        let incarnation = n.incarnation;
        self.event(
            Some(node),
            None,
            EventKind::Restart,
            u64::from(incarnation),
            0,
        );
        self.start_node(node);
    }

    pub(crate) fn pause_node(&mut self, node: NodeId) {
        assert!(
            node != NodeId::DRIVER,
            "weft: the driver node cannot be paused"
        );
        if self.nodes[node.index()].state != NodeState::Up {
            return;
        }
        self.nodes[node.index()].state = NodeState::Paused;
        self.event(Some(node), None, EventKind::Pause, 0, 0);
        // Runnable tasks of the node wait until it resumes.
        let mut parked = Vec::new();
        for &t in &self.runnable {
            let task = &self.tasks[t.index()];
            if task.node == node && task.queued {
                parked.push(t);
            }
        }
        for &t in &parked {
            self.tasks[t.index()].queued = false;
        }
        self.runnable_stale |= !parked.is_empty();
        self.nodes[node.index()].parked.extend(parked);
    }

    pub(crate) fn resume_node(&mut self, node: NodeId) {
        if self.nodes[node.index()].state != NodeState::Paused {
            return;
        }
        self.nodes[node.index()].state = NodeState::Up;
        self.event(Some(node), None, EventKind::Resume, 0, 0);
        for t in std::mem::take(&mut self.nodes[node.index()].parked) {
            self.make_runnable(t);
        }
    }
}

/// The value of a clock decision among `2 * buckets + 1` options: 0 none; 1..=buckets
/// positive steps up to `max`; buckets+1..=2*buckets negative steps down to `-max`.
pub(crate) fn signed_bucket(value: u64, max: i64, buckets: u64) -> i64 {
    let (v, buckets) = (value as i64, buckets as i64);
    if v == 0 {
        0
    } else if v <= buckets {
        max * v / buckets
    } else {
        -(max * (v - buckets) / buckets)
    }
}

/// A drift decision's value, kept in the range a clock can run at (it moves forwards).
pub(crate) fn drift_bucket(value: u64, max_ppm: i64, buckets: u64) -> i64 {
    signed_bucket(value, max_ppm, buckets).clamp(-999_999, 1_000_000)
}
