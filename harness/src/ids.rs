//! Identities shared by every layer: tasks, nodes and network addresses.
//!
//! Architecture invariant: this module depends on nothing else in weft. The decision source
//! and the strategies see the run only through these ids.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::num::NonZeroU32;

/// A task's identity within one run: tasks are numbered in spawn order from 0 (the main task).
// Stored as the index plus one, so that `Option<TaskId>` is as small as the index: the executor
// passes "a task or none" at every trace event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU32);

impl TaskId {
    /// The main task, the test driver's (spawned first).
    pub(crate) const MAIN: TaskId = TaskId(NonZeroU32::MIN);

    /// The spawn index.
    #[inline]
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    /// The task with spawn index `index`.
    #[inline]
    pub(crate) fn from_index(index: usize) -> TaskId {
        TaskId(one_more(index))
    }

    /// The index as traced and hashed, `u32::MAX` for no task (see `sim::trace`).
    #[inline]
    pub(crate) fn code(task: Option<TaskId>) -> u32 {
        task.map_or(0, |t| t.0.get()).wrapping_sub(1)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.index())
    }
}

/// A node's identity: nodes are numbered in the order they were added; 0 is the driver.
// Stored as the index plus one, as `TaskId`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(NonZeroU32);

impl NodeId {
    /// The driver node, where the test's main future runs.
    pub const DRIVER: NodeId = NodeId(NonZeroU32::MIN);

    /// The index.
    #[inline]
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    /// The node with index `index` (as numbered by `Sim::add_node`).
    #[inline]
    pub fn from_index(index: usize) -> NodeId {
        NodeId(one_more(index))
    }

    /// The index as traced and hashed, `u32::MAX` for no node (see `sim::trace`).
    #[inline]
    pub(crate) fn code(node: Option<NodeId>) -> u32 {
        node.map_or(0, |n| n.0.get()).wrapping_sub(1)
    }
}

/// `index + 1`, the stored form of an id (indices are bounded far below `u32::MAX`).
#[inline]
fn one_more(index: usize) -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(index as u32)
}

// Ids read, print and serialize as their index, as they did when they held it directly.
macro_rules! as_index {
    ($id:ident) => {
        impl fmt::Debug for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($id)).field(&self.index()).finish()
            }
        }

        impl Serialize for $id {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_newtype_struct(stringify!($id), &(self.index() as u32))
            }
        }

        impl<'de> Deserialize<'de> for $id {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$id, D::Error> {
                let index = u32::deserialize(deserializer)?;
                if index == u32::MAX {
                    return Err(serde::de::Error::custom(
                        "an id index must be below u32::MAX",
                    ));
                }
                Ok($id::from_index(index as usize))
            }
        }
    };
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

as_index!(TaskId);
as_index!(NodeId);
