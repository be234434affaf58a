//! A replicated key/value store built on TiKV's Raft library (the `raft` crate, which does
//! no I/O itself) and run on weft's simulated nodes: Raft messages travel over
//! `weft::net`, ticks come from `weft::time`, the log and the hard state live on
//! `weft::disk` and are fsynced before anything that depends on them is sent, and a
//! restarted node recovers from its disk.
//!
//! Clients send requests to any node; a node that is not the leader redirects them. Writes
//! go through the log, applied at most once per request id; reads use Raft's ReadIndex, so
//! they are linearizable. Planted integration mistakes ([`bugs`]) are off by default.
//!
//! The [`oracle`] checks Raft's election safety, leader completeness and state machine safety
//! across the nodes as the run goes.

pub mod bugs;
pub mod client;
pub mod node;
pub mod oracle;
pub mod protocol;
pub mod storage;

pub use bugs::{Bug, Bugs};
pub use client::Cluster;
pub use oracle::Oracle;

use node::NodeConfig;
use std::cell::RefCell;
use std::rc::Rc;

/// Adds a cluster of `count` nodes (Raft ids 1 to `count`, named n1, n2...) with `bugs`
/// planted in every node, sharing `oracle`.
pub fn add_cluster(sim: &mut weft::Sim, count: usize, bugs: Bugs, oracle: &Oracle) -> Cluster {
    let members: Rc<RefCell<Vec<weft::NodeId>>> = Rc::new(RefCell::new(Vec::new()));
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let config = NodeConfig {
            id: i as u64 + 1,
            members: members.clone(),
            bugs,
            oracle: oracle.clone(),
        };
        nodes.push(sim.add_node(&node_name(i as u64 + 1), move || {
            node::serve(config.clone())
        }));
    }
    *members.borrow_mut() = nodes.clone();
    Cluster::new(nodes)
}

/// The name of the node with Raft id `id`.
pub fn node_name(id: u64) -> String {
    format!("n{id}")
}

/// An entry's data, for people.
pub fn describe_entry(data: &[u8]) -> String {
    match node::decode(data) {
        None => "the empty entry of a new leader".to_string(),
        Some((id, op)) => format!("request {id}: {op:?}"),
    }
}
