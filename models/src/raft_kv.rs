//! A state-machine model of the key/value store built on TiKV's Raft library
//! ([`weft_raft_kv`]): parallel clients put, read and compare-and-set a few keys through
//! any of three nodes, while nodes crash and restart, are cut off, and messages are lost,
//! duplicated and reordered (and, in the background, nodes crash, pause and are partitioned,
//! unsynced writes are torn, disk operations fail, clocks drift). The clients' results must
//! be linearizable against a map of registers; a request that found no answer before its
//! deadline is of unknown outcome (it may have taken effect, once, or not).
//!
//! Cases are parallel with no prefix (every command runs in a client branch, where unknown
//! outcomes are honoured). Every case ends with weft's liveness phase: once faults heal, the
//! cluster must accept a write within 10 s of simulated time.
//!
//! Besides the clients' view, the nodes share an [`Oracle`] that checks Raft's election
//! safety (one leader per term) and state machine safety (one entry per index) as they go.

use std::time::Duration;
use weft::model::{Gen, StateMachine, Var, Vars};
use weft::{Config, Liveness, Sim};
use weft_raft_kv::protocol::{Op, Reply, Value};
use weft_raft_kv::{Bugs, Cluster, Oracle};

/// Nodes in the cluster.
pub const NODES: u8 = 3;
/// Keys the clients use.
pub const KEYS: u8 = 2;
/// The key the liveness phase writes (no client command uses it).
const PROBE_KEY: u8 = KEYS;
/// Values a put or compare-and-set writes: 1 to `VALUES`.
const VALUES: u64 = 9;
/// How long a crashed node stays down, in milliseconds.
const DOWN_MS: [u16; 3] = [0, 50, 300];
/// How long a node stays cut off, in milliseconds.
const CUT_MS: [u16; 2] = [100, 500];

/// The model state: the value of every key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RaftKvState {
    /// Each key's value (`None`: never written).
    pub values: [Option<Value>; KEYS as usize],
}

/// A command.
#[derive(Clone, PartialEq, Eq)]
pub enum RaftCmd {
    /// Set `key` to `value`, starting at node `via`.
    Put {
        /// The key.
        key: u8,
        /// The value.
        value: Value,
        /// The node the client asks first (an index, 0 is n1).
        via: u8,
    },
    /// Read `key`, starting at node `via`.
    Get {
        /// The key.
        key: u8,
        /// The node the client asks first.
        via: u8,
    },
    /// Set `key` to `to` if it holds `from`, starting at node `via`.
    Cas {
        /// The key.
        key: u8,
        /// The value expected.
        from: Option<Value>,
        /// The value to set.
        to: Value,
        /// The node the client asks first.
        via: u8,
    },
    /// Crash node `node` and restart it `ms` milliseconds later.
    Crash {
        /// The node's index.
        node: u8,
        /// How long it stays down.
        ms: u16,
    },
    /// Cut node `node` off from every other node (and the clients) for `ms` milliseconds.
    Isolate {
        /// The node's index.
        node: u8,
        /// How long.
        ms: u16,
    },
}

fn name(index: u8) -> String {
    weft_raft_kv::node_name(u64::from(index) + 1)
}

fn show(value: Option<Value>) -> String {
    value.map_or_else(|| "none".to_string(), |v| v.to_string())
}

impl std::fmt::Debug for RaftCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RaftCmd::Put { key, value, via } => {
                write!(f, "put(k{key} = {value} via {})", name(*via))
            }
            RaftCmd::Get { key, via } => write!(f, "get(k{key} via {})", name(*via)),
            RaftCmd::Cas { key, from, to, via } => {
                write!(f, "cas(k{key}: {} -> {to} via {})", show(*from), name(*via))
            }
            RaftCmd::Crash { node, ms } => write!(f, "crash({} for {ms} ms)", name(*node)),
            RaftCmd::Isolate { node, ms } => write!(f, "isolate({} for {ms} ms)", name(*node)),
        }
    }
}

/// What a command returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RaftResult {
    /// The put was applied.
    Written,
    /// The value read.
    Value(Option<Value>),
    /// Whether the compare-and-set set the value.
    Swapped(bool),
    /// No answer before the deadline: the outcome is unknown.
    Unknown,
    /// A fault command ran.
    Done,
}

/// The store and what the test shares with it.
#[derive(Clone)]
pub struct RaftSystem {
    /// The client side.
    pub cluster: Cluster,
    /// The safety checks the nodes report to.
    pub oracle: Oracle,
}

/// The model of the Raft store, with `bugs` planted in every node.
pub struct RaftKvModel {
    bugs: Bugs,
}

impl RaftKvModel {
    /// The model with `bugs` planted.
    pub fn new(bugs: Bugs) -> RaftKvModel {
        RaftKvModel { bugs }
    }
}

/// The simulation: message loss, duplication and reordering (latency 0.1 to 5 ms), clock
/// offset and drift, torn unsynced writes and disk errors throughout; background crashes,
/// pauses and partitions in the first second.
pub fn config() -> Config {
    let mut config = Config::chaos();
    config.faults.until_ns = 1_000_000_000;
    config.faults.interval_ns = 50_000_000;
    config.buggify = false;
    config
}

impl StateMachine for RaftKvModel {
    type State = RaftKvState;
    type Command = RaftCmd;
    type Result = RaftResult;
    type System = RaftSystem;

