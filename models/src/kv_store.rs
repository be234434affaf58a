//! A state-machine model of the bundled Dynamo-style store ([`weft_kv`]): the set-add
//! workload. Clients add unique elements to a few keys by read-modify-write (read the
//! siblings, merge them, add the element, write with the read's context) through different
//! coordinators, and delete keys (read, then delete with the read's context), while nodes
//! crash, lose their disks, lose power together and are cut off, and clocks are skewed.
//!
//! Commands: `add` and `delete` (started in the background, so they race each other),
//! `blind add` (a write without a read first, with an empty context), `wait` (time passes
//! while operations and faults go on), `crash`, `lose disk`
//! (at most once per case), `power loss` (every node at once), `isolate` and `split` (two
//! nodes cut off from the other three). Every case ends with weft's liveness phase: faults
//! heal, every operation finishes, and within 10 s of simulated time every primary of every
//! key must hold the same object with no hint left anywhere (convergence). Then, at rest: the
//! merged read of every key holds every acknowledged element that no delete saw, and nothing
//! never added; a delete that was the last write of its key, with nothing concurrent, left
//! the key empty, except for versions that clock pruning ([`PRUNE`]) may bring back as
//! siblings of its tombstone (written long enough before it: [`prune_safe_ns`]); two clients interleaving read-modify-writes on a fresh key leave at most
//! two siblings; a PR=2 read after a PW=2 write sees it (quorum intersection).

mod run;

pub use run::KvSystem;

use std::fmt;
use std::time::Duration;
use weft::model::{Gen, StateMachine, Var, Vars};
use weft::Liveness;
use weft::{Config, Sim};
use weft_kv::{Bugs, PruneLimits};

/// Nodes in the cluster.
pub const NODES: u8 = 5;
/// Keys the clients add to.
pub const KEYS: u8 = 3;
/// How long a partition lasts, in milliseconds: shorter than a request's timeout, or long
/// enough for coordinators to pass over the nodes cut off and for tombstones to be reaped.
const PARTITION_MS: [u16; 3] = [200, 1_000, 2_000];
/// How long a `wait` lasts, in milliseconds.
const WAIT_MS: [u16; 4] = [10, 100, 500, 2_500];

/// Version-vector pruning as the model's cluster runs it (Riak's `small_vclock`,
/// `big_vclock`, `young_vclock`, `old_vclock`): a clock longer than two entries loses its
/// oldest entries with no live value once they are older than 1.4 s by the pruning node's
/// clock. Riak's defaults (50, 50, 20 s, a day) would never prune in a case of a few seconds
/// with a few actors; these small limits make every key's clock a candidate once three
/// actors wrote it (nodes take a new actor at every restart).
pub const PRUNE: PruneLimits = PruneLimits {
    small: 2,
    big: 2,
    young_ns: 1_400_000_000,
    old_ns: u64::MAX,
};

/// The longest a case runs in simulated time (a limit of the simulation: exceeding it is a
/// failure of its own). It bounds how far clock drift can take two clocks apart.
const SIM_TIME_MAX_NS: u64 = 120_000_000_000;

/// How long before a delete a version must have been written for pruning to be allowed to
/// bring it back. Pruning drops an entry only when its latest event is at least
/// `PRUNE.young_ns` old by the pruning node's clock; clocks disagree by at most twice the
/// largest offset plus twice the largest drift over a case, so in true time that event, and
/// every version the entry's dots name, is at least this old. A version that lost its
/// writer's entry that way comes back as a sibling (Riak's false siblings after pruning,
/// riak_kv #283): a known cost of pruning, not a bug; a younger version never may.
pub fn prune_safe_ns(config: &Config) -> u64 {
    let clock = &config.clock;
    let drift = u64::from(clock.drift_max_ppm) * (config.sim_time_max_ns / 1_000_000);
    PRUNE
        .young_ns
        .saturating_sub(2 * clock.offset_max_ns + 2 * drift)
}

/// The model state: what was started, so commands can be generated and checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct KvState {
    /// The next element to add (elements are unique).
    pub next_element: u32,
    /// Whether a disk was lost in this case.
    pub disk_lost: bool,
}

