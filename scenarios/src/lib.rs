//! The scenarios bundled with weft, and the registry the `weft` tool looks them up in.

pub mod aba;
pub mod canary;
pub mod chaos;
pub mod kv;
pub mod kv_growth;
pub mod lease;
pub mod pool;
pub mod pool_queue;
pub mod raft;

/// The planted-bug table ([`weft_cli::bug_table`]), and which of the bundled bugs need
/// concurrency.
pub mod bug_table {
    pub use weft_cli::bug_table::*;

    /// Whether the bug named `name` (of either pool scenario) needs concurrency, as the
    /// issue's catalogue marks it; the others must be found within 2,000 cases.
    pub fn needs_concurrency(name: &str) -> bool {
        weft_pool::Bug::from_name(name).is_some_and(weft_pool::Bug::needs_concurrency)
    }
}

pub use weft_cli::race_table;

use weft::internals::scenario::Scenario;

/// Every bundled scenario, in `weft list` order.
pub fn all() -> Vec<&'static dyn Scenario> {
    vec![
        &canary::Canary,
        &aba::ABA,
        &aba::ABA_NET,
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

/// The registry of the bundled `weft` tool: every bundled scenario.
pub fn registry() -> weft_cli::Registry {
    weft_cli::Registry::from(all())
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static dyn Scenario> {
    all().into_iter().find(|s| s.name() == name)
}
