//! weft's side of the peer benchmarks (issue 14). The same workloads are written for madsim
//! (`bench/madsim`), turmoil (`bench/turmoil`) and shuttle (`bench/shuttle`); `bench/run.sh`
//! runs them all and writes BENCHMARKS.md. Every command prints one JSON object per line.
//!
//! ```text
//! bench-weft pingpong ROUND_TRIPS          2 nodes, request/response, 1 ms each way
//! bench-weft broadcast DELIVERIES          5 nodes, each to all others, latency 1-10 ms
//! bench-weft short RUNS ROUND_TRIPS        many short ping-pong simulations
//! bench-weft find RACE STRATEGY SEEDS CAP  runs to the first failure per master seed
//! bench-weft planted SEEDS CAP             every planted pool bug, random and PCT
//! ```

mod planted;
mod races;
mod throughput;

use std::process::ExitCode;

fn number(args: &[String], index: usize, what: &str) -> Result<u64, String> {
    args.get(index)
        .ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|e| format!("{what}: {e}"))
}

fn dispatch(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("pingpong") => throughput::pingpong(number(args, 1, "ROUND_TRIPS")?),
        Some("broadcast") => throughput::broadcast(number(args, 1, "DELIVERIES")?),
        Some("short") => {
            throughput::short(number(args, 1, "RUNS")?, number(args, 2, "ROUND_TRIPS")?)
        }
        Some("find") => {
            let race = races::Race::parse(args.get(1).map_or("", String::as_str))?;
            let strategy = args.get(2).ok_or("missing STRATEGY")?;
            races::find(
                race,
                strategy,
                number(args, 3, "SEEDS")?,
                number(args, 4, "CAP")?,
            )?
        }
        Some("planted") => planted::planted(number(args, 1, "SEEDS")?, number(args, 2, "CAP")?)?,
        _ => return Err("usage: see the crate documentation".to_string()),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-weft: {e}");
            ExitCode::from(2)
        }
    }
}