/// A command.
#[derive(Clone, PartialEq, Eq)]
pub enum KvCmd {
    /// Add `element` to key `key`, coordinated by node `via` (in the background).
    Add {
        /// The key's index.
        key: u8,
        /// The coordinating node's index in the cluster.
        via: u8,
        /// The element.
        element: u32,
    },
    /// Add `element` to key `key` without reading first (a write with an empty context, as
    /// clients do for keys they believe new): a sibling of whatever is there.
    BlindAdd {
        /// The key's index.
        key: u8,
        /// The coordinating node's index in the cluster.
        via: u8,
        /// The element.
        element: u32,
    },
    /// Read key `key` and delete what was read (with the read's context), coordinated by
    /// node `via` (in the background).
    Delete {
        /// The key's index.
        key: u8,
        /// The coordinating node's index in the cluster.
        via: u8,
    },
    /// Crash node `node`; it restarts 50 ms later (the command waits for that).
    Crash {
        /// The node's index in the cluster.
        node: u8,
    },
    /// Node `node` loses its disk and restarts empty 50 ms later (the command waits).
    LoseDisk {
        /// The node's index in the cluster.
        node: u8,
    },
    /// Every node crashes at once (a power loss) and restarts 50 ms later.
    PowerLoss,
    /// Let `ms` milliseconds pass before the next command (operations in the background
    /// and faults go on meanwhile).
    Wait {
        /// How long, in milliseconds.
        ms: u16,
    },
    /// Cut node `node` off for `ms` milliseconds.
    Isolate {
        /// The node's index in the cluster.
        node: u8,
        /// How long, in milliseconds.
        ms: u16,
    },
    /// Cut nodes `a` and `b` (`a` < `b`) off from the other three for `ms` milliseconds (a
    /// minority partition).
    Split {
        /// One node of the minority.
        a: u8,
        /// The other.
        b: u8,
        /// How long, in milliseconds.
        ms: u16,
    },
}

impl fmt::Debug for KvCmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |i: u8| weft_kv::node_name(usize::from(i));
        match self {
            KvCmd::Add { key, via, element } => {
                write!(f, "add({element} to k{key} via {})", name(*via))
            }
            KvCmd::BlindAdd { key, via, element } => {
                write!(f, "blind add({element} to k{key} via {})", name(*via))
            }
            KvCmd::Delete { key, via } => write!(f, "delete(k{key} via {})", name(*via)),
            KvCmd::Crash { node } => write!(f, "crash({})", name(*node)),
            KvCmd::LoseDisk { node } => write!(f, "lose disk({})", name(*node)),
            KvCmd::PowerLoss => f.write_str("power loss"),
            KvCmd::Wait { ms } => write!(f, "wait({ms} ms)"),
            KvCmd::Isolate { node, ms } => write!(f, "isolate({} for {ms} ms)", name(*node)),
            KvCmd::Split { a, b, ms } => {
                write!(
                    f,
                    "split({} {} | the rest, for {ms} ms)",
                    name(*a),
                    name(*b)
                )
            }
        }
    }
}

/// A result: commands start work in the background or wait for their fault to pass; what
/// they did is checked at rest, at the end of the case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvResult;

/// How the model's clients run their operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clients {
    /// Adds and deletes run in the background and race each other, under every fault kind
    /// (the `kv` scenario).
    Concurrent,
    /// One operation at a time: each add or delete starts after the previous one ended (was
    /// acknowledged), on a network that delays, reorders and duplicates messages but never
    /// loses them, with no crash or partition, and clocks skewed by up to 50 ms
    /// ([`sequential`]). Every read then sees every acknowledged write, so a write can be lost
    /// only to clock skew (the `kv-sequential` scenario).
    Sequential,
}

/// The set-add model of the store.
pub struct KvModel {
    bugs: Bugs,
    clients: Clients,
}

impl KvModel {
    /// The model, with `bugs` planted in every node, concurrent clients and every fault kind.
    pub fn new(bugs: Bugs) -> KvModel {
        KvModel {
            bugs,
            clients: Clients::Concurrent,
        }
    }

    /// The model with one operation at a time and clock skew as the only fault that can
    /// change what a read returns ([`Clients::Sequential`]).
    pub fn sequential(bugs: Bugs) -> KvModel {
        KvModel {
            bugs,
            clients: Clients::Sequential,
        }
    }
}

/// The simulation: every fault kind (message loss, duplication and reordering, clock skew
/// and drift, torn writes, disk errors; crashes, pauses and partitions in the first half
/// second).
pub fn chaos() -> Config {
    let mut config = Config::chaos();
    config.faults.until_ns = 500_000_000;
    config.buggify = false;
    config.sim_time_max_ns = SIM_TIME_MAX_NS;
    config
}

