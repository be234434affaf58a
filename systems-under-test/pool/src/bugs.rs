//! Planted bugs: each re-creates, in this library's terms, a bug that model-based testing found
//! in poolboy or in riak_core's worker pool. All are off by default; a [`Bugs`] set switches
//! them on per pool (and per work queue).

use std::fmt;

/// One planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Hand-overs to waiting checkouts skip the deadline check, so a worker goes to a blocking
    /// checkout whose caller has already given up.
    ServeExpiredWaiter,
    /// A checked-out worker that dies while the pool is in overflow is not counted off, so the
    /// pool's capacity shrinks for good.
    ExitShrinksCapacity,
    /// The exit of a worker that is not checked out (or of a linked task) clears the lease
    /// table.
    UnknownExitWipesMonitors,
    /// Exits of tasks that are not checked-out workers go through the checked-out path:
    /// replacements are started for them.
    SpuriousExitCounted,
    /// Checkin accepts tasks that are not checked-out workers.
    ForeignCheckinAccepted,
    /// A replacement handed to a waiting checkout is recorded under the waiter's owner
    /// instead of under the new worker.
    ReplacementWrongOwner,
    /// A checkin that meets an expired waiter re-runs itself after deleting the lease, and
    /// drops the worker.
    CheckinDropsWorker,
    /// When a lease's owner dies the worker is killed, and the pool restores its capacity only
    /// when the worker's own exit notice arrives.
    StaleCountOnOwnerDown,
    /// A timed-out checkout's cancel is matched by caller, not by request, so a worker handed
    /// to the request just as it timed out stays checked out.
    CheckoutTimeoutLeak,
    /// Waiters' monitors on their callers are not released when the waiter expires or is
    /// served.
    WaiterMonitorLeak,
    /// Work queue: workers check themselves back into the pool and the queue re-checks-out
    /// with a non-blocking checkout that can lose the race and wait forever.
    QueueCheckinRace,
    /// Work queue: the queue stays in its queueing state after a worker crash with nothing
    /// busy, and later work waits forever.
    QueueRestartStuck,
}

impl Bug {
    /// Every planted bug, pool bugs first.
    pub const ALL: [Bug; 12] = [
        Bug::ServeExpiredWaiter,
        Bug::ExitShrinksCapacity,
        Bug::UnknownExitWipesMonitors,
        Bug::SpuriousExitCounted,
        Bug::ForeignCheckinAccepted,
        Bug::ReplacementWrongOwner,
        Bug::CheckinDropsWorker,
        Bug::StaleCountOnOwnerDown,
        Bug::CheckoutTimeoutLeak,
        Bug::WaiterMonitorLeak,
        Bug::QueueCheckinRace,
        Bug::QueueRestartStuck,
    ];

    /// The name used on the command line (`weft fuzz pool --bug NAME`).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The bug by name.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Name, origin and description, as the scenario registry lists them.
    pub fn info(self) -> weft::internals::scenario::PlantedBug {
        let index = Bug::ALL.iter().position(|b| *b == self).expect("listed");
        if index < POOL_BUGS.len() {
            POOL_BUGS[index]
        } else {
            QUEUE_BUGS[index - POOL_BUGS.len()]
        }
    }

    /// Whether the reference marks the bug as found only with concurrency (parallel clients or
    /// racing messages); the others show in sequential tests.
    pub fn needs_concurrency(self) -> bool {
        matches!(
            self,
            Bug::StaleCountOnOwnerDown
                | Bug::CheckoutTimeoutLeak
                | Bug::QueueCheckinRace
                | Bug::QueueRestartStuck
        )
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The pool's planted bugs, in [`Bug::ALL`] order.
pub static POOL_BUGS: [weft::internals::scenario::PlantedBug; 10] = [
    weft::internals::scenario::PlantedBug {
        name: "serve-expired-waiter",
        origin: "poolboy 6a53f06",
        about: "a checkin hands the worker to a blocking checkout that already timed out; the worker leaks",
    },
    weft::internals::scenario::PlantedBug {
        name: "exit-shrinks-capacity",
        origin: "poolboy c2ba14c",
        about: "a checked-out worker dying in overflow is not counted off; capacity shrinks",
    },
    weft::internals::scenario::PlantedBug {
        name: "unknown-exit-wipes-monitors",
        origin: "poolboy eacf28f",
        about: "the exit of a worker that is not checked out wipes the table of leases",
    },
    weft::internals::scenario::PlantedBug {
        name: "spurious-exit-counted",
        origin: "poolboy e964cc5",
        about: "an unrelated linked task's or an idle worker's exit is handled like a checked-out worker's",
    },
    weft::internals::scenario::PlantedBug {
        name: "foreign-checkin-accepted",
        origin: "poolboy e6af0b6",
        about: "checkin of a task that is not a checked-out worker goes into the idle queue",
    },
    weft::internals::scenario::PlantedBug {
        name: "replacement-wrong-owner",
        origin: "poolboy 0d9dbee",
        about: "a replacement handed to a waiter is recorded under the waiter, not the worker",
    },
    weft::internals::scenario::PlantedBug {
        name: "checkin-drops-worker",
        origin: "poolboy 3a18d40",
        about: "a checkin that meets an expired waiter re-runs itself after deleting the lease and drops the worker",
    },
    weft::internals::scenario::PlantedBug {
        name: "stale-count-on-owner-down",
        origin: "poolboy 3acb457",
        about: "an owner's death kills its worker; capacity returns only with the worker's exit notice",
    },
    weft::internals::scenario::PlantedBug {
        name: "checkout-timeout-leak",
        origin: "poolboy PR #70",
        about: "a timed-out checkout's cancel is keyed by caller, so a worker handed over just then stays checked out",
    },
    weft::internals::scenario::PlantedBug {
        name: "waiter-monitor-leak",
        origin: "poolboy #55/#58/#61",
        about: "an expired or served waiter's monitor on its caller is never released",
    },
];

/// The work queue's planted bugs, in [`Bug::ALL`] order.
pub static QUEUE_BUGS: [weft::internals::scenario::PlantedBug; 2] = [
    weft::internals::scenario::PlantedBug {
        name: "queue-checkin-race",
        origin: "riak_core #298",
        about: "workers check in to the pool themselves; the queue's next checkout can beat the checkin and wait forever",
    },
    weft::internals::scenario::PlantedBug {
        name: "queue-restart-stuck",
        origin: "riak_core #958",
        about: "after a worker crash with nothing busy the queue stays queueing; later work waits forever",
    },
];

/// A set of planted bugs (empty by default: the correct library).
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
    fn names_round_trip_and_catalogue_is_in_order() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
        }
        let set = Bugs::from_names(&["checkin-drops-worker", "queue-restart-stuck"]).unwrap();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Bug::CheckinDropsWorker, Bug::QueueRestartStuck]
        );
        assert!(Bugs::from_names(&["nope"])
            .unwrap_err()
            .contains("serve-expired-waiter"));
        assert!(Bugs::none().is_empty());
    }
}
