//! The counterexample a person reads: commands per client with their results, the
//! interleaving as a short numbered list of only the decisions that matter, in the system's
//! terms, the violated property with expected and observed values, and how to replay it.
//! The text is stable (no timings, no paths unless given), so snapshot tests can pin it.

use super::Run;
use crate::decision::DecisionKind;
use crate::model::CaseInfo;
use crate::sim::{format_ns, Failure, Note};
use crate::strategy::SwarmProfile;
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
    /// The swarm profile the case ran under, if the swarm strategy generated it (printed
    /// first).
    pub profile: Option<SwarmProfile>,
    /// When the search for a smaller case replaced the local minimum of the failure as found:
    /// how large that was and how to replay it (printed last).
    pub found_as: Option<String>,
}

impl Counterexample {
    /// Explains `run`, which must be a failing run with [`crate::Detail::Explain`] (so that
    /// decisions carry notes and the case its commands as text).
    pub fn new(run: &Run, replay: Option<String>) -> Counterexample {
        let report = &run.report;
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
            case: run.case.clone(),
            decisions,
            replay,
            profile: None,
            found_as: None,
        }
    }

    /// This counterexample with the swarm profile its case ran under.
    pub fn with_profile(mut self, profile: Option<SwarmProfile>) -> Counterexample {
        self.profile = profile;
        self
    }
}

impl Counterexample {
    fn write_commands(f: &mut fmt::Formatter<'_>, case: &CaseInfo) -> fmt::Result {
        let parallel = case.clients.len() > 1;
        let clients = if parallel {
            format!(
                ", {} clients in parallel after the prefix",
                case.clients.len() - 1
            )
        } else {
            String::new()
        };
        writeln!(f, "\nCommands ({} in all{clients}):", case.commands)?;
        for client in &case.clients {
            if parallel {
                if client.ops.is_empty() && client.client == "prefix" {
                    writeln!(f, "  prefix: (empty)")?;
                    continue;
                }
                writeln!(f, "  {}:", client.client)?;
            }
            let indent = if parallel { "  " } else { "" };
            for op in &client.ops {
                let result = op.result.as_deref().unwrap_or("(did not return)");
                let blocking = if op.blocking { " (may block)" } else { "" };
                writeln!(
                    f,
                    "  {indent}  #{} {}{blocking} -> {result}",
                    op.var, op.command
                )?;
            }
        }
        Ok(())
    }

    fn write_interleaving(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.decisions.is_empty() {
            return writeln!(
                f,
                "Interleaving: the default one (sequential, no faults): no decision matters."
            );
        }
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
        Ok(())
    }

    /// The HTML report (`html::page`): the failure first, then the profile, this
    /// text, the message sequence chart of `report` (the run replayed with its trace) and the
    /// clients' history.
    pub fn to_html(&self, title: &str, report: &crate::sim::RunReport) -> String {
        super::html::page(title, self, report)
    }
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(profile) = &self.profile {
            writeln!(f, "Swarm profile: {profile}\n")?;
        }
        writeln!(
            f,
            "Failure: {} ({})",
            self.failure.kind,
            self.failure.kind.meaning()
        )?;
        if let Some(case) = &self.case {
            Counterexample::write_commands(f, case)?;
        }
        writeln!(f)?;
        self.write_interleaving(f)?;
        writeln!(f)?;
        let violation = self.case.as_ref().and_then(|c| c.violation.clone());
        match violation {
            Some(v) => writeln!(f, "Violation: {v}")?,
            None => writeln!(f, "Violation: {}", self.failure.message)?,
        }
        for b in &self.failure.blocked {
            writeln!(f, "  blocked: {b}")?;
        }
        if let Some(replay) = &self.replay {
            writeln!(f, "\nReplay: {replay}")?;
        }
        if let Some(found_as) = &self.found_as {
            writeln!(f, "Shrunk further: {found_as}")?;
        }
        Ok(())
    }
}
