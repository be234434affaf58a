//! Named failure kinds, each reported with node, task and simulated time.

use crate::ids::TaskId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of bug a failing run found. A reader must know at once which kind it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Code under test panicked.
    Panic,
    /// Nothing runnable, no timer pending, and the test had not finished.
    Deadlock,
    /// The step budget ran out (a livelock, or a run far longer than expected).
    StepsExceeded,
    /// The simulated-time budget ran out.
    TimeExceeded,
    /// A resource limit (tasks, pending events, mailbox capacity) was exceeded.
    LimitExceeded,
    /// A property, invariant or postcondition was violated.
    Check,
    /// Once every fault had healed, the system did not come to rest within the bound of the
    /// liveness phase (replicas never converged, a job never answered).
    Liveness,
}

impl FailureKind {
    /// Whether the shrinker may trade a failure of this kind for one of `other`: the same
    /// kind, or two violated properties (a check and a liveness failure). One bug often
    /// shows both ways (a leaked worker breaks an invariant after the next checkin, or keeps
    /// the pool from coming to rest), and which one a search meets first depends on the seed;
    /// letting them shrink into each other leads every seed to the same smallest story.
    /// Panics, deadlocks and exhausted budgets stay apart: they are other bugs.
    pub fn shrinks_with(self, other: FailureKind) -> bool {
        let property = |k| matches!(k, FailureKind::Check | FailureKind::Liveness);
        self == other || (property(self) && property(other))
    }

    /// The kebab-case name used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Panic => "panic",
            FailureKind::Deadlock => "deadlock",
            FailureKind::StepsExceeded => "steps-exceeded",
            FailureKind::TimeExceeded => "time-exceeded",
            FailureKind::LimitExceeded => "limit-exceeded",
            FailureKind::Check => "check",
            FailureKind::Liveness => "liveness",
        }
    }

    /// What the kind means, for a person reading a report.
    pub fn meaning(self) -> &'static str {
        match self {
            FailureKind::Panic => "code under test panicked",
            FailureKind::Deadlock => "nothing could make progress",
            FailureKind::StepsExceeded => "the step budget ran out (livelock?)",
            FailureKind::TimeExceeded => "the simulated-time budget ran out (livelock?)",
            FailureKind::LimitExceeded => "a resource limit was exceeded",
            FailureKind::Check => "a postcondition, invariant or property was violated",
            FailureKind::Liveness => {
                "the system did not come to rest after every fault healed (liveness)"
            }
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A task that could not make progress when a deadlock was detected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedTask {
    /// Task id.
    pub task: TaskId,
    /// Task name.
    pub name: String,
    /// Node name.
    pub node: String,
    /// What it waits on.
    pub waiting_on: String,
}

/// A failed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The kind.
    pub kind: FailureKind,
    /// What went wrong.
    pub message: String,
    /// Node where it happened, if any.
    pub node: Option<String>,
    /// Task where it happened, if any.
    pub task: Option<String>,
    /// Simulated time.
    pub time_ns: u64,
    /// Scheduling step.
    pub step: u64,
    /// For deadlocks: the tasks that wait, and on what.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<BlockedTask>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        write!(
            f,
            " (at {}, step {}",
            crate::sim::format_ns(self.time_ns),
            self.step
        )?;
        if let Some(node) = &self.node {
            write!(f, ", node {node}")?;
        }
        if let Some(task) = &self.task {
            write!(f, ", task {task}")?;
        }
        write!(f, ")")?;
        for b in &self.blocked {
            write!(f, "\n  {b}")?;
        }
        Ok(())
    }
}

impl fmt::Display for BlockedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} '{}' on {} waits on {}",
            self.task, self.name, self.node, self.waiting_on
        )
    }
}

/// Panic payload used by [`crate::fail`] to report a violated check from inside a task
/// ([`FailureKind::Check`], or [`FailureKind::Liveness`] from the liveness phase).
pub(crate) struct CheckFailed(pub FailureKind, pub String);
