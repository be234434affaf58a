//! The scenarios bundled with weft, and the registry the `weft` tool looks them up in.

pub mod aba;
pub mod bug_table;
pub mod canary;
pub mod chaos;
pub mod kv;
pub mod kv_growth;
pub mod lease;
pub mod pool;
pub mod pool_queue;
pub mod race_table;
pub mod raft;

use weft::internals::scenario::Scenario;

/// Every bundled scenario, in `weft list` order.
pub fn all() -> Vec<&'static dyn Scenario> {
    vec![
        &canary::Canary,
        &aba::Aba,
        &chaos::Chaos,
        &pool::PoolScenario,
        &pool_queue::PoolQueueScenario,
        &kv::KvScenario,
        &kv::KvSequentialScenario,
        &kv_growth::KvGrowth,
        &raft::RaftScenario,
        &lease::LeaseScenario,
    ]
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static dyn Scenario> {
    all().into_iter().find(|s| s.name() == name)
}
