//! The layer above the engine and the model layer: searching for failing runs, shrinking
//! them, explaining them, and the files and registries the `weft` tool works with.
//!
//! Everything here works on a [`Run`]: the engine's [`RunReport`] paired with what the model
//! layer knows of the case, if the run was a model-based case. The engine never sees the case.

pub mod campaign;
pub mod check;
pub mod determinism;
pub mod explain;
pub mod explore;
pub mod fuzz;
pub mod html;
pub mod replay;
pub mod scenario;
pub mod shrink;

use crate::decision::DecisionKind;
use crate::model::{self, CaseInfo, Shape, StateMachine};
use crate::sim::{Detail, RunReport};
use crate::source::Source;
use std::rc::Rc;

/// One run as the search layer sees it: the engine's report, and the model-based case it ran,
/// if it was one.
#[derive(Clone, Debug)]
pub struct Run {
    /// What the engine reports.
    pub report: RunReport,
    /// What the case did (commands, results, structure), for model-based runs.
    pub case: Option<CaseInfo>,
}

impl Run {
    /// A run that was not a model-based case.
    pub fn plain(report: RunReport) -> Run {
        Run { report, case: None }
    }

    /// Number of commands and of parallel branches (0, 0 for a run without a case). Every
    /// branch counts, empty or not: each is a client task that takes part in scheduling.
    pub fn size(&self) -> (usize, usize) {
        self.case
            .as_ref()
            .map_or((0, 0), |c| (c.commands, c.branches))
    }

    /// Whether the run failed.
    pub fn failed(&self) -> bool {
        self.report.outcome.failure().is_some()
    }
}

/// Runs one case from a decision source, keeping as much detail as asked.
pub type RunFn<'a> = dyn Fn(Source, Detail) -> Run + 'a;

/// Generates one case of `model` from `source` and executes it (what a model-based scenario's
/// `run` does).
pub fn run_case<M: StateMachine + Sync>(
    model: &Rc<M>,
    shape: &Shape,
    mut source: Source,
    detail: Detail,
) -> Run {
    let case = model::generate(&**model, &mut source, shape);
    let (report, case) = model::execute(model, case, source, detail);
    Run {
        report,
        case: Some(case),
    }
}

/// Generates one case from `source` with one of two models and shapes, chosen by the case's
/// first generated decision (0: the first pair, toward which shrinking moves), and executes
/// it. A scenario uses it to mix, say, sequential and parallel cases in one search.
pub fn run_case_mixed<A: StateMachine + Sync, B: StateMachine + Sync>(
    first: (&Rc<A>, &Shape),
    second: (&Rc<B>, &Shape),
    mut source: Source,
    detail: Detail,
) -> Run {
    if source.value(DecisionKind::Generate, 2) == 0 {
        run_case(first.0, first.1, source, detail)
    } else {
        run_case(second.0, second.1, source, detail)
    }
}
