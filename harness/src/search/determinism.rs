//! The determinism self-check: run one seed twice and compare. Code under test that reads the
//! wall clock, OS randomness or a randomly seeded hash map shows up here as a divergence, named
//! by step, node and task.

use crate::ids::{NodeId, TaskId};
use crate::sim::{describe, RunReport, TraceEvent};
use std::fmt;

/// Where two runs of one seed first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nondeterminism {
    /// Index of the first differing trace event.
    pub event: usize,
    /// Scheduling step of that event (in the first run).
    pub step: u64,
    /// Node name, if the event belongs to a node.
    pub node: Option<String>,
    /// Task name, if the event belongs to a task.
    pub task: Option<String>,
    /// The two events (None: that run's trace had ended).
    pub first: Option<TraceEvent>,
    /// The event of the second run.
    pub second: Option<TraceEvent>,
    /// The two events as readable lines ("—" where a trace had ended).
    pub texts: (String, String),
    /// Index of the first differing decision, if the decision logs differ.
    pub decision: Option<usize>,
}

impl fmt::Display for Nondeterminism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nondeterminism: the runs diverge at trace event {} (step {}",
            self.event, self.step
        )?;
        if let Some(node) = &self.node {
            write!(f, ", node {node}")?;
        }
        if let Some(task) = &self.task {
            write!(f, ", task {task}")?;
        }
        write!(
            f,
            "): first run: {}; second run: {}",
            self.texts.0, self.texts.1
        )?;
        if let Some(d) = self.decision {
            write!(f, "; decision logs differ from decision {d}")?;
        }
        Ok(())
    }
}

/// Compares two runs of the same input, which must have been made with
/// `Config::record_trace` set. Returns the first divergence, if any.
pub fn compare(a: &RunReport, b: &RunReport) -> Option<Nondeterminism> {
    let empty = Vec::new();
    let (ta, tb) = (
        a.trace.as_ref().unwrap_or(&empty),
        b.trace.as_ref().unwrap_or(&empty),
    );
    let decision = a
        .log
        .decisions
        .iter()
        .zip(&b.log.decisions)
        .position(|(x, y)| x != y)
        .or_else(|| (a.log.len() != b.log.len()).then(|| a.log.len().min(b.log.len())));
    let event = ta
        .iter()
        .zip(tb)
        .position(|(x, y)| x != y)
        .or_else(|| (ta.len() != tb.len()).then(|| ta.len().min(tb.len())));
    let event = match event {
        Some(e) => e,
        None if decision.is_none() && a.trace_hash == b.trace_hash => return None,
        None => ta.len(),
    };
    let first = ta.get(event).copied();
    let second = tb.get(event).copied();
    let at = first.or(second);
    let name =
        |names: &Vec<String>, index: Option<usize>| index.and_then(|i| names.get(i).cloned());
    let text = |run: &RunReport, e: Option<TraceEvent>| {
        e.map_or("(its trace had ended)".to_string(), |e| {
            let node = name(&run.node_names, e.node.map(NodeId::index)).unwrap_or_default();
            let task = name(&run.task_names, e.task.map(TaskId::index)).unwrap_or_default();
            describe(&e, &node, &task)
        })
    };
    let texts = (text(a, first), text(b, second));
    Some(Nondeterminism {
        texts,
        event,
        step: at.map_or(a.steps, |e| e.step),
        node: at.and_then(|e| name(&a.node_names, e.node.map(NodeId::index))),
        task: at.and_then(|e| name(&a.task_names, e.task.map(TaskId::index))),
        first,
        second,
        decision,
    })
}
