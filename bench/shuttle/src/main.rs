//! shuttle's side of the peer benchmarks (issue 14): the two races of `bench/weft`, written
//! with shuttle's threads and channels (shuttle has no network: a server thread answers
//! requests that carry their own reply channel, which is the same message exchange).
//!
//! ```text
//! bench-shuttle find RACE random|pct SEEDS CAP
//! ```

use serde_json::json;
use shuttle::scheduler::{PctScheduler, RandomScheduler, Scheduler};
use shuttle::sync::mpsc::{channel, Receiver, Sender};
use shuttle::{current, thread, Config, FailurePersistence, Runner};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// B's writes in the `txn` race (the same constant in every tool's version).
const TXN_WRITES: u64 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Get,
    Put(u64),
    Begin,
    Commit,
    Write,
    Final,
}

type Requests = Sender<(Op, Sender<u64>)>;

fn server(requests: Receiver<(Op, Sender<u64>)>) {
    let (mut value, mut open, mut inside, mut committed) = (0, false, 0, None);
    while let Ok((op, reply)) = requests.recv() {
        let answer = match op {
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
        let _ = reply.send(answer);
    }
}

/// A client's connection: its own reply channel.
struct Client {
    server: Requests,
    replies: (Sender<u64>, Receiver<u64>),
}

impl Client {
    fn new(server: &Requests) -> Client {
        Client {
            server: server.clone(),
            replies: channel(),
        }
    }

    fn request(&self, op: Op) -> u64 {
        self.server
            .send((op, self.replies.0.clone()))
            .expect("server up");
        self.replies.1.recv().expect("reply")
    }
}

/// Iterations started in the current search, and the schedule length of the failing one.
static RUNS: AtomicU64 = AtomicU64::new(0);
static FAILING_STEPS: AtomicUsize = AtomicUsize::new(0);

fn fail(message: &str) -> ! {
    FAILING_STEPS.store(current::context_switches(), Ordering::SeqCst);
    panic!("{message}");
}

fn canary() {
    RUNS.fetch_add(1, Ordering::SeqCst);
    let (tx, rx) = channel();
    let server_thread = thread::spawn(move || server(rx));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let client = Client::new(&tx);
            thread::spawn(move || {
                let value = client.request(Op::Get);
                client.request(Op::Put(value + 1));
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let value = Client::new(&tx).request(Op::Get);
    drop(tx);
    server_thread.join().expect("server");
    if value != 2 {
        fail("lost update");
    }
}

fn txn() {
    RUNS.fetch_add(1, Ordering::SeqCst);
    let (tx, rx) = channel();
    let server_thread = thread::spawn(move || server(rx));
    let a = Client::new(&tx);
    let transaction = thread::spawn(move || {
        a.request(Op::Begin);
        a.request(Op::Commit);
    });
    let b = Client::new(&tx);
    let writer = thread::spawn(move || {
        for _ in 0..TXN_WRITES {
            b.request(Op::Write);
        }
        b.request(Op::Final) == 1
    });
    transaction.join().expect("transaction");
    let failed = writer.join().expect("writer");
    drop(tx);
    server_thread.join().expect("server");
    if failed {
        fail("every write landed inside the open transaction, committed before Final");
    }
}

fn search(scheduler: impl Scheduler + 'static, test: fn()) -> Option<u64> {
    let mut config = Config::new();
    config.failure_persistence = FailurePersistence::None;
    RUNS.store(0, Ordering::SeqCst);
    let runner = Runner::new(scheduler, config);
    match catch_unwind(AssertUnwindSafe(|| runner.run(test))) {
        Ok(_) => None,
        Err(_) => Some(RUNS.load(Ordering::SeqCst)),
    }
}

fn find(race: &str, strategy: &str, seeds: u64, cap: u64) -> Result<(), String> {
    let test: fn() = match race {
        "canary" => canary,
        "txn" => txn,
        other => return Err(format!("unknown race {other}")),
    };
    for seed in 0..seeds {
        let started = Instant::now();
        let runs = match strategy {
            "random" => search(RandomScheduler::new_from_seed(seed, cap as usize), test),
            "pct" => search(PctScheduler::new_from_seed(seed, 3, cap as usize), test),
            other => return Err(format!("unknown strategy {other}")),
        };
        println!(
            "{}",
            json!({"tool": "shuttle", "race": race, "strategy": strategy, "seed": seed,
                   "runs": runs, "cap": cap, "wall_s": started.elapsed().as_secs_f64(),
                   "failing_steps": runs.map(|_| FAILING_STEPS.load(Ordering::SeqCst))})
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    // A failing run panics; the search counts it, quietly.
    std::panic::set_hook(Box::new(|_| {}));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let result = match (args.first().map(String::as_str), number(3), number(4)) {
        (Some("find"), Some(seeds), Some(cap)) => find(&args[1], &args[2], seeds, cap),
        _ => Err("usage: bench-shuttle find RACE random|pct SEEDS CAP".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-shuttle: {e}");
            ExitCode::from(2)
        }
    }
}
