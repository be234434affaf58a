//! The canary: a racy read-modify-write counter (read, await, write) incremented by two
//! clients. It must fail: a harness that cannot find this lost update is broken.

use std::time::Duration;
use weft::net::{call, Addr, Endpoint, Request};
use weft::scenario::{Scenario, Setup};
use weft::{Config, NetConfig, RunReport, Sim, Source};

/// A request to the counter server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterOp {
    /// Read the value.
    Get,
    /// Overwrite the value.
    Put(u64),
}

/// The counter server's port.
pub const PORT: u32 = 1;

/// The counter server: holds one number, answers gets and puts.
pub async fn counter_server() {
    let endpoint = Endpoint::<Request<CounterOp, u64>>::bind(PORT).expect("port free");
    let mut value = 0;
    loop {
        let (_, request) = endpoint.recv().await;
        match request.body {
            CounterOp::Get => request.reply(value),
            CounterOp::Put(v) => {
                value = v;
                request.reply(v);
            }
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// The racy increment: read, then write the value read plus one.
pub async fn increment(server: Addr) -> Result<u64, weft::net::CallError> {
    let value: u64 = call(server, CounterOp::Get, TIMEOUT).await?;
    call(server, CounterOp::Put(value + 1), TIMEOUT).await
}

/// Reads the counter.
pub async fn read(server: Addr) -> Result<u64, weft::net::CallError> {
    call(server, CounterOp::Get, TIMEOUT).await
}

/// The simulation configuration of the canary: messages take 0 to 1 ms.
pub fn config() -> Config {
    Config {
        net: NetConfig {
            latency_min_ns: 0,
            latency_max_ns: 1_000_000,
            latency_buckets: 4,
            ..NetConfig::default()
        },
        ..Config::default()
    }
}

/// The canary scenario.
pub struct Canary;

impl Scenario for Canary {
    fn name(&self) -> &'static str {
        "canary"
    }

    fn about(&self) -> &'static str {
        "racy read-modify-write counter incremented by two clients; must fail"
    }

    fn must_fail(&self) -> bool {
        true
    }

    fn run(&self, setup: &Setup, source: Source) -> RunReport {
        let mut cfg = config();
        cfg.record_trace = setup.record_trace;
        let mut sim = Sim::new(cfg, source);
        let node = sim.add_node("counter", counter_server);
        let server = Addr::new(node, PORT);
        let (report, _) = sim.run(async move {
            let clients: Vec<_> = (1..=2)
                .map(|c| weft::spawn_named(format!("client {c}"), increment(server)))
                .collect();
            for client in clients {
                client.await.expect("client task").expect("increment");
            }
            let value = read(server).await.expect("final read");
            weft::check!(
                value == 2,
                "lost update: counter is {value} after 2 increments"
            );
        });
        report
    }
}
