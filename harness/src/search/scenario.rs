//! Scenarios: named, configurable workloads that the `weft` tool runs, fuzzes and replays.

use super::Run;
use crate::sim::Detail;
use crate::source::Source;
use serde::{Deserialize, Serialize};

/// A planted bug a scenario's system can switch on by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlantedBug {
    /// The name given to `--bug`.
    pub name: &'static str,
    /// Where the bug comes from (a commit, an issue).
    pub origin: &'static str,
    /// What goes wrong.
    pub about: &'static str,
}

/// How a scenario is set up for one run; stored in replay files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Setup {
    /// Planted bugs switched on.
    pub bugs: Vec<String>,
    /// How much of the run to keep (not stored: it does not change the run).
    #[serde(skip)]
    pub detail: Detail,
}

impl Setup {
    /// Whether the planted bug `name` is on.
    pub fn bug(&self, name: &str) -> bool {
        self.bugs.iter().any(|b| b == name)
    }
}

/// A workload that can be run from any decision source.
pub trait Scenario: Sync {
    /// Name used on the command line.
    fn name(&self) -> &'static str;
    /// One line about it.
    fn about(&self) -> &'static str;
    /// Whether it is expected to fail without any planted bug (the canary).
    fn must_fail(&self) -> bool {
        false
    }
    /// The planted bugs it knows.
    fn bugs(&self) -> &'static [PlantedBug] {
        &[]
    }
    /// Runs once. The result must be a pure function of `setup` and the decisions.
    fn run(&self, setup: &Setup, source: Source) -> Run;
}
