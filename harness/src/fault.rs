//! Fault injection: named fault points in code under test (like FoundationDB's BUGGIFY), and
//! the background fault injector that crashes, restarts, pauses, resumes and partitions nodes.
//! [`calm`] ends every kind of fault for the rest of a run (the liveness phase).

use crate::decision::DecisionKind;
use crate::sim::world::with;
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
        let drawn = w.decide(DecisionKind::Buggify, 2);
        let fired = drawn.value == 1;
        if fired {
            w.note(drawn, |w| {
                let task = w.here().1;
                let task = task.map_or_else(|| "no task".to_string(), |t| w.task_name(t));
                format!("fault point {name:?} fired in {task}")
            });
            let (node, task) = w.here();
            w.event(node, task, EventKind::Buggify, name.len() as u64, 0);
            tracing::debug!(target: "weft", point = name, "fault point fired");
        }
        fired
    })
}

/// Ends fault injection for the rest of the run and heals every fault: crashed nodes restart,
/// paused nodes resume, every partition is repaired, the background injector stops, and from
/// now on no message is dropped or duplicated, no disk operation fails, no unsynced write is
/// torn and no fault point fires. Clocks keep their skew; latency and reordering go on.
///
/// The liveness phase of model-based tests ([`crate::StateMachine::liveness`]) calls it
/// first; a scenario without a model can call it before checking that its system settles.
pub fn calm() {
    with(|w| w.calm());
}
