//! Planted integration mistakes: each is a way to misuse the `raft` crate's `Ready` protocol
//! that real integrations have made. All are off by default; a [`Bugs`] set switches them on.

use weft::internals::scenario::{BugSet, Planted, PlantedBug};

/// One planted mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// Entries are applied to the state machine as soon as they are appended to the log
    /// (`Ready::entries`), not when they are committed (`Ready::committed_entries`).
    ApplyBeforeCommit,
    /// The hard state (term, vote, commit) is written but never fsynced, so a vote answered
    /// before a crash can be forgotten after it.
    VoteNotPersisted,
}

impl Planted for Bug {
    const ALL: &'static [Bug] = &[Bug::ApplyBeforeCommit, Bug::VoteNotPersisted];

    fn name(self) -> &'static str {
        RAFT_BUGS[Bug::ALL.iter().position(|b| *b == self).expect("listed")].name
    }
}

/// A set of planted mistakes (empty: the correct integration).
pub type Bugs = BugSet<Bug>;

/// The catalogue, in [`Bug::ALL`] order, as `weft list` shows it.
pub static RAFT_BUGS: [PlantedBug; 2] = [
    PlantedBug {
        name: "apply-before-commit",
        origin: "the raft crate's Ready protocol: apply only committed_entries",
        about: "entries are applied (and clients answered) when appended to the local log, \
                before a quorum has them",
    },
    PlantedBug {
        name: "vote-not-persisted",
        origin: "the raft crate's Ready protocol: persist the HardState before persisted_messages",
        about: "the hard state (term and vote) is written but not fsynced before the vote is \
                answered, so a crash can make a node vote twice in one term",
    },
];
