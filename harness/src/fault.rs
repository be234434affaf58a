//! Fault injection: named fault points in code under test (like FoundationDB's BUGGIFY), and
//! the background fault injector that crashes, restarts, pauses, resumes and partitions nodes.

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
