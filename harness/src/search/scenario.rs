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

/// A catalogue of planted bugs: an enum whose every value is listed in `ALL`, in catalogue
/// order (at most 64 of them).
pub trait Planted: Copy + Eq + 'static {
    /// Every bug of the catalogue, in order.
    const ALL: &'static [Self];
    /// The name given to `--bug`.
    fn name(self) -> &'static str;
}

/// A set of planted bugs of one catalogue (empty by default: the correct system).
pub struct BugSet<B> {
    bits: u64,
    _bug: std::marker::PhantomData<B>,
}

impl<B: Planted> BugSet<B> {
    /// No bug: the correct system.
    pub fn none() -> Self {
        BugSet {
            bits: 0,
            _bug: std::marker::PhantomData,
        }
    }

    fn bit(bug: B) -> u64 {
        let index = B::ALL.iter().position(|b| *b == bug);
        1 << index.expect("every bug is listed in its catalogue")
    }

    /// This set with `bug` switched on.
    pub fn with(self, bug: B) -> Self {
        BugSet {
            bits: self.bits | Self::bit(bug),
            _bug: std::marker::PhantomData,
        }
    }

    /// Whether `bug` is on.
    pub fn has(self, bug: B) -> bool {
        self.bits & Self::bit(bug) != 0
    }

    /// Whether no bug is on.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The bugs switched on, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = B> {
        B::ALL.iter().copied().filter(move |b| self.has(*b))
    }

    /// The set named by `names`; an unknown name is an error that lists the known ones.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut bugs = Self::none();
        for name in names {
            let name = name.as_ref();
            let Some(bug) = B::ALL.iter().copied().find(|b| b.name() == name) else {
                let known: Vec<&str> = B::ALL.iter().map(|b| b.name()).collect();
                return Err(format!(
                    "unknown bug {name:?}; known bugs: {}",
                    known.join(", ")
                ));
            };
            bugs = bugs.with(bug);
        }
        Ok(bugs)
    }
}

impl<B> Clone for BugSet<B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B> Copy for BugSet<B> {}

impl<B: Planted> Default for BugSet<B> {
    fn default() -> Self {
        Self::none()
    }
}

impl<B> PartialEq for BugSet<B> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}

impl<B> Eq for BugSet<B> {}

impl<B> std::hash::Hash for BugSet<B> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}

impl<B: Planted> std::fmt::Debug for BugSet<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Planted::name))
            .finish()
    }
}
