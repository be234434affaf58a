//! turmoil's side of the peer benchmarks (issue 14): the throughput workloads of `bench/weft`,
//! written on turmoil's simulated UDP sockets (one u64 per datagram). turmoil advances
//! simulated time in ticks (1 ms by default, the latency used here).
//!
//! ```text
//! bench-turmoil pingpong ROUND_TRIPS
//! bench-turmoil broadcast DELIVERIES
//! bench-turmoil short RUNS ROUND_TRIPS
//! ```

use serde_json::json;
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};
use turmoil::net::UdpSocket;

const PORT: u16 = 1;
const MS: Duration = Duration::from_millis(1);
const ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

fn builder(seed: u64, latency_min: Duration, latency_max: Duration) -> turmoil::Builder {
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(Duration::from_secs(1_000_000))
        .tick_duration(MS)
        .min_message_latency(latency_min)
        .max_message_latency(latency_max)
        .rng_seed(seed);
    builder
}

async fn send(socket: &UdpSocket, to: std::net::SocketAddr, n: u64) {
    socket.send_to(&n.to_le_bytes(), to).await.expect("send");
}

async fn recv(socket: &UdpSocket) -> (u64, std::net::SocketAddr) {
    let mut buf = [0u8; 8];
    let (len, from) = socket.recv_from(&mut buf).await.expect("recv");
    assert_eq!(len, 8);
    (u64::from_le_bytes(buf), from)
}

/// One simulation of the ping-pong: returns simulated time.
fn pingpong_run(round_trips: u64, seed: u64) -> Duration {
    let mut sim = builder(seed, MS, MS).build();
    sim.host("server", || async {
        let socket = UdpSocket::bind((ANY, PORT)).await?;
        loop {
            let (n, from) = recv(&socket).await;
            send(&socket, from, n).await;
        }
    });
    sim.client("client", async move {
        let socket = UdpSocket::bind((ANY, 0)).await?;
        let server = (turmoil::lookup("server"), PORT).into();
        for i in 0..round_trips {
            send(&socket, server, i).await;
            let (n, _) = recv(&socket).await;
            assert_eq!(n, i);
        }
        Ok(())
    });
    sim.run().expect("ping-pong");
    sim.elapsed()
}

fn pingpong(round_trips: u64) {
    let started = Instant::now();
    let sim = pingpong_run(round_trips, 1);
    println!(
        "{}",
        json!({"tool": "turmoil", "workload": "pingpong", "round_trips": round_trips,
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
        json!({"tool": "turmoil", "workload": "short", "runs": runs, "round_trips": round_trips,
               "wall_s": started.elapsed().as_secs_f64(), "sim_s": sim.as_secs_f64()})
    );
}

const BROADCAST_NODES: u64 = 5;

fn broadcast(deliveries: u64) {
    let rounds = deliveries.div_ceil(BROADCAST_NODES * (BROADCAST_NODES - 1));
    let started = Instant::now();
    let mut sim = builder(1, MS, 10 * MS).build();
    let received = Rc::new(Cell::new(0u64));
    for i in 0..BROADCAST_NODES {
        let received = received.clone();
        sim.client(format!("n{i}"), async move {
            let socket = UdpSocket::bind((ANY, PORT)).await?;
            let peers: Vec<std::net::SocketAddr> = (0..BROADCAST_NODES)
                .filter(|j| *j != i)
                .map(|j| (turmoil::lookup(format!("n{j}")), PORT).into())
                .collect();
            for round in 0..rounds {
                for peer in &peers {
                    send(&socket, *peer, i * rounds + round).await;
                }
                for _ in 0..peers.len() {
                    recv(&socket).await;
                    received.set(received.get() + 1);
                }
            }
            Ok(())
        });
    }
    sim.run().expect("broadcast");
    println!(
        "{}",
        json!({"tool": "turmoil", "workload": "broadcast", "deliveries": received.get(),
               "wall_s": started.elapsed().as_secs_f64(), "sim_s": sim.elapsed().as_secs_f64()})
    );
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
        _ => {
            eprintln!("usage: bench-turmoil pingpong|broadcast|short ...");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
