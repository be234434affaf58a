//! Identities shared by every layer: tasks, nodes and network addresses.
//!
//! Architecture invariant: this module depends on nothing else in weft. The decision source
//! and the strategies see the run only through these ids.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A task's identity within one run: tasks are numbered in spawn order from 0 (the main task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub(crate) u32);

impl TaskId {
    /// The spawn index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

/// A node's identity: nodes are numbered in the order they were added; 0 is the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The driver node, where the test's main future runs.
    pub const DRIVER: NodeId = NodeId(0);

    /// The index.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The node with index `index` (as numbered by `Sim::add_node`).
    pub fn from_index(index: usize) -> NodeId {
        NodeId(index as u32)
    }
}

/// A network address: a node and a port on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    /// The node.
    pub node: NodeId,
    /// The port.
    pub port: u32,
}

impl Addr {
    /// The address of `port` on `node`.
    pub fn new(node: NodeId, port: u32) -> Addr {
        Addr { node, port }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}:{}", self.node.index(), self.port)
    }
}
