//! [`Report`]: a check's result described in words, independent of the model's types, for
//! JSON output and the HTML page.

use crate::check::{CheckResult, PartOutcome, Verdict};
use crate::model::{Model, Operation};
use serde::Serialize;

/// A check's result with every operation and state described by the model.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The model's name.
    pub model: String,
    /// `linearizable`, `not-linearizable` or `unknown`.
    pub verdict: &'static str,
    /// Why the verdict is unknown (`timeout`, `memory-limit`), if it is.
    pub unknown_reason: Option<&'static str>,
    /// Wall-clock time of the check, in milliseconds.
    pub elapsed_ms: f64,
    /// Every operation checked, in the order given to the checker.
    pub ops: Vec<ReportOp>,
    /// One entry per independent part.
    pub parts: Vec<ReportPart>,
}

/// One operation.
#[derive(Clone, Debug, Serialize)]
pub struct ReportOp {
    /// The client.
    pub client: u64,
    /// Call time.
    pub call: u64,
    /// Return time; `None` for an unknown outcome.
    pub ret: Option<u64>,
    /// The model's description of the operation.
    pub description: String,
    /// The line of the invocation in the history file, if known.
    pub line: Option<usize>,
    /// The index of its part in [`Report::parts`].
    pub part: usize,
}

/// One independent part.
#[derive(Clone, Debug, Serialize)]
pub struct ReportPart {
    /// A name for the part (`part 3`, or what the caller set, such as a key).
    pub label: String,
    /// `linearizable`, `not-linearizable` or `unknown`.
    pub verdict: &'static str,
    /// Why the part's verdict is unknown (`timeout`, `memory-limit`, `cancelled`).
    pub unknown_reason: Option<&'static str>,
    /// The part's operations (indices into [`Report::ops`]).
    pub ops: Vec<usize>,
    /// The model's initial state, described.
    pub initial_state: String,
    /// A linearization (linearizable) or the longest partial linearization found (otherwise),
    /// with the state after each step.
    pub linearization: Vec<ReportStep>,
    /// Operations that could not be placed after the longest partial linearization.
    pub unplaced: Vec<usize>,
    /// Search steps.
    pub steps: u64,
    /// Memo cache entries.
    pub cache_entries: u64,
    /// Time spent on the part, in milliseconds.
    pub elapsed_ms: f64,
}

/// One step of a linearization.
#[derive(Clone, Debug, Serialize)]
pub struct ReportStep {
    /// The operation (index into [`Report::ops`]).
    pub op: usize,
    /// The state after it.
    pub state: String,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    /// Describes `result`, the result of checking `ops` against `model`.
    pub fn new<M: Model>(
        model_name: &str,
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        result: &CheckResult,
    ) -> Report {
        let mut report_ops: Vec<ReportOp> = ops
            .iter()
            .map(|op| ReportOp {
                client: op.client,
                call: op.call,
                ret: op.output.as_ref().map(|_| op.ret),
                description: model.describe_operation(&op.input, op.output.as_ref()),
                line: None,
                part: 0,
            })
            .collect();
        let mut parts = Vec::with_capacity(result.parts.len());
        for (index, part) in result.parts.iter().enumerate() {
            for &op in &part.ops {
                if let Some(o) = report_ops.get_mut(op) {
                    o.part = index;
                }
            }
            let init = model.init();
            let initial_state = model.describe_state(&init);
            let mut state = Some(init);
            let mut linearization = Vec::with_capacity(part.linearization.len());
            for &i in &part.linearization {
                let Some(op) = ops.get(i) else { break };
                state = state.and_then(|s| model.step(&s, &op.input, op.output.as_ref()));
                let Some(s) = &state else { break };
                linearization.push(ReportStep {
                    op: i,
                    state: model.describe_state(s),
                });
            }
            let unknown_reason = match part.outcome {
                PartOutcome::Unknown(r) => Some(r.as_str()),
                _ => None,
            };
            parts.push(ReportPart {
                label: format!("part {}", index + 1),
                verdict: part.outcome.verdict().as_str(),
                unknown_reason,
                ops: part.ops.clone(),
                initial_state,
                linearization,
                unplaced: part.unplaced.clone(),
                steps: part.stats.steps,
                cache_entries: part.stats.cache_entries,
                elapsed_ms: ms(part.stats.elapsed),
            });
        }
        Report {
            model: model_name.to_string(),
            verdict: result.verdict.as_str(),
            unknown_reason: result.unknown_reason().map(|r| r.as_str()),
            elapsed_ms: ms(result.elapsed),
            ops: report_ops,
            parts,
        }
    }

    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        match self.verdict {
            "linearizable" => Verdict::Linearizable,
            "not-linearizable" => Verdict::NotLinearizable,
            _ => Verdict::Unknown,
        }
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
