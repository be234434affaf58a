//! The counterexample a person reads: commands per client with their results, the
//! interleaving as a short numbered list of only the decisions that matter, in the system's
//! terms, the violated property with expected and observed values, and how to replay it.
//! The text is stable (no timings, no paths unless given), so snapshot tests can pin it.

use super::CaseInfo;
use crate::decision::DecisionKind;
use crate::sim::{format_ns, Failure, Note, RunReport};
use std::fmt;

/// A failing run, explained.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The failure.
    pub failure: Failure,
    /// What the model-based case did, if it was one.
    pub case: Option<CaseInfo>,
    /// The non-default execution decisions, each described.
    pub decisions: Vec<Note>,
    /// How to replay it (a command line), if known.
    pub replay: Option<String>,
}

impl Counterexample {
    /// Explains `report`, which must come from a run with the trace recorded (so that
    /// decisions carry notes).
    pub fn new(report: &RunReport, replay: Option<String>) -> Counterexample {
        let failure = report.outcome.failure().cloned().expect("a failing run");
        let mut decisions = Vec::new();
        for (index, d) in report.log.decisions.iter().enumerate() {
            if d.value == 0 || d.kind == DecisionKind::Generate {
                continue;
            }
            let note = report
                .notes
                .iter()
                .find(|n| n.decision == index)
                .cloned()
                .unwrap_or_else(|| Note {
                    decision: index,
                    step: 0,
                    time_ns: 0,
                    kind: d.kind,
                    value: d.value,
                    text: format!(
                        "{} decision took option {} of {}",
                        d.kind.name(),
                        d.value,
                        d.bound
                    ),
                });
            decisions.push(note);
        }
        Counterexample {
            failure,
            case: report.case.clone(),
            decisions,
            replay,
        }
    }
}

fn kind_meaning(kind: crate::sim::FailureKind) -> &'static str {
    use crate::sim::FailureKind::*;
    match kind {
        Panic => "code under test panicked",
        Deadlock => "nothing could make progress",
        StepsExceeded => "the step budget ran out (livelock?)",
        TimeExceeded => "the simulated-time budget ran out (livelock?)",
        LimitExceeded => "a resource limit was exceeded",
        Check => "a postcondition, invariant or property was violated",
    }
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Failure: {} ({})",
            self.failure.kind,
            kind_meaning(self.failure.kind)
        )?;
        if let Some(case) = &self.case {
            writeln!(f)?;
            let parallel = case.clients.len() > 1;
            writeln!(
                f,
                "Commands ({} in all{}):",
                case.commands,
                if parallel {
                    format!(
                        ", {} clients in parallel after the prefix",
                        case.clients.len() - 1
                    )
                } else {
                    String::new()
                }
            )?;
            for client in &case.clients {
                if parallel {
                    if client.ops.is_empty() && client.client == "prefix" {
                        writeln!(f, "  prefix: (empty)")?;
                        continue;
                    }
                    writeln!(f, "  {}:", client.client)?;
                }
                for op in &client.ops {
                    let result = op.result.as_deref().unwrap_or("(did not return)");
                    let blocking = if op.blocking { " (may block)" } else { "" };
                    writeln!(
                        f,
                        "  {}  #{} {}{} -> {}",
                        if parallel { "  " } else { "" },
                        op.var,
                        op.command,
                        blocking,
                        result
                    )?;
                }
            }
        }
        writeln!(f)?;
        if self.decisions.is_empty() {
            writeln!(
                f,
                "Interleaving: the default one (sequential, no faults): no decision matters."
            )?;
        } else {
            writeln!(
                f,
                "Interleaving: the default order (sequential, no faults) except for {} decision{}:",
                self.decisions.len(),
                if self.decisions.len() == 1 { "" } else { "s" }
            )?;
            for (i, note) in self.decisions.iter().enumerate() {
                writeln!(
                    f,
                    "  {}. {} (step {}, at {})",
                    i + 1,
                    note.text,
                    note.step,
                    format_ns(note.time_ns)
                )?;
            }
        }
        writeln!(f)?;
        let violation = self.case.as_ref().and_then(|c| c.violation.clone());
        match violation {
            Some(v) => writeln!(f, "Violation: {v}")?,
            None => writeln!(f, "Violation: {}", self.failure.message)?,
        }
        for b in &self.failure.blocked {
            writeln!(
                f,
                "  blocked: task {} '{}' on {} waits on {}",
                b.task, b.name, b.node, b.waiting_on
            )?;
        }
        if let Some(replay) = &self.replay {
            writeln!(f, "\nReplay: {replay}")?;
        }
        Ok(())
    }
}