    fn config(&self) -> Config {
        config()
    }

    fn setup(&self, sim: &mut Sim) -> RaftSystem {
        let oracle = Oracle::default();
        let cluster = weft_raft_kv::add_cluster(sim, usize::from(NODES), self.bugs, &oracle);
        RaftSystem { cluster, oracle }
    }

    fn init(&self) -> RaftKvState {
        RaftKvState::default()
    }

    fn command(&self, state: &RaftKvState, gen: &mut Gen) -> RaftCmd {
        let kind = gen.weighted(&[(4, 0u8), (4, 1), (2, 2), (1, 3), (1, 4)]);
        let key = gen.below(u64::from(KEYS)) as u8;
        let via = gen.below(u64::from(NODES)) as u8;
        let value = 1 + gen.below(VALUES) as Value;
        match kind {
            0 => RaftCmd::Put { key, value, via },
            1 => RaftCmd::Get { key, via },
            2 => RaftCmd::Cas {
                key,
                from: state.values[usize::from(key)],
                to: value,
                via,
            },
            3 => RaftCmd::Crash {
                node: via,
                ms: *gen.choose(&DOWN_MS),
            },
            _ => RaftCmd::Isolate {
                node: via,
                ms: *gen.choose(&CUT_MS),
            },
        }
    }

    fn next_state(&self, state: &RaftKvState, command: &RaftCmd, _: Var) -> RaftKvState {
        let mut next = state.clone();
        match *command {
            RaftCmd::Put { key, value, .. } => next.values[usize::from(key)] = Some(value),
            RaftCmd::Cas { key, from, to, .. } if state.values[usize::from(key)] == from => {
                next.values[usize::from(key)] = Some(to);
            }
            _ => {}
        }
        next
    }

    fn postcondition(
        &self,
        state: &RaftKvState,
        command: &RaftCmd,
        result: &RaftResult,
        _: &Vars<RaftResult>,
    ) -> Result<(), String> {
        let expected = match *command {
            _ if *result == RaftResult::Unknown => return Ok(()),
            RaftCmd::Put { .. } => RaftResult::Written,
            RaftCmd::Get { key, .. } => RaftResult::Value(state.values[usize::from(key)]),
            RaftCmd::Cas { key, from, .. } => {
                RaftResult::Swapped(state.values[usize::from(key)] == from)
            }
            RaftCmd::Crash { .. } | RaftCmd::Isolate { .. } => RaftResult::Done,
        };
        if *result == expected {
            Ok(())
        } else {
            Err(format!("expected {expected:?}, got {result:?}"))
        }
    }

    async fn run(
        &self,
        system: &RaftSystem,
        command: &RaftCmd,
        _: &Vars<RaftResult>,
    ) -> RaftResult {
        let cluster = &system.cluster;
        let op = match *command {
            RaftCmd::Put { key, value, .. } => Op::Put { key, value },
            RaftCmd::Get { key, .. } => Op::Get { key },
            RaftCmd::Cas { key, from, to, .. } => Op::Cas { key, from, to },
            RaftCmd::Crash { node, ms } => {
                let node = cluster.nodes[usize::from(node)];
                weft::node::crash(node);
                weft::time::sleep(Duration::from_millis(u64::from(ms))).await;
                weft::node::restart(node);
                return RaftResult::Done;
            }
            RaftCmd::Isolate { node, ms } => {
                let node = cluster.nodes[usize::from(node)];
                weft::net::isolate(node);
                weft::time::sleep(Duration::from_millis(u64::from(ms))).await;
                weft::net::repair(node, weft::node::current());
                for other in &cluster.nodes {
                    if *other != node {
                        weft::net::repair(node, *other);
                    }
                }
                return RaftResult::Done;
            }
        };
        let via = match *command {
            RaftCmd::Put { via, .. } | RaftCmd::Get { via, .. } | RaftCmd::Cas { via, .. } => via,
            _ => unreachable!("fault commands returned above"),
        };
        match cluster.request(usize::from(via), op).await {
            None => RaftResult::Unknown,
            Some(Reply::Written) => RaftResult::Written,
            Some(Reply::Value(value)) => RaftResult::Value(value),
            Some(Reply::Swapped(swapped)) => RaftResult::Swapped(swapped),
            Some(Reply::NotLeader(_)) => unreachable!("the client follows redirects"),
        }
    }

    fn is_unknown(&self, _: &RaftSystem, result: &RaftResult) -> bool {
        *result == RaftResult::Unknown
    }

    fn liveness(&self) -> Option<Liveness> {
        Some(Liveness {
            within: Duration::from_secs(10),
            poll: Duration::from_millis(100),
        })
    }

    async fn quiescent(
        &self,
        system: &RaftSystem,
        _: &RaftKvState,
        _: &Vars<RaftResult>,
    ) -> Result<(), String> {
        let probe = Op::Put {
            key: PROBE_KEY,
            value: 0,
        };
        match system.cluster.request(0, probe).await {
            Some(Reply::Written) => Ok(()),
            other => Err(format!(
                "a write through the healed cluster got {other:?}; leaders by term: {:?}",
                system.oracle.leaders()
            )),
        }
    }

    fn describe(&self, command: &RaftCmd) -> String {
        format!("{command:?}")
    }
}
