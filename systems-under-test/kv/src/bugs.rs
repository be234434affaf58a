//! Planted bugs: each re-creates, in this store's terms, the mechanism of a real bug of Riak
//! or its kin (see `shared/reference/dynamo-bugs.md`). All are off by default; a [`Bugs`] set
//! switches them on per cluster.

use std::fmt;

/// One planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Versions are one value stamped with the coordinating node's wall clock; the larger
    /// stamp wins every merge.
    LastWriteWins,
    /// The coordinator answers a put after the first replica stored it, not after W.
    AckBeforeQuorum,
    /// Clock pruning removes the youngest entry instead of the oldest.
    PruneYoungest,
    /// A node whose disk was lost starts again with its old actor id and counters from zero.
    ActorReuseAfterDiskLoss,
    /// Read repair writes one winning sibling under the merged clock instead of the merge.
    ReadRepairDropsSiblings,
    /// A fallback keeps hinted writes in memory only (acknowledged, never fsynced).
    VolatileHints,
    /// Handoff skips tombstones but drops the local copy as if they had been handed over.
    HandoffDropsTombstones,
    /// Vector clocks keyed by replica with undotted siblings.
    ReplicaClockSiblings,
}

impl Bug {
    /// Every planted bug.
    pub const ALL: [Bug; 8] = [
        Bug::LastWriteWins,
        Bug::AckBeforeQuorum,
        Bug::PruneYoungest,
        Bug::ActorReuseAfterDiskLoss,
        Bug::ReadRepairDropsSiblings,
        Bug::VolatileHints,
        Bug::HandoffDropsTombstones,
        Bug::ReplicaClockSiblings,
    ];

    /// The name used on the command line (`weft fuzz kv --bug NAME`).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The bug by name.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Name, origin and description, as the scenario registry lists them.
    pub fn info(self) -> weft::internals::scenario::PlantedBug {
        KV_BUGS[self.index()]
    }

    fn index(self) -> usize {
        Bug::ALL.iter().position(|b| *b == self).expect("listed")
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The store's planted bugs, in [`Bug::ALL`] order.
pub static KV_BUGS: [weft::internals::scenario::PlantedBug; 8] = [
    weft::internals::scenario::PlantedBug {
        name: "last-write-wins",
        origin: "Jepsen: Call me maybe: Riak",
        about: "versions are one value stamped by the coordinator's skewed wall clock; concurrent or skewed writes silently lose",
    },
    weft::internals::scenario::PlantedBug {
        name: "ack-before-quorum",
        origin: "Dynamo W quorum",
        about: "the coordinator acknowledges a put once the first replica stored it, before W replicas did",
    },
    weft::internals::scenario::PlantedBug {
        name: "prune-youngest",
        origin: "riak_core #613",
        about: "clock pruning removes the youngest entry instead of the oldest; superseded siblings come back",
    },
    weft::internals::scenario::PlantedBug {
        name: "actor-reuse-after-disk-loss",
        origin: "riak_kv #679 (kv679)",
        about: "after disk loss a node reuses its actor id with counters from zero; replicas drop its new writes as already seen",
    },
    weft::internals::scenario::PlantedBug {
        name: "read-repair-drops-siblings",
        origin: "read repair without merge",
        about: "read repair writes one winning sibling under the merged clock, erasing the others everywhere",
    },
    weft::internals::scenario::PlantedBug {
        name: "volatile-hints",
        origin: "hinted handoff",
        about: "a fallback acknowledges hinted writes kept only in memory; a crash loses them",
    },
    weft::internals::scenario::PlantedBug {
        name: "handoff-drops-tombstones",
        origin: "riak_kv #1850",
        about: "handoff skips tombstones yet drops them locally; a reaped delete's key comes back",
    },
    weft::internals::scenario::PlantedBug {
        name: "replica-clock-siblings",
        origin: "riak_test #383",
        about: "vector clocks keyed by replica without dots: interleaved read-modify-writes grow siblings without bound",
    },
];

/// A set of planted bugs (empty by default: the correct store).
pub type Bugs = weft::internals::scenario::BugSet<Bug>;

impl weft::internals::scenario::Planted for Bug {
    const ALL: &'static [Bug] = &Bug::ALL;

    fn name(self) -> &'static str {
        Bug::name(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
        }
        let set = Bugs::from_names(&["volatile-hints", "last-write-wins"]).unwrap();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Bug::LastWriteWins, Bug::VolatileHints]
        );
        assert!(Bugs::from_names(&["nope"])
            .unwrap_err()
            .contains("prune-youngest"));
        assert!(Bugs::none().is_empty());
    }
}