/// The sequential clients' simulation: messages delayed (0.1 to 5 ms), reordered and
/// duplicated but never lost, no crash, pause or partition, no disk fault; each node's clock
/// off by up to 50 ms (in 2 ms steps) and drifting by up to 200 ppm. No request times out and
/// no node is ever suspected, so every sequential read meets the previous write's quorum.
pub fn sequential() -> Config {
    let chaos = chaos();
    let mut config = Config {
        net: chaos.net,
        sim_time_max_ns: SIM_TIME_MAX_NS,
        ..Config::default()
    };
    config.net.drop = false;
    config.clock = weft::ClockConfig {
        offset_max_ns: 50_000_000,
        drift_max_ppm: 200,
        buckets: 25,
    };
    config.disk.latency_ns = chaos.disk.latency_ns;
    config
}

impl StateMachine for KvModel {
    type State = KvState;
    type Command = KvCmd;
    type Result = KvResult;
    type System = KvSystem;

    fn config(&self) -> Config {
        match self.clients {
            Clients::Concurrent => chaos(),
            Clients::Sequential => sequential(),
        }
    }

    fn setup(&self, sim: &mut Sim) -> KvSystem {
        KvSystem::new(sim, self.bugs, self.clients)
    }

    fn init(&self) -> KvState {
        KvState::default()
    }

    fn command(&self, state: &KvState, gen: &mut Gen) -> KvCmd {
        let node = gen.below(u64::from(NODES)) as u8;
        // Sequential clients: adds by read-modify-write, deletes and waits only (a blind add
        // or a fault could hide an acknowledged write from the next read).
        let sequential: &[(u32, u8)] = &[(10, 0u8), (3, 2), (4, 8)];
        let kind = if self.clients == Clients::Sequential {
            gen.weighted(sequential)
        } else {
            gen.weighted(&[
                (10, 0u8),
                (3, 1),
                (4, 2),
                (1, 3),
                (3, 4),
                (1, 5),
                (1, 6),
                (1, 7),
                (4, 8),
            ])
        };
        let key = gen.below(u64::from(KEYS)) as u8;
        let element = state.next_element;
        match kind {
            0 => KvCmd::Add {
                key,
                via: node,
                element,
            },
            1 => KvCmd::BlindAdd {
                key,
                via: node,
                element,
            },
            2 => KvCmd::Delete { key, via: node },
            3 => KvCmd::Crash { node },
            4 => KvCmd::Isolate {
                node,
                ms: *gen.choose(&PARTITION_MS),
            },
            5 => {
                // The minority is a set: named in order, so that equal splits read alike.
                let other = (node + 1 + gen.below(u64::from(NODES) - 1) as u8) % NODES;
                KvCmd::Split {
                    a: node.min(other),
                    b: node.max(other),
                    ms: *gen.choose(&PARTITION_MS),
                }
            }
            6 => KvCmd::PowerLoss,
            8 => KvCmd::Wait {
                ms: *gen.choose(&WAIT_MS),
            },
            _ => KvCmd::LoseDisk { node },
        }
    }

    fn precondition(&self, state: &KvState, command: &KvCmd) -> bool {
        match command {
            KvCmd::Add { element, .. } | KvCmd::BlindAdd { element, .. } => {
                *element == state.next_element
            }
            KvCmd::LoseDisk { .. } => !state.disk_lost,
            KvCmd::Split { a, b, .. } => a != b,
            _ => true,
        }
    }

    fn next_state(&self, state: &KvState, command: &KvCmd, _: Var) -> KvState {
        let mut s = state.clone();
        match command {
            KvCmd::Add { .. } | KvCmd::BlindAdd { .. } => s.next_element += 1,
            KvCmd::LoseDisk { .. } => s.disk_lost = true,
            _ => {}
        }
        s
    }

    fn postcondition(
        &self,
        _: &KvState,
        _: &KvCmd,
        _: &KvResult,
        _: &Vars<KvResult>,
    ) -> Result<(), String> {
        Ok(())
    }

    async fn run(&self, system: &KvSystem, command: &KvCmd, _: &Vars<KvResult>) -> KvResult {
        system.run(command).await
    }

    fn liveness(&self) -> Option<Liveness> {
        Some(Liveness {
            within: Duration::from_secs(10),
            poll: Duration::from_millis(100),
        })
    }

    async fn wind_down(&self, system: &KvSystem, _: &KvState, _: &Vars<KvResult>) {
        system.settle_ops().await;
    }

    async fn quiescent(
        &self,
        system: &KvSystem,
        _: &KvState,
        _: &Vars<KvResult>,
    ) -> Result<(), String> {
        system.converged().await
    }

    async fn settled(
        &self,
        system: &KvSystem,
        _: &KvState,
        _: &Vars<KvResult>,
    ) -> Result<(), String> {
        system.check_at_rest().await
    }

    fn describe(&self, command: &KvCmd) -> String {
        format!("{command:?}")
    }
}
