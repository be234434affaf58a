//! Simulation throughput: ping-pong, broadcast and many short runs, on weft's raw endpoints
//! (the same message-passing work as the madsim and turmoil versions: one u64 per message).

use serde_json::json;
use std::time::{Duration, Instant};
use weft::net::{Addr, Endpoint};
use weft::strategy::{case_seed, Rates, StrategyKind};
use weft::task::spawn_on;
use weft::{Config, NodeId, Sim, Source};

const PORT: u32 = 1;
const MS: u64 = 1_000_000;

fn config(latency_min_ns: u64, latency_max_ns: u64, latency_buckets: u32) -> Config {
    let mut cfg = Config {
        steps_max: u64::MAX,
        sim_time_max_ns: u64::MAX,
        ..Config::default()
    };
    cfg.net.latency_min_ns = latency_min_ns;
    cfg.net.latency_max_ns = latency_max_ns;
    cfg.net.latency_buckets = latency_buckets;
    cfg.net.reorder = latency_buckets > 1;
    cfg
}

fn source(seed: u64) -> Source {
    Source::generate(StrategyKind::Random.build(seed, Rates::default(), 3, 1))
}

async fn echo_server() {
    let endpoint = Endpoint::<u64>::bind(PORT).expect("port free");
    loop {
        let (from, n) = endpoint.recv().await;
        endpoint.send(from, n);
    }
}

/// One simulation: a client on the driver node sends `round_trips` numbers to an echo server
/// on a second node, each after the previous answer. Returns simulated nanoseconds.
fn pingpong_run(round_trips: u64, seed: u64) -> u64 {
    let mut sim = Sim::new(config(MS, MS, 1), source(seed));
    let server = Addr::new(sim.add_node("server", echo_server), PORT);
    let (report, done) = sim.run(async move {
        let endpoint = Endpoint::<u64>::ephemeral();
        for i in 0..round_trips {
            endpoint.send(server, i);
            let (_, n) = endpoint.recv().await;
            assert_eq!(n, i);
        }
    });
    assert!(done.is_some(), "ping-pong failed: {:?}", report.outcome);
    report.sim_time_ns
}

fn emit(value: serde_json::Value) {
    println!("{value}");
}

pub fn pingpong(round_trips: u64) {
    let started = Instant::now();
    let sim_ns = pingpong_run(round_trips, 1);
    let wall = started.elapsed();
    emit(json!({
        "tool": "weft", "workload": "pingpong", "round_trips": round_trips,
        "wall_s": wall.as_secs_f64(), "sim_s": Duration::from_nanos(sim_ns).as_secs_f64(),
    }));
}

pub fn short(runs: u64, round_trips: u64) {
    let started = Instant::now();
    let mut sim_ns = 0;
    for run in 0..runs {
        sim_ns += pingpong_run(round_trips, case_seed(1, run));
    }
    let wall = started.elapsed();
    emit(json!({
        "tool": "weft", "workload": "short", "runs": runs, "round_trips": round_trips,
        "wall_s": wall.as_secs_f64(), "sim_s": Duration::from_nanos(sim_ns).as_secs_f64(),
    }));
}

const BROADCAST_NODES: u64 = 5;

/// One node of the broadcast: `rounds` times, send one message to every other node, then
/// receive as many.
async fn broadcaster(me: u64, peers: Vec<Addr>, rounds: u64) -> u64 {
    let endpoint = Endpoint::<u64>::bind(PORT).expect("port free");
    let mut received = 0;
    for round in 0..rounds {
        for peer in &peers {
            endpoint.send(*peer, me * rounds + round);
        }
        for _ in 0..peers.len() {
            endpoint.recv().await;
            received += 1;
        }
    }
    received
}

pub fn broadcast(deliveries: u64) {
    let per_round = BROADCAST_NODES * (BROADCAST_NODES - 1);
    let rounds = deliveries.div_ceil(per_round);
    let started = Instant::now();
    let mut sim = Sim::new(config(MS, 10 * MS, 10), source(1));
    let nodes: Vec<NodeId> = (0..BROADCAST_NODES)
        .map(|i| sim.add_node(&format!("n{i}"), || async {}))
        .collect();
    let (report, received) = sim.run(async move {
        let mut handles = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let peers = nodes
                .iter()
                .filter(|n| *n != node)
                .map(|n| Addr::new(*n, PORT))
                .collect();
            let me = i as u64;
            handles.push(spawn_on(
                *node,
                "broadcaster",
                broadcaster(me, peers, rounds),
            ));
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("broadcaster finished");
        }
        total
    });
    let wall = started.elapsed();
    let received = received.unwrap_or_else(|| panic!("broadcast failed: {:?}", report.outcome));
    emit(json!({
        "tool": "weft", "workload": "broadcast", "deliveries": received,
        "wall_s": wall.as_secs_f64(), "sim_s": Duration::from_nanos(report.sim_time_ns).as_secs_f64(),
    }));
}
