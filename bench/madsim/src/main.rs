//! madsim's side of the peer benchmarks (issue 14): the workloads of `bench/weft`, written on
//! madsim's simulated `Endpoint` (raw payloads, one boxed u64 per message, the cheapest path
//! madsim offers). Build with `RUSTFLAGS="--cfg madsim"` (madsim's simulation mode).
//!
//! ```text
//! bench-madsim pingpong ROUND_TRIPS
//! bench-madsim broadcast DELIVERIES
//! bench-madsim short RUNS ROUND_TRIPS
//! bench-madsim find RACE random SEEDS CAP
//! ```

#[cfg(not(madsim))]
compile_error!("build with RUSTFLAGS=\"--cfg madsim\"");

use madsim::net::Endpoint;
use madsim::runtime::Runtime;
use madsim::time::Instant as SimInstant;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const TAG: u64 = 1;
const PORT: u16 = 1;
const MS: Duration = Duration::from_millis(1);
/// B's writes in the `txn` race (the same constant in every tool's version).
const TXN_WRITES: u64 = 4;

fn ip(i: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, i])
}

fn runtime(seed: u64, latency: std::ops::Range<Duration>) -> Runtime {
    let mut config = madsim::Config::default();
    config.net.send_latency = latency;
    Runtime::with_seed_and_config(seed, config)
}

async fn send(endpoint: &Endpoint, to: SocketAddr, n: u64) {
    endpoint
        .send_to_raw(to, TAG, Box::new(n))
        .await
        .expect("send");
}

async fn recv(endpoint: &Endpoint) -> (u64, SocketAddr) {
    let (payload, from) = endpoint.recv_from_raw(TAG).await.expect("recv");
    (*payload.downcast::<u64>().expect("a u64"), from)
}

/// One simulation of the ping-pong: returns simulated time.
fn pingpong_run(round_trips: u64, seed: u64) -> Duration {
    let rt = runtime(seed, MS..MS + Duration::from_nanos(1));
    let server = rt.create_node().name("server").ip(ip(1)).build();
    let client = rt.create_node().name("client").ip(ip(2)).build();
    let server_addr = SocketAddr::new(ip(1), PORT);
    rt.block_on(async move {
        let started = SimInstant::now();
        server.spawn(async move {
            let endpoint = Endpoint::bind(server_addr).await.expect("bind");
            loop {
                let (n, from) = recv(&endpoint).await;
                send(&endpoint, from, n).await;
            }
        });
        client
            .spawn(async move {
                let endpoint = Endpoint::bind((ip(2), 0)).await.expect("bind");
                for i in 0..round_trips {
                    send(&endpoint, server_addr, i).await;
                    let (n, _) = recv(&endpoint).await;
                    assert_eq!(n, i);
                }
            })
            .await
            .expect("client");
        started.elapsed()
    })
}

fn pingpong(round_trips: u64) {
    let started = Instant::now();
    let sim = pingpong_run(round_trips, 1);
    println!(
        "{}",
        json!({"tool": "madsim", "workload": "pingpong", "round_trips": round_trips,
               "wall_s": started.elapsed().as_secs_f64(), "sim_s": sim.as_secs_f64()})
    );
}

fn short(runs: u64, round_trips: u64) {
    let started = Instant::now();
    let mut sim = Duration::ZERO;
    for run in 0..runs {
        sim += pingpong_run(round_trips, run + 1);
    }
    println!(
        "{}",
        json!({"tool": "madsim", "workload": "short", "runs": runs, "round_trips": round_trips,
               "wall_s": started.elapsed().as_secs_f64(), "sim_s": sim.as_secs_f64()})
    );
}

const BROADCAST_NODES: u8 = 5;

