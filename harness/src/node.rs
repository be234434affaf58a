//! Simulated nodes: crash (tasks dropped, memory and unsynced writes lost), restart (the
//! node's start-up code runs again), pause and resume, and changes to a node's clocks
//! ([`set_clock`]).

use crate::ids::NodeId;
use crate::sim::clocks::{check_drift, ClockEdit};
use crate::sim::world::{with, Deferred, NodeState};

/// The node the calling task runs on.
pub fn current() -> NodeId {
    with(|w| w.current_node())
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
        assert!(node != NodeId::DRIVER, "weft: the driver node cannot crash");
        if w.nodes[node.index()].state != NodeState::Crashed {
            w.deferred.push_back(Deferred::Crash(node));
        }
    });
}

/// Restarts a crashed node: its start-up code runs again. No effect on a running node.
pub fn restart(node: NodeId) {
    with(|w| w.restart_node(node));
}

/// Pauses a node: none of its tasks run until it resumes; messages to it queue up.
pub fn pause(node: NodeId) {
    with(|w| w.pause_node(node));
}

/// Resumes a paused node.
pub fn resume(node: NodeId) {
    with(|w| w.resume_node(node));
}

/// Whether a node is up (neither crashed nor paused).
pub fn is_up(node: NodeId) -> bool {
    with(|w| w.nodes[node.index()].state == NodeState::Up)
}

/// A node's incarnation: 0 at start, increased by each restart.
pub fn incarnation(node: NodeId) -> u32 {
    with(|w| w.nodes[node.index()].incarnation)
}

/// A change to a node's clocks (see [`crate::time`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockChange {
    /// An NTP step: the wall clock ([`crate::time::wall_clock_ns`]) jumps by `by_ns`
    /// nanoseconds, back when negative. The monotonic clock (timers, `Instant`) does not move.
    Step {
        /// How far, in nanoseconds (negative: back).
        by_ns: i64,
    },
    /// From now on the node's clocks (monotonic and wall) run `ppm` parts per million fast
    /// (negative: slow); 0 is the true rate. The node's pending timers fire by the new rate.
    /// Must be above -1,000,000 and at most 1,000,000.
    Drift {
        /// The new rate, in parts per million fast.
        ppm: i64,
    },
}

/// A node's clock settings now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockState {
    /// The wall clock's offset from the node's monotonic clock, in nanoseconds.
    pub offset_ns: i64,
    /// The rate, in parts per million fast (negative: slow).
    pub drift_ppm: i64,
}

/// Changes a node's clocks at once, for example from a model's command: steps its wall clock
/// or changes its drift. Panics for the driver node, whose clock keeps true time, and for a
/// drift out of range. The change is recorded in the trace.
///
/// ```no_run
/// # fn f(b: weft::NodeId) {
/// use weft::node::{set_clock, ClockChange};
/// set_clock(b, ClockChange::Drift { ppm: 12_000 }); // b's clock runs 1.2% fast
/// set_clock(b, ClockChange::Step { by_ns: -40_000_000 }); // and steps 40 ms back
/// # }
/// ```
pub fn set_clock(node: NodeId, change: ClockChange) {
    assert!(
        node != NodeId::DRIVER,
        "weft: the driver node's clock keeps true time and cannot be changed"
    );
    let edit = match change {
        ClockChange::Step { by_ns } => ClockEdit::Step(by_ns),
        ClockChange::Drift { ppm } => {
            if let Err(why) = check_drift(ppm) {
                panic!("weft: set_clock: {why}");
            }
            ClockEdit::Drift(ppm)
        }
    };
    with(|w| w.edit_clock(node, edit));
}

/// A node's clock offset and drift now.
pub fn clock(node: NodeId) -> ClockState {
    with(|w| {
        let clock = &w.nodes[node.index()].clock;
        ClockState {
            offset_ns: clock.offset_ns,
            drift_ppm: clock.drift_ppm,
        }
    })
}
