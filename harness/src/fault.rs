//! Fault injection: named fault points in code under test (like FoundationDB's BUGGIFY), and
//! the background fault injector that crashes, restarts, pauses, resumes and partitions nodes.

use crate::decision::DecisionKind;
use crate::sim::world::{with, Event, NodeState, World};
use crate::sim::EventKind;

/// A named fault point: returns true when the run's decision says it fires. Always false
/// unless fault points are enabled for the run (`Config::buggify`).
///
/// ```no_run
/// # async fn flush() {
/// if weft::fault::buggify("slow-fsync") {
///     weft::time::sleep(std::time::Duration::from_secs(1)).await;
/// }
/// # }
/// ```
pub fn buggify(name: &str) -> bool {
    with(|w| {
        if !w.cfg.buggify {
            return false;
        }
        let fired = w.decide(DecisionKind::Buggify, 2) == 1;
        if fired {
            w.note(DecisionKind::Buggify, 1, |w| {
                let (_, task) = w.here();
                format!("fault point {name:?} fired in {}", w.task_name(task))
            });
            let (node, task) = w.here();
            w.event(node, task, EventKind::Buggify, name.len() as u64, 0);
            tracing::debug!(target: "weft", point = name, "fault point fired");
        }
        fired
    })
}

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
        let actions = self.fault_actions();
        let choice = self.decide(DecisionKind::Fault, actions.len() as u64 + 1) as usize;
        if choice > 0 {
            // Targets are the nodes other than the driver.
            let targets = self.nodes.len() as u64 - 1;
            let node = 1 + self.decide(DecisionKind::FaultTarget, targets) as u32;
            let action = actions[choice - 1];
            self.note(DecisionKind::Fault, choice as u64, |w| {
                format!("fault injected: {action:?} {}", w.nodes[node as usize].name)
            });
            self.note(DecisionKind::FaultTarget, u64::from(node - 1), |w| {
                format!(
                    "the fault hit {} rather than {}",
                    w.nodes[node as usize].name, w.nodes[1].name
                )
            });
            match actions[choice - 1] {
                Action::Crash => {
                    if self.nodes[node as usize].state != NodeState::Crashed {
                        self.crash_now(node);
                    }
                }
                Action::Restart => self.restart_node(node),
                Action::Pause => self.pause_node(node),
                Action::Resume => self.resume_node(node),
                Action::Isolate => {
                    for other in 0..self.nodes.len() as u32 {
                        if other != node {
                            self.set_link(node, other, true);
                            self.set_link(other, node, true);
                        }
                    }
                }
                Action::PartitionPair => {
                    let other =
                        self.decide(DecisionKind::FaultTarget, self.nodes.len() as u64) as u32;
                    if other != node {
                        self.set_link(node, other, true);
                        self.set_link(other, node, true);
                    }
                }
                Action::RepairAll => self.repair_all(),
            }
        }
        let next = self.now + self.cfg.faults.interval_ns;
        if next < self.cfg.faults.until_ns {
            self.schedule(next, Event::FaultTick);
        }
    }

    /// End of the fault window: every node up, every link repaired.
    pub(crate) fn heal_all(&mut self) {
        self.repair_all();
        for node in 1..self.nodes.len() as u32 {
            match self.nodes[node as usize].state {
                NodeState::Crashed => self.restart_node(node),
                NodeState::Paused => self.resume_node(node),
                NodeState::Up => {}
            }
        }
    }
}