fn broadcast(deliveries: u64) {
    let nodes = u64::from(BROADCAST_NODES);
    let rounds = deliveries.div_ceil(nodes * (nodes - 1));
    let started = Instant::now();
    let rt = runtime(1, MS..10 * MS);
    let handles: Vec<_> = (1..=BROADCAST_NODES)
        .map(|i| rt.create_node().name(format!("n{i}")).ip(ip(i)).build())
        .collect();
    let (received, sim) = rt.block_on(async move {
        let sim_started = SimInstant::now();
        let mut joins = Vec::new();
        for (i, node) in (1..=BROADCAST_NODES).zip(&handles) {
            let peers: Vec<SocketAddr> = (1..=BROADCAST_NODES)
                .filter(|j| *j != i)
                .map(|j| SocketAddr::new(ip(j), PORT))
                .collect();
            joins.push(node.spawn(async move {
                let endpoint = Endpoint::bind((ip(i), PORT)).await.expect("bind");
                let mut received = 0u64;
                for round in 0..rounds {
                    for peer in &peers {
                        send(&endpoint, *peer, u64::from(i) * rounds + round).await;
                    }
                    for _ in 0..peers.len() {
                        recv(&endpoint).await;
                        received += 1;
                    }
                }
                received
            }));
        }
        let mut total = 0;
        for join in joins {
            total += join.await.expect("broadcaster");
        }
        (total, sim_started.elapsed())
    });
    println!(
        "{}",
        json!({"tool": "madsim", "workload": "broadcast", "deliveries": received,
               "wall_s": started.elapsed().as_secs_f64(), "sim_s": sim.as_secs_f64()})
    );
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Race {
    Canary,
    Txn,
}

// Requests: the operation code in the high byte, the argument below it.
const GET: u64 = 1 << 56;
const PUT: u64 = 2 << 56;
const BEGIN: u64 = 3 << 56;
const COMMIT: u64 = 4 << 56;
const WRITE: u64 = 5 << 56;
const FINAL: u64 = 6 << 56;

async fn server(addr: SocketAddr) {
    let endpoint = Endpoint::bind(addr).await.expect("bind");
    let (mut value, mut open, mut inside, mut committed) = (0, false, 0, None);
    loop {
        let (request, from) = recv(&endpoint).await;
        let reply = match request & (0xff << 56) {
            GET => value,
            PUT => {
                value = request & ((1 << 56) - 1);
                value
            }
            BEGIN => {
                open = true;
                0
            }
            COMMIT => {
                open = false;
                committed = Some(inside);
                0
            }
            WRITE => {
                inside += u64::from(open);
                0
            }
            FINAL => u64::from(committed == Some(TXN_WRITES)),
            _ => unreachable!(),
        };
        send(&endpoint, from, reply).await;
    }
}

async fn request(endpoint: &Endpoint, server: SocketAddr, op: u64) -> u64 {
    send(endpoint, server, op).await;
    recv(endpoint).await.0
}

/// One run of `race` from madsim seed `seed`: whether it failed.
fn race_run(race: Race, seed: u64) -> bool {
    // madsim's defaults: random task order and 1-10 ms random latency.
    let rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
    let server_addr = SocketAddr::new(ip(1), PORT);
    let server_node = rt.create_node().name("server").ip(ip(1)).build();
    let clients = rt.create_node().name("clients").ip(ip(2)).build();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async move {
            server_node.spawn(server(server_addr));
            let bind = || Endpoint::bind((ip(2), 0));
            match race {
                Race::Canary => {
                    let incr = || async move {
                        let endpoint = bind().await.expect("bind");
                        let value = request(&endpoint, server_addr, GET).await;
                        request(&endpoint, server_addr, PUT | (value + 1)).await;
                    };
                    let a = clients.spawn(incr());
                    let b = clients.spawn(incr());
                    let _ = (a.await, b.await);
                    let value = clients
                        .spawn(async move {
                            let endpoint = bind().await.expect("bind");
                            request(&endpoint, server_addr, GET).await
                        })
                        .await
                        .expect("read");
                    value != 2
                }
                Race::Txn => {
                    let a = clients.spawn(async move {
                        let endpoint = bind().await.expect("bind");
                        request(&endpoint, server_addr, BEGIN).await;
                        request(&endpoint, server_addr, COMMIT).await;
                    });
                    let b = clients.spawn(async move {
                        let endpoint = bind().await.expect("bind");
                        for _ in 0..TXN_WRITES {
                            request(&endpoint, server_addr, WRITE).await;
                        }
                        request(&endpoint, server_addr, FINAL).await == 1
                    });
                    let _ = a.await;
                    b.await.expect("writer")
                }
            }
        })
    }));
    result.unwrap_or(true)
}

fn find(race: Race, name: &str, seeds: u64, cap: u64) {
    // A failing run panics inside the simulation; the search counts it, quietly.
    if std::env::var_os("BENCH_VERBOSE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    for master in 0..seeds {
        let started = Instant::now();
        // Run i of master seed m uses madsim seed m * 2^32 + i: what `MADSIM_TEST_SEED` plus
        // `MADSIM_TEST_NUM` does, with disjoint ranges per master seed.
        let runs = (0..cap).position(|i| race_run(race, (master << 32) + i));
        let seed = runs.map(|i| (master << 32) + i as u64);
        println!(
            "{}",
            json!({"tool": "madsim", "race": name, "strategy": "random", "seed": master,
                   "runs": runs.map(|n| n + 1), "cap": cap,
                   "wall_s": started.elapsed().as_secs_f64(), "failing_seed": seed})
        );
    }
}

fn number(args: &[String], index: usize) -> u64 {
    args.get(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {index}: a number"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("pingpong") => pingpong(number(&args, 1)),
        Some("broadcast") => broadcast(number(&args, 1)),
        Some("short") => short(number(&args, 1), number(&args, 2)),
        Some("find") => {
            let race = match args.get(1).map(String::as_str) {
                Some("canary") => Race::Canary,
                Some("txn") => Race::Txn,
                _ => return ExitCode::from(2),
            };
            find(race, &args[1], number(&args, 3), number(&args, 4));
        }
        _ => {
            eprintln!("usage: bench-madsim pingpong|broadcast|short|find ...");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
