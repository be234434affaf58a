//! The messages between clients, coordinators and replicas. Every node serves all of them on
//! one endpoint ([`KV_PORT`]). Their `Debug` forms are short, because counterexamples quote
//! them ("n2's put(k1) to n3 took 4µs instead of 0s").

use crate::object::{Object, Sibling};
use crate::ring::Ring;
use crate::version::{Actor, Context};
use std::fmt;
use weft::NodeId;

/// The port every node serves on.
pub const KV_PORT: u32 = 1;

/// A request to a node.
#[derive(Clone)]
pub enum Msg {
    /// Client: read `key` with quorums `r` and `pr`.
    Get {
        /// The key.
        key: String,
        /// Replies needed.
        r: usize,
        /// Replies from primaries needed.
        pr: usize,
    },
    /// Client: write (`Some`) or delete (`None`) `key` with the context of a read.
    Put {
        /// The key.
        key: String,
        /// The value; `None` deletes.
        value: Sibling,
        /// The causal context of the read this write follows.
        context: Context,
        /// Acknowledgements needed.
        w: usize,
        /// Acknowledgements from primaries needed.
        pw: usize,
    },
    /// Coordinator to the coordinating replica: make the write's event here.
    Coordinate {
        /// The key.
        key: String,
        /// The value.
        value: Sibling,
        /// The client's context.
        context: Context,
    },
    /// Merge `object` into the replica's copy of `key` (replication, read repair, handoff,
    /// anti-entropy) and store it durably.
    Store {
        /// The key.
        key: String,
        /// The object to merge.
        object: Object,
    },
    /// A replica's copy of `key`.
    Fetch {
        /// The key.
        key: String,
    },
    /// Remove `key` if the copy is still exactly `object` (a tombstone every replica has).
    Reap {
        /// The key.
        key: String,
        /// The tombstone.
        object: Object,
    },
    /// Gossip: the sender's ring.
    Gossip(Ring),
    /// Membership: add `NodeId` to the ring.
    Join(NodeId),
    /// Membership: remove `NodeId` from the ring.
    Leave(NodeId),
    /// Anti-entropy: the sender's hash of each key of `partitions`.
    Exchange {
        /// The partitions compared, sorted.
        partitions: Vec<usize>,
        /// (key, object hash), by key.
        hashes: Vec<(String, u64)>,
    },
    /// Inspection: the node's ring, actor and every stored object.
    Dump,
}

/// A node's answer.
#[derive(Clone)]
pub enum Reply {
    /// A client read: the live values (siblings) and the context to write with.
    Read(ReadResult),
    /// A client write succeeded.
    Written,
    /// A client request failed (for writes: the outcome is unknown).
    Failed(KvError),
    /// A replica's copy after a store or an event.
    Stored(Object),
    /// A replica's copy of a key.
    Fetched(Option<Object>),
    /// Done (reap, join, leave, gossip of an older or equal ring).
    Done,
    /// A newer ring than the one gossiped.
    Ring(Ring),
    /// Anti-entropy: the replier's objects for keys that differ, and keys it lacks.
    Diff {
        /// Objects whose hashes differ or that the sender lacks.
        objects: Vec<(String, Object)>,
        /// Keys the replier lacks.
        missing: Vec<String>,
    },
    /// Inspection.
    Dump(Dump),
}

/// A successful read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResult {
    /// The live values (more than one: siblings; none: not found or deleted).
    pub values: Vec<Vec<u8>>,
    /// The causal context to write with.
    pub context: Context,
    /// Whether a delete's tombstone is among the siblings (Riak returns such siblings
    /// flagged as deleted): the values are then concurrent with a delete.
    pub deleted: bool,
}

/// Why a request failed. For a write, every failure means the outcome is unknown: the value
/// may have been stored on some replicas and may still spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvError {
    /// No answer in time.
    Timeout,
    /// Fewer replicas answered than the quorum needs.
    Unavailable {
        /// Answers (or acknowledgements) received.
        got: usize,
        /// Answers needed.
        needed: usize,
    },
    /// The coordinating replica's disk failed.
    Disk,
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::Timeout => f.write_str("timed out (outcome unknown)"),
            KvError::Unavailable { got, needed } => {
                write!(f, "{got} of {needed} replicas answered (outcome unknown)")
            }
            KvError::Disk => f.write_str("disk error (outcome unknown)"),
        }
    }
}

impl std::error::Error for KvError {}

/// A node's state, for tests and checks.
#[derive(Clone, Debug)]
pub struct Dump {
    /// The node.
    pub node: NodeId,
    /// Its actor in this life.
    pub actor: Actor,
    /// Its ring.
    pub ring: Ring,
    /// Every stored object, by key, with whether the node is one of the key's primaries.
    pub objects: Vec<(String, Object, bool)>,
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Get { key, r, .. } => write!(f, "get({key}, r={r})"),
            Msg::Put {
                key, value: None, ..
            } => write!(f, "delete({key})"),
            Msg::Put { key, value, w, .. } => write!(f, "put({key}, {}, w={w})", show(value)),
            Msg::Coordinate {
                key,
                value,
                context,
            } => {
                write!(f, "coordinate({key}, {}, {context:?})", show(value))
            }
            Msg::Store { key, object } => write!(f, "store({key}, {object:?})"),
            Msg::Fetch { key } => write!(f, "fetch({key})"),
            Msg::Reap { key, .. } => write!(f, "reap({key})"),
            Msg::Gossip(ring) => write!(f, "gossip({ring:?})"),
            Msg::Join(node) => write!(f, "join(n{})", node.index()),
            Msg::Leave(node) => write!(f, "leave(n{})", node.index()),
            Msg::Exchange { partitions, hashes } => {
                write!(
                    f,
                    "exchange({} partitions, {} keys)",
                    partitions.len(),
                    hashes.len()
                )
            }
            Msg::Dump => f.write_str("dump"),
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Read(r) => write!(f, "read({} values)", r.values.len()),
            Reply::Written => f.write_str("written"),
            Reply::Failed(e) => write!(f, "failed({e})"),
            Reply::Stored(o) => write!(f, "stored({o:?})"),
            Reply::Fetched(o) => write!(f, "fetched({o:?})"),
            Reply::Done => f.write_str("done"),
            Reply::Ring(r) => write!(f, "{r:?}"),
            Reply::Diff { objects, missing } => {
                write!(
                    f,
                    "diff({} objects, {} missing)",
                    objects.len(),
                    missing.len()
                )
            }
            Reply::Dump(d) => write!(f, "dump(n{}: {} keys)", d.node.index(), d.objects.len()),
        }
    }
}

/// A sibling as counterexamples show it.
pub fn show(value: &Sibling) -> String {
    match value {
        None => "tombstone".to_string(),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("{bytes:?}"),
        },
    }
}
