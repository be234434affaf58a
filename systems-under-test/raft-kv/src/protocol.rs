//! What clients and nodes say to each other.

/// The port every node serves Raft messages on.
pub const RAFT_PORT: u32 = 1;
/// The port every node serves clients on.
pub const CLIENT_PORT: u32 = 2;

/// A key (a small index: the workload uses a few keys).
pub type Key = u8;
/// A value.
pub type Value = u32;

/// An operation on the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: Key,
        /// The value.
        value: Value,
    },
    /// Read `key` (a linearizable read, by Raft's ReadIndex).
    Get {
        /// The key.
        key: Key,
    },
    /// Set `key` to `to` if it holds `from` (`None`: absent).
    Cas {
        /// The key.
        key: Key,
        /// The value expected.
        from: Option<Value>,
        /// The value to set.
        to: Value,
    },
}

impl Op {
    /// Whether the operation goes through the log (reads do not).
    pub fn is_write(self) -> bool {
        !matches!(self, Op::Get { .. })
    }
}

/// A client's request: a unique id (retries of one request keep it, so a write is applied at
/// most once however often it is retried) and the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    /// Unique per request (not per attempt).
    pub id: u64,
    /// What to do.
    pub op: Op,
}

/// A node's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    /// A put was applied.
    Written,
    /// A read's value.
    Value(Option<Value>),
    /// A compare-and-set was applied; whether it set the value.
    Swapped(bool),
    /// This node is not the leader (the leader it knows of, by Raft id, if any). The request
    /// was not proposed here.
    NotLeader(Option<u64>),
}
