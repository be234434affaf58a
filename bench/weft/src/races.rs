//! Bug-finding power: two races written the same way for weft, madsim and shuttle, searched
//! from master seeds until the first failure; weft then shrinks what it found.
//!
//! - `canary`: a counter server with get and put; two clients each increment once by get, then
//!   put(value + 1); afterwards the counter must be 2. One preemption loses an update.
//! - `txn`: client A sends `Begin` then `Commit`; client B sends `TXN_WRITES` writes, then
//!   `Final`. The server counts the writes that arrive while A's transaction is open and fails
//!   `Final` if all of them did and `Commit` came before `Final`. From the sequential order
//!   this needs two preemptions (after `Begin`, and after B's last write), and A must not run
//!   while B writes.

use serde_json::json;
use std::time::Instant;
use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::shrink::nondefault_execution;
use weft::internals::Run;
use weft::net::{Addr, Endpoint};
use weft::strategy::StrategyKind;
use weft::task::spawn;
use weft::{Config, Detail, Sim, Source};

/// B's writes in the `txn` race (the same constant in every tool's version).
pub const TXN_WRITES: u64 = 4;

const PORT: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Race {
    Canary,
    Txn,
}

impl Race {
    pub fn parse(name: &str) -> Result<Race, String> {
        match name {
            "canary" => Ok(Race::Canary),
            "txn" => Ok(Race::Txn),
            other => Err(format!("unknown race {other:?} (canary, txn)")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Race::Canary => "canary",
            Race::Txn => "txn",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Get,
    Put(u64),
    Begin,
    Commit,
    Write,
    Final,
}

/// Both races' server: one counter, and the transaction bookkeeping of `txn`.
async fn server() {
    let endpoint = Endpoint::<Op>::bind(PORT).expect("port free");
    let (mut value, mut open, mut inside, mut committed) = (0, false, 0, None);
    loop {
        let (from, op) = endpoint.recv().await;
        let reply = match op {
            Op::Get => value,
            Op::Put(v) => {
                value = v;
                v
            }
            Op::Begin => {
                open = true;
                0
            }
            Op::Commit => {
                open = false;
                committed = Some(inside);
                0
            }
            Op::Write => {
                inside += u64::from(open);
                0
            }
            Op::Final => u64::from(committed == Some(TXN_WRITES)),
        };
        endpoint.send(from, reply);
    }
}

async fn request(endpoint: &Endpoint<u64>, server: Addr, op: Op) -> u64 {
    endpoint.send(server, op);
    endpoint.recv().await.1
}

async fn increment(server: Addr) {
    let endpoint = Endpoint::<u64>::ephemeral();
    let value = request(&endpoint, server, Op::Get).await;
    request(&endpoint, server, Op::Put(value + 1)).await;
}

async fn transaction(server: Addr) {
    let endpoint = Endpoint::<u64>::ephemeral();
    request(&endpoint, server, Op::Begin).await;
    request(&endpoint, server, Op::Commit).await;
}

async fn writer(server: Addr) {
    let endpoint = Endpoint::<u64>::ephemeral();
    for _ in 0..TXN_WRITES {
        request(&endpoint, server, Op::Write).await;
    }
    if request(&endpoint, server, Op::Final).await == 1 {
        weft::fail("every write landed inside the open transaction, committed before Final");
    }
}

/// One run of `race` with the decisions from `source`.
fn run(race: Race, source: Source, detail: Detail) -> Run {
    let cfg = Config {
        detail,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, source);
    let server = Addr::new(sim.add_node("server", server), PORT);
    let (report, _) = sim.run(async move {
        match race {
            Race::Canary => {
                let a = spawn(increment(server));
                let b = spawn(increment(server));
                let _ = (a.await, b.await);
                let endpoint = Endpoint::<u64>::ephemeral();
                let value = request(&endpoint, server, Op::Get).await;
                weft::ensure!(value == 2, "two increments left the counter at {value}");
            }
            Race::Txn => {
                let a = spawn(transaction(server));
                let b = spawn(writer(server));
                let _ = (a.await, b.await);
            }
        }
    });
    Run::plain(report)
}

/// For each master seed below `seeds`: runs until the first failure (at most `cap`), then
/// shrinks it. One JSON line per seed.
pub fn find(race: Race, strategy: &str, seeds: u64, cap: u64) -> Result<(), String> {
    let kind =
        StrategyKind::parse(strategy).ok_or_else(|| format!("unknown strategy {strategy}"))?;
    let run_fn = move |source: Source, detail: Detail| run(race, source, detail);
    for seed in 0..seeds {
        let mut cfg = FuzzConfig::new(race.name(), seed, cap);
        cfg.strategy = kind;
        let started = Instant::now();
        let result = fuzz(&run_fn, &cfg);
        let wall = started.elapsed().as_secs_f64();
        let line = match result.found {
            None => json!({
                "tool": "weft", "race": race.name(), "strategy": strategy, "seed": seed,
                "runs": null, "cap": cap, "wall_s": wall,
            }),
            Some(found) => {
                let shrink = found
                    .shrink
                    .as_ref()
                    .expect("a search shrinks what it finds");
                json!({
                    "tool": "weft", "race": race.name(), "strategy": strategy, "seed": seed,
                    "runs": found.cases_to_failure, "cap": cap, "wall_s": wall,
                    "found_decisions": found.original.report.log.decisions.len(),
                    "found_nondefault": nondefault_execution(&found.original.report.log).len(),
                    "found_steps": found.original.report.steps,
                    "shrunk_nondefault": nondefault_execution(&found.run.report.log).len(),
                    "shrink_ms": shrink.elapsed.as_secs_f64() * 1000.0,
                })
            }
        };
        println!("{line}");
    }
    Ok(())
}
