//! Helpers shared by the cluster tests: run a test on the driver beside a cluster, find a
//! key's primaries and fallbacks, read every node's copy.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;
use weft::NodeId;
use weft::{Config, Sim, Source};
use weft_kv::{Kv, KvConfig, Object, Ring};

/// Runs `test` on the driver beside a cluster of `count` nodes (default simulation: no
/// latency, no faults but the test's own); fails on any run failure.
pub fn run<T: 'static, F: Future<Output = T> + 'static>(
    count: usize,
    config: KvConfig,
    test: impl FnOnce(Vec<NodeId>) -> F,
) -> T {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let nodes = weft_kv::add_cluster(&mut sim, count, config);
    let (report, out) = sim.run(test(nodes));
    if let Some(failure) = report.outcome.failure() {
        panic!("run failed: {failure:?}");
    }
    out.expect("the test finished")
}

/// The initial ring of `nodes` with the default partition count.
pub fn ring(nodes: &[NodeId]) -> Ring {
    Ring::new(64, nodes)
}

/// The key's primaries (N=3) and then its fallbacks, in the initial ring.
pub fn placement(nodes: &[NodeId], key: &str) -> (Vec<NodeId>, Vec<NodeId>) {
    let ring = ring(nodes);
    let partition = ring.partition_of(key);
    (ring.preflist(partition, 3), ring.fallbacks(partition, 3))
}

/// Each node's copy of `key` (None: the node holds nothing, or did not answer).
pub async fn copies(nodes: &[NodeId], key: &str) -> Vec<Option<Object>> {
    let mut out = Vec::new();
    for node in nodes {
        let dump = Kv::connect(*node).dump().await;
        let copy = dump.ok().and_then(|d| {
            d.objects
                .into_iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, o, _)| o)
        });
        out.push(copy);
    }
    out
}

/// Sleeps for `ms` milliseconds of simulated time.
pub async fn wait(ms: u64) {
    weft::time::sleep(Duration::from_millis(ms)).await;
}

/// The values of a read, sorted, as strings.
pub fn strings(values: &[Vec<u8>]) -> Vec<String> {
    let mut out: Vec<String> = values
        .iter()
        .map(|v| String::from_utf8_lossy(v).to_string())
        .collect();
    out.sort();
    out
}
