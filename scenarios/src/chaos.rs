//! A multi-node workload that exercises every fault kind: a last-write-wins register
//! replicated on three nodes that log to disk, under message loss, duplication and
//! reordering, crashes with torn writes, pauses, partitions, clock skew and drift, disk
//! errors and fault points. Property: a read returns only a value some client wrote (or the
//! initial 0). It is the workload of the determinism checks, and must pass.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::Run;
use weft::net::{call, Addr, Endpoint, Request};
use weft::NodeId;
use weft::{Config, Sim, Source};

const PORT: u32 = 1;
const LOG: &str = "register.log";
const REPLICAS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Write(u64),
    Read,
    Replicate { value: u64, stamp: u64 },
}

/// A log record: value, stamp, checksum (torn records fail the checksum).
fn encode(value: u64, stamp: u64) -> [u8; 24] {
    let mut record = [0; 24];
    record[..8].copy_from_slice(&value.to_le_bytes());
    record[8..16].copy_from_slice(&stamp.to_le_bytes());
    let sum = value.wrapping_mul(31).wrapping_add(stamp) ^ 0x5eed;
    record[16..].copy_from_slice(&sum.to_le_bytes());
    record
}

fn recover(log: &[u8]) -> (u64, u64) {
    let mut best = (0, 0);
    for record in log.chunks_exact(24) {
        let word = |i: usize| u64::from_le_bytes(record[i..i + 8].try_into().expect("8 bytes"));
        let (value, stamp, sum) = (word(0), word(8), word(16));
        if sum == value.wrapping_mul(31).wrapping_add(stamp) ^ 0x5eed && stamp >= best.1 {
            best = (value, stamp);
        }
    }
    best
}

async fn replica(peers: Vec<NodeId>) {
    let (mut value, mut stamp) = match weft::disk::read(LOG).await {
        Ok(log) => recover(&log),
        Err(_) => (0, 0),
    };
    let endpoint = Endpoint::<Request<Op, Option<u64>>>::bind(PORT).expect("port free");
    loop {
        let (_, request) = endpoint.recv().await;
        match request.body {
            Op::Read => request.reply(Some(value)),
            Op::Write(v) => {
                let new_stamp = weft::time::wall_clock_ns().max(stamp + 1);
                if weft::disk::append(LOG, &encode(v, new_stamp))
                    .await
                    .is_err()
                {
                    request.reply(None);
                    continue;
                }
                if !weft::fault::buggify("skip-fsync") && weft::disk::fsync(LOG).await.is_err() {
                    request.reply(None);
                    continue;
                }
                (value, stamp) = (v, new_stamp);
                for &peer in &peers {
                    let to = Addr::new(peer, PORT);
                    let message = Request::<Op, Option<u64>>::new(
                        Op::Replicate { value: v, stamp },
                        to,
                        endpoint.addr(),
                    );
                    endpoint.send(to, message);
                }
                request.reply(Some(v));
            }
            Op::Replicate { value: v, stamp: s } => {
                if s > stamp {
                    (value, stamp) = (v, s);
                    let _ = weft::disk::append(LOG, &encode(v, s)).await;
                }
            }
        }
    }
}

async fn client(id: u64, replicas: Vec<NodeId>, written: Rc<RefCell<BTreeSet<u64>>>) {
    for i in 0..10 {
        let target = Addr::new(
            replicas[weft::rand::below(replicas.len() as u64) as usize],
            PORT,
        );
        if weft::rand::bool() {
            let value = id * 1000 + i;
            written.borrow_mut().insert(value);
            let _ =
                call::<Op, Option<u64>>(target, Op::Write(value), Duration::from_millis(50)).await;
        } else if let Ok(Some(v)) =
            call::<Op, Option<u64>>(target, Op::Read, Duration::from_millis(50)).await
        {
            weft::ensure!(
                v == 0 || written.borrow().contains(&v),
                "read {v}, which no client wrote"
            );
        }
        let backoff = weft::rand::range(1..20);
        weft::time::sleep(Duration::from_millis(backoff)).await;
    }
}

/// The chaos scenario.
pub struct Chaos;

impl Scenario for Chaos {
    fn name(&self) -> &'static str {
        "chaos"
    }

    fn about(&self) -> &'static str {
        "replicated register on 3 nodes under every fault kind; must pass (determinism workload)"
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        let mut cfg = Config::chaos();
        cfg.faults.interval_ns = 10_000_000;
        cfg.faults.until_ns = 400_000_000;
        cfg.detail = setup.detail;
        let mut sim = Sim::new(cfg, source);
        let ids: Vec<NodeId> = (1..=REPLICAS).map(NodeId::from_index).collect();
        for (i, _) in ids.iter().enumerate() {
            let peers: Vec<NodeId> = ids.iter().copied().filter(|&p| p != ids[i]).collect();
            sim.add_node(&format!("replica {}", i + 1), move || {
                replica(peers.clone())
            });
        }
        let (report, _) = sim.run(async move {
            let written = Rc::new(RefCell::new(BTreeSet::new()));
            let clients: Vec<_> = (1..=2)
                .map(|c| {
                    weft::task::spawn_named(
                        format!("client {c}"),
                        client(c, ids.clone(), written.clone()),
                    )
                })
                .collect();
            for c in clients {
                let _ = c.await;
            }
        });
        Run::plain(report)
    }
}
