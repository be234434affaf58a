//! A state-machine model of the bundled Dynamo-style store ([`weft_kv`]): the set-add
//! workload. Clients add unique elements to a few keys by read-modify-write (read the
//! siblings, merge them, add the element, write with the read's context) through different
//! coordinators, while nodes crash, lose their disks and are cut off, and clocks are skewed.
//!
//! Commands: `add` (started in the background, so adds race each other), `blind add` (a
//! write without a read first, with an empty context), `crash`,
//! `lose disk` (at most once per case), `isolate`, and `check`: wait for every add, heal every
//! fault, let the cluster settle, then require convergence (every primary of every key holds
//! the same object, no node holds a key it is not a primary for), the sibling bound (two
//! clients interleaving read-modify-writes on a fresh key leave at most two siblings), quorum
//! intersection (a PR=2 read after a PW=2 write sees it) and, in
//! the merged read of every key, every acknowledged element and nothing that was never added.
//!
//! The harness's model API may change shape; this file and [`run`](self) keep the store's
//! model to themselves.

mod run;

pub use run::KvSystem;

use std::fmt;
use weft::model::{Gen, StateMachine, Var, Vars};
use weft::{Config, Sim};
use weft_kv::Bugs;

/// Nodes in the cluster.
pub const NODES: u8 = 5;
/// Keys the clients add to.
pub const KEYS: u8 = 3;

/// The model state: what was started, so commands can be generated and checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct KvState {
    /// The next element to add (elements are unique).
    pub next_element: u32,
    /// Adds started since the last check.
    pub pending: u32,
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
    /// Cut node `node` off for 200 ms.
    Isolate {
        /// The node's index in the cluster.
        node: u8,
    },
    /// Wait for every add, heal, settle, and check every key.
    Check,
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
            KvCmd::Crash { node } => write!(f, "crash({})", name(*node)),
            KvCmd::LoseDisk { node } => write!(f, "lose disk({})", name(*node)),
            KvCmd::Isolate { node } => write!(f, "isolate({})", name(*node)),
            KvCmd::Check => f.write_str("check"),
        }
    }
}

/// A result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvResult {
    /// The command was started or done.
    Ok,
    /// A check: what it found wrong (nothing: the properties hold), and a summary.
    Checked {
        /// Violations, each in the store's terms.
        problems: Vec<String>,
        /// How each add ended and what the keys hold.
        summary: String,
    },
}

/// The set-add model of the store.
pub struct KvModel {
    bugs: Bugs,
}

impl KvModel {
    /// The model, with `bugs` planted in every node.
    pub fn new(bugs: Bugs) -> KvModel {
        KvModel { bugs }
    }
}

/// The simulation: every fault kind (message loss, duplication and reordering, clock skew
/// and drift, torn writes, disk errors; crashes, pauses and partitions in the first half
/// second).
pub fn chaos() -> Config {
    let mut config = Config::chaos();
    config.faults.until_ns = 500_000_000;
    config.buggify = false;
    config
}

impl StateMachine for KvModel {
    type State = KvState;
    type Command = KvCmd;
    type Result = KvResult;
    type System = KvSystem;

    fn config(&self) -> Config {
        chaos()
    }

    fn setup(&self, sim: &mut Sim) -> KvSystem {
        KvSystem::new(sim, self.bugs)
    }

    fn init(&self) -> KvState {
        KvState::default()
    }

    fn command(&self, state: &KvState, gen: &mut Gen) -> KvCmd {
        let node = gen.below(u64::from(NODES)) as u8;
        let kind = gen.weighted(&[(10, 0u8), (4, 1), (1, 2), (1, 3), (2, 4), (3, 5)]);
        let key = gen.below(u64::from(KEYS)) as u8;
        let element = state.next_element;
        match kind {
            0 => KvCmd::Add {
                key,
                via: node,
                element,
            },
            5 => KvCmd::BlindAdd {
                key,
                via: node,
                element,
            },
            1 => KvCmd::Check,
            2 => KvCmd::Crash { node },
            3 => KvCmd::Isolate { node },
            _ => KvCmd::LoseDisk { node },
        }
    }

    fn precondition(&self, state: &KvState, command: &KvCmd) -> bool {
        match command {
            KvCmd::Add { element, .. } | KvCmd::BlindAdd { element, .. } => {
                *element == state.next_element
            }
            KvCmd::Check => state.pending > 0,
            KvCmd::LoseDisk { .. } => !state.disk_lost,
            _ => true,
        }
    }

    fn next_state(&self, state: &KvState, command: &KvCmd, _: Var) -> KvState {
        let mut s = state.clone();
        match command {
            KvCmd::Add { .. } | KvCmd::BlindAdd { .. } => {
                s.next_element += 1;
                s.pending += 1;
            }
            KvCmd::Check => s.pending = 0,
            KvCmd::LoseDisk { .. } => s.disk_lost = true,
            _ => {}
        }
        s
    }

    fn postcondition(
        &self,
        _: &KvState,
        command: &KvCmd,
        result: &KvResult,
        _: &Vars<KvResult>,
    ) -> Result<(), String> {
        match (command, result) {
            (KvCmd::Check, KvResult::Checked { problems, summary }) if !problems.is_empty() => {
                Err(format!("{}; {summary}", problems.join("; ")))
            }
            (KvCmd::Check, KvResult::Checked { .. }) => Ok(()),
            (_, KvResult::Ok) => Ok(()),
            (_, other) => Err(format!("unexpected result {other:?}")),
        }
    }

    async fn run(&self, system: &KvSystem, command: &KvCmd, _: &Vars<KvResult>) -> KvResult {
        system.run(command).await
    }

    fn blocking(&self, _: &KvState, command: &KvCmd) -> bool {
        *command == KvCmd::Check
    }

    fn describe(&self, command: &KvCmd) -> String {
        format!("{command:?}")
    }
}
