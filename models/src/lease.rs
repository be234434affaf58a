//! A state-machine model of the register with leased read caches ([`weft_lease`]): clients
//! read and write through either front-end while every node's clock drifts by up to 5%
//! either way, drifts change in the background (clock faults) and by command. The clients'
//! results must be linearizable against one register; a request with no answer before its
//! deadline is of unknown outcome.
//!
//! The planted bug (`no-drift-margin`) shows only when a front-end's clock runs slower than
//! the store's: with every clock at the true rate, the lease measured from the request is
//! safe even without a margin.

use weft::model::{Gen, StateMachine, Var, Vars};
use weft::node::ClockChange;
use weft::{ClockConfig, Config, NetConfig, Sim};
use weft_lease::{Bugs, ClientReply, ClientReq, Cluster, Value, DRIFT_MAX_PPM};

/// Front-ends in the cluster.
pub const FRONTS: usize = 2;
/// Values a put writes: 1 to `VALUES`.
const VALUES: u64 = 3;
/// The drifts a command may set (within the bound the front-ends' margin assumes).
const DRIFTS: [i64; 3] = [-(DRIFT_MAX_PPM as i64), 0, DRIFT_MAX_PPM as i64];

/// A command.
#[derive(Clone, PartialEq, Eq)]
pub enum LeaseCmd {
    /// Read the register through front-end `via` (0 is f1).
    Get {
        /// The front-end.
        via: u8,
    },
    /// Write `value` through front-end `via`.
    Put {
        /// The value.
        value: Value,
        /// The front-end.
        via: u8,
    },
    /// From now on node `node`'s clock runs `ppm` fast (0 the store, 1 f1, 2 f2).
    Drift {
        /// The node's index in the cluster.
        node: u8,
        /// Parts per million fast (negative: slow).
        ppm: i64,
    },
}

fn node_name(node: u8) -> String {
    match node {
        0 => "store".to_string(),
        n => format!("f{n}"),
    }
}

impl std::fmt::Debug for LeaseCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeaseCmd::Get { via } => write!(f, "get(via f{})", via + 1),
            LeaseCmd::Put { value, via } => write!(f, "put({value} via f{})", via + 1),
            LeaseCmd::Drift { node, ppm } => {
                let percent = *ppm as f64 / 10_000.0;
                write!(f, "drift({}: {percent:+}%)", node_name(*node))
            }
        }
    }
}

/// What a command returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseResult {
    /// The value read.
    Value(Value),
    /// The write applied.
    Written,
    /// No answer before the deadline.
    Unknown,
    /// A clock command ran.
    Done,
}

/// The model of the leased register, with `bugs` planted in every front-end.
pub struct LeaseModel {
    bugs: Bugs,
}

impl LeaseModel {
    /// The model with `bugs` planted.
    pub fn new(bugs: Bugs) -> LeaseModel {
        LeaseModel { bugs }
    }
}

/// The simulation: latencies of 0.5 to 2 ms on FIFO links, no loss; every node's clock
/// drifts by 0 or 5% either way from the start, and in the first second a fault tick every
/// 25 ms may set a node's drift anew (within the same bound).
pub fn config() -> Config {
    let mut config = Config {
        net: NetConfig {
            latency_min_ns: 500_000,
            latency_max_ns: 2_000_000,
            latency_buckets: 4,
            ..NetConfig::default()
        },
        clock: ClockConfig {
            offset_max_ns: 0,
            drift_max_ppm: DRIFT_MAX_PPM,
            buckets: 1,
        },
        ..Config::default()
    };
    config.faults.interval_ns = 25_000_000;
    config.faults.until_ns = 1_000_000_000;
    config.faults.clock = true;
    config
}

impl StateMachine for LeaseModel {
    type State = Value;
    type Command = LeaseCmd;
    type Result = LeaseResult;
    type System = Cluster;

    fn config(&self) -> Config {
        config()
    }

    fn setup(&self, sim: &mut Sim) -> Cluster {
        weft_lease::add_cluster(sim, FRONTS, self.bugs)
    }

    fn init(&self) -> Value {
        0
    }

    fn command(&self, _: &Value, gen: &mut Gen) -> LeaseCmd {
        let kind = gen.weighted(&[(4, 0u8), (3, 1), (1, 2)]);
        let via = gen.below(FRONTS as u64) as u8;
        match kind {
            0 => LeaseCmd::Get { via },
            1 => LeaseCmd::Put {
                value: 1 + gen.below(VALUES),
                via,
            },
            _ => LeaseCmd::Drift {
                node: gen.below(FRONTS as u64 + 1) as u8,
                ppm: *gen.choose(&DRIFTS),
            },
        }
    }

    fn next_state(&self, state: &Value, command: &LeaseCmd, _: Var) -> Value {
        match *command {
            LeaseCmd::Put { value, .. } => value,
            _ => *state,
        }
    }

    fn postcondition(
        &self,
        state: &Value,
        command: &LeaseCmd,
        result: &LeaseResult,
        _: &Vars<LeaseResult>,
    ) -> Result<(), String> {
        let expected = match *command {
            _ if *result == LeaseResult::Unknown => return Ok(()),
            LeaseCmd::Get { .. } => LeaseResult::Value(*state),
            LeaseCmd::Put { .. } => LeaseResult::Written,
            LeaseCmd::Drift { .. } => LeaseResult::Done,
        };
        if *result == expected {
            Ok(())
        } else {
            Err(format!("expected {expected:?}, got {result:?}"))
        }
    }

    async fn run(
        &self,
        cluster: &Cluster,
        command: &LeaseCmd,
        _: &Vars<LeaseResult>,
    ) -> LeaseResult {
        let (via, req) = match *command {
            LeaseCmd::Get { via } => (via, ClientReq::Get),
            LeaseCmd::Put { value, via } => (via, ClientReq::Put(value)),
            LeaseCmd::Drift { node, ppm } => {
                let node = match node {
                    0 => cluster.store,
                    n => cluster.fronts[usize::from(n) - 1],
                };
                weft::node::set_clock(node, ClockChange::Drift { ppm });
                return LeaseResult::Done;
            }
        };
        match cluster.request(usize::from(via), req).await {
            None => LeaseResult::Unknown,
            Some(ClientReply::Value(value)) => LeaseResult::Value(value),
            Some(ClientReply::Written) => LeaseResult::Written,
        }
    }

    fn is_unknown(&self, _: &Cluster, result: &LeaseResult) -> bool {
        *result == LeaseResult::Unknown
    }

    fn describe(&self, command: &LeaseCmd) -> String {
        format!("{command:?}")
    }
}
