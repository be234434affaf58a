//! The planted bug: off by default; a [`Bugs`] set switches it on.

use weft::internals::scenario::{BugSet, Planted, PlantedBug};

/// One planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// A front-end uses its lease for the whole lease length on its own clock, with no margin
    /// for drift between its clock and the store's.
    NoDriftMargin,
}

impl Planted for Bug {
    const ALL: &'static [Bug] = &[Bug::NoDriftMargin];

    fn name(self) -> &'static str {
        LEASE_BUGS[Bug::ALL.iter().position(|b| *b == self).expect("listed")].name
    }
}

/// A set of planted bugs (empty: the correct system).
pub type Bugs = BugSet<Bug>;

/// The catalogue, in [`Bug::ALL`] order, as `weft list` shows it.
pub static LEASE_BUGS: [PlantedBug; 1] = [PlantedBug {
    name: "no-drift-margin",
    origin: "Gray and Cheriton, Leases (SOSP 1989): a holder must allow for clock drift",
    about: "a front-end serves from its cache for the whole lease on its own clock, so one \
            whose clock runs slower than the store's serves a stale value after a write",
}];
