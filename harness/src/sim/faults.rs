//! The background fault injector inside the executor: at each tick a decision picks a fault
//! (crash, restart, pause, resume, isolate, partition a pair, repair all, step a wall clock,
//! change a clock's drift) and its target; at the end of the fault window every node is
//! brought back up and every link repaired (clocks keep their changes: they are not healed).

use super::clocks::ClockEdit;
use super::nodes::{drift_bucket, signed_bucket};
use super::world::{Event, NodeState, World};
use crate::decision::DecisionKind;
use crate::ids::NodeId;

/// Background fault actions, in decision order (value = index + 1; 0 is no fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Crash,
    Restart,
    Pause,
    Resume,
    Isolate,
    PartitionPair,
    RepairAll,
    ClockStep,
    ClockDrift,
}

impl World {
    fn fault_actions(&self) -> Vec<Action> {
        let f = &self.cfg.faults;
        let mut actions = Vec::new();
        if f.crash {
            actions.extend([Action::Crash, Action::Restart]);
        }
        if f.pause {
            actions.extend([Action::Pause, Action::Resume]);
        }
        if f.partition {
            actions.extend([Action::Isolate, Action::PartitionPair, Action::RepairAll]);
        }
        // New kinds go last, so that the others keep their decision values.
        if f.clock && self.cfg.clock.offset_max_ns > 0 {
            actions.push(Action::ClockStep);
        }
        if f.clock && self.cfg.clock.drift_max_ppm > 0 {
            actions.push(Action::ClockDrift);
        }
        actions
    }

    pub(crate) fn start_faults(&mut self) {
        let f = &self.cfg.faults;
        if f.interval_ns == 0 || self.nodes.len() < 2 || self.fault_actions().is_empty() {
            return;
        }
        let (interval, until) = (f.interval_ns, f.until_ns);
        if interval < until {
            self.schedule(interval, Event::FaultTick);
        }
        self.schedule(until, Event::Heal);
    }

    pub(crate) fn fault_tick(&mut self) {
        if self.now >= self.cfg.faults.until_ns {
            return; // the fault window was closed early (`calm`)
        }
        let subject = crate::decision::mix(super::world::salt::TICK, self.now);
        self.with_draw_ctx(subject, World::inject_fault);
        let next = self.now + self.cfg.faults.interval_ns;
        if next < self.cfg.faults.until_ns {
            self.schedule(next, Event::FaultTick);
        }
    }

    /// One tick's fault: a decision picks the action (0: none), another its target.
    fn inject_fault(&mut self) {
        let actions = self.fault_actions();
        let drawn = self.decide(DecisionKind::Fault, actions.len() as u64 + 1);
        let choice = drawn.value as usize;
        if choice > 0 {
            // Targets are the nodes other than the driver.
            let targets = self.nodes.len() as u64 - 1;
            let target = self.decide(DecisionKind::FaultTarget, targets);
            let node = NodeId::from_index(1 + target.value as usize);
            let action = actions[choice - 1];
            if !matches!(action, Action::ClockStep | Action::ClockDrift) {
                self.note(drawn, |w| {
                    format!("fault injected: {action:?} {}", w.nodes[node.index()].name)
                });
            }
            self.note(target, |w| {
                format!(
                    "the fault hit {} rather than {}",
                    w.nodes[node.index()].name,
                    w.nodes[1].name
                )
            });
            match actions[choice - 1] {
                Action::Crash => {
                    if self.nodes[node.index()].state != NodeState::Crashed {
                        self.crash_now(node);
                    }
                }
                Action::Restart => self.restart_node(node),
                Action::Pause => self.pause_node(node),
                Action::Resume => self.resume_node(node),
                Action::Isolate => {
                    for other in 0..self.nodes.len() {
                        let other = NodeId::from_index(other);
                        if other != node {
                            self.set_link(node, other, true);
                            self.set_link(other, node, true);
                        }
                    }
                }
                Action::PartitionPair => {
                    let drawn = self.decide(DecisionKind::FaultTarget, self.nodes.len() as u64);
                    let other = NodeId::from_index(drawn.value as usize);
                    self.note(drawn, |w| {
                        format!(
                            "the partition cut {} from {}",
                            w.nodes[node.index()].name,
                            w.nodes[other.index()].name
                        )
                    });
                    if other != node {
                        self.set_link(node, other, true);
                        self.set_link(other, node, true);
                    }
                }
                Action::RepairAll => self.repair_all(),
                Action::ClockStep | Action::ClockDrift => {
                    let edit = self.draw_clock_edit(action, node);
                    self.note(drawn, |w| {
                        let name = &w.nodes[node.index()].name;
                        format!("fault injected: {}", edit.describe(name))
                    });
                    self.edit_clock(node, edit);
                }
            }
        }
    }

    /// A clock fault's size, drawn: a step of the wall clock by up to the configured offset, or
    /// a new drift of up to the configured drift (0: no step; the true rate).
    fn draw_clock_edit(&mut self, action: Action, node: NodeId) -> ClockEdit {
        let c = &self.cfg.clock;
        let buckets = u64::from(c.buckets.max(1));
        let (offset_max, drift_max) = (c.offset_max_ns as i64, i64::from(c.drift_max_ppm));
        let (drawn, edit) = if action == Action::ClockStep {
            let drawn = self.decide(DecisionKind::ClockOffset, 2 * buckets + 1);
            let by = signed_bucket(drawn.value, offset_max, buckets);
            (drawn, ClockEdit::Step(by))
        } else {
            let drawn = self.decide(DecisionKind::ClockDrift, 2 * buckets + 1);
            let ppm = drift_bucket(drawn.value, drift_max, buckets);
            (drawn, ClockEdit::Drift(ppm))
        };
        self.note(drawn, |w| edit.describe(&w.nodes[node.index()].name));
        edit
    }

    /// The start of a liveness phase: the fault window closes now and every fault heals;
    /// for the rest of the run no message is dropped or duplicated, no disk operation fails,
    /// no unsynced write is torn and no fault point fires. Clocks keep their offset and
    /// drift, and latency and reordering go on: they are not faults.
    pub(crate) fn calm(&mut self) {
        let cfg = &mut self.cfg;
        cfg.faults.until_ns = cfg.faults.until_ns.min(self.now);
        cfg.net.drop = false;
        cfg.net.duplicate = false;
        cfg.disk.errors = false;
        cfg.disk.torn_writes = false;
        cfg.buggify = false;
        self.heal_all();
    }

    /// End of the fault window: every node up, every link repaired.
    pub(crate) fn heal_all(&mut self) {
        self.repair_all();
        for index in 1..self.nodes.len() {
            let node = NodeId::from_index(index);
            match self.nodes[index].state {
                NodeState::Crashed => self.restart_node(node),
                NodeState::Paused => self.resume_node(node),
                NodeState::Up => {}
            }
        }
    }
}
