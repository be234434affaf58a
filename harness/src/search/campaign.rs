//! A fuzzing campaign: the search loop of `weft fuzz` as a nightly job runs it. Cases run on
//! `jobs` threads until the case budget, a wall-clock budget or a stop request (a signal) ends
//! it; each failure is handed to an [`Observer`] the moment it is found (to be saved before
//! anything else happens), then shrunk and explained on a thread of its own while the search
//! goes on, and handed over again. Progress is reported every few seconds, with a [`Ledger`] of
//! the cases done so that a stopped campaign can resume without running a case twice.
//!
//! Case `k` of a shard is a pure function of the search's seed and the case's index, as in
//! [`super::fuzz::fuzz_parallel`]; without `keep_going` the campaign stops taking cases above
//! the lowest failing index, so the failure it reports first does not depend on `jobs`.

use super::fuzz::{
    case_run, origin_of, settled, shrink_and_explain, Found, FuzzConfig, Origin, Shard, Shrinking,
};
use super::Run;
use crate::sim::Detail;
use crate::source::Source;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant}; // hygiene: allowed (the search runs outside the simulation)

/// Which cases of a shard are done: every index below `below`, and those in `above`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Every case index below this one is done.
    pub below: u64,
    /// Cases done at or above `below` (at most about one per thread).
    pub above: BTreeSet<u64>,
}

impl Ledger {
    /// Whether case `k` is done.
    pub fn done(&self, k: u64) -> bool {
        k < self.below || self.above.contains(&k)
    }

    /// Marks case `k` done.
    pub fn mark(&mut self, k: u64) {
        self.above.insert(k);
        while self.above.remove(&self.below) {
            self.below += 1;
        }
    }

    /// The number of cases done.
    pub fn count(&self) -> u64 {
        self.below + self.above.len() as u64
    }
}

/// How a campaign runs, besides the search itself ([`FuzzConfig`]).
#[derive(Clone, Debug)]
pub struct Campaign {
    /// Threads running cases (at least 1).
    pub jobs: usize,
    /// The part of the search this process runs.
    pub shard: Shard,
    /// Wall-clock budget; `None`: until the case budget is spent.
    pub time_max: Option<Duration>,
    /// Set from outside (a signal handler) to stop: running cases finish, shrinks stop at the
    /// smallest failing run found so far.
    pub stop: Arc<AtomicBool>,
    /// Go on after a failure; otherwise stop taking cases above the lowest failing index.
    pub keep_going: bool,
    /// Cases already done (a resumed campaign).
    pub ledger: Ledger,
    /// Time between progress reports.
    pub progress_every: Duration,
}

impl Campaign {
    /// One thread over the whole search, no time budget, stopping at the first failure.
    pub fn new() -> Campaign {
        Campaign {
            jobs: 1,
            shard: Shard::ALL,
            time_max: None,
            stop: Arc::new(AtomicBool::new(false)),
            keep_going: false,
            ledger: Ledger::default(),
            progress_every: Duration::from_secs(1),
        }
    }
}

impl Default for Campaign {
    fn default() -> Self {
        Campaign::new()
    }
}

/// A failing case as found.
#[derive(Clone, Debug)]
pub struct Failing {
    /// Its index within the shard (0-based).
    pub index: u64,
    /// Its 1-based index and strategy seed.
    pub origin: Origin,
    /// The failing run, without trace.
    pub run: Run,
}

/// Where a campaign stands.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Cases run by this process (a resumed campaign's earlier cases not counted).
    pub cases: u64,
    /// Failures found.
    pub failures: u64,
    /// Simulated time covered by the cases run.
    pub sim_time_ns: u64,
    /// Wall-clock time since the campaign started.
    pub elapsed: Duration,
    /// Which cases are done, counting a resumed campaign's earlier ones.
    pub ledger: Ledger,
}

/// Told what a campaign finds, on the thread that called [`run_campaign`].
pub trait Observer {
    /// A failure, before shrinking; returns where its shrunk replay file goes (`None`: none).
    fn found(&mut self, failing: &Failing) -> Option<PathBuf>;
    /// The same failure, shrunk and explained.
    fn shrunk(&mut self, failing: &Failing, found: Found);
    /// Where the campaign stands, every [`Campaign::progress_every`] and once at the end.
    fn progress(&mut self, progress: &Progress);
}

/// Why a campaign ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ended {
    /// Every case of the budget ran.
    CasesDone,
    /// The wall-clock budget ran out.
    TimeUp,
    /// A stop was requested.
    Stopped,
    /// A failure was found (without `keep_going`).
    Failed,
}

/// What a campaign did.
#[derive(Clone, Debug)]
pub struct CampaignResult {
    /// Where it stood at the end.
    pub progress: Progress,
    /// Why it ended.
    pub ended: Ended,
}

/// Shared state of the workers.
struct Shared {
    next: AtomicU64,
    /// Lowest failing index (without `keep_going`), else `u64::MAX`.
    limit: AtomicU64,
    /// Set when the campaign must end: stop, time up, or every failure to find is found.
    halt: Arc<AtomicBool>,
    cases: AtomicU64,
    sim_time_ns: AtomicU64,
    /// Failures found and not yet shrunk: workers wait while it is high (bounded memory).
    backlog: AtomicU64,
    ledger: Mutex<Ledger>,
}

/// Failures waiting for the shrinker beyond which workers pause.
const BACKLOG_MAX: u64 = 16;

/// Runs a campaign of the search `cfg`. Every failure goes to `observer` as soon as it is
/// found, then again shrunk; the result says how far the campaign got and why it ended.
pub fn run_campaign(
    run: &(dyn Fn(Source, Detail) -> Run + Sync),
    cfg: &FuzzConfig,
    campaign: &Campaign,
    observer: &mut dyn Observer,
) -> CampaignResult {
    let started = Instant::now();
    let cfg = &settled(run, cfg);
    let shared = Shared {
        next: AtomicU64::new(campaign.ledger.below),
        limit: AtomicU64::new(u64::MAX),
        halt: Arc::new(AtomicBool::new(false)),
        cases: AtomicU64::new(0),
        sim_time_ns: AtomicU64::new(0),
        backlog: AtomicU64::new(0),
        ledger: Mutex::new(campaign.ledger.clone()),
    };
    let deadline = campaign.time_max.map(|t| started + t);
    let mut shrink_cfg = cfg.clone();
    shrink_cfg.shrink.stop = Some(shared.halt.clone());
    if campaign.keep_going {
        // Failures are grouped by their shrunk counterexamples: the search for a smaller case
        // would lead distinct bugs that fail the same way to one small case, and hide all but
        // one of them behind one group. Each is shrunk to its own local minimum.
        shrink_cfg.shrink.small_steps = 0;
    }
    let (failures_tx, failures_rx) = mpsc::channel::<(u64, Run)>();
    let (shrink_tx, shrink_rx) = mpsc::channel::<(Failing, Option<PathBuf>)>();
    let (shrunk_tx, shrunk_rx) = mpsc::channel::<(Failing, Found)>();
    let mut failures = 0;
    std::thread::scope(|scope| {
        for _ in 0..campaign.jobs.max(1) {
            let tx = failures_tx.clone();
            let shared = &shared;
            scope.spawn(move || worker(run, cfg, campaign, shared, deadline, tx));
        }
        drop(failures_tx);
        let shrink_cfg = &shrink_cfg;
        scope.spawn(move || {
            for (failing, path) in shrink_rx {
                let found = shrink_one(run, shrink_cfg, &failing, path);
                if shrunk_tx.send((failing, found)).is_err() {
                    return;
                }
            }
        });
        let channels = Channels {
            failures: failures_rx,
            shrink: shrink_tx,
            shrunk: shrunk_rx,
        };
        failures = coordinate(
            cfg, campaign, &shared, deadline, started, channels, observer,
        );
    });
    let progress = progress_of(&shared, failures, started);
    observer.progress(&progress);
    let ended = ended(cfg, campaign, &shared, deadline, failures);
    CampaignResult { progress, ended }
}

/// Why the campaign ended, once it has.
fn ended(
    cfg: &FuzzConfig,
    campaign: &Campaign,
    shared: &Shared,
    deadline: Option<Instant>,
    failures: u64,
) -> Ended {
    if shared.ledger.lock().expect("ledger").count() >= cfg.cases {
        Ended::CasesDone
    } else if failures > 0 && !campaign.keep_going {
        Ended::Failed
    } else if campaign.stop.load(Ordering::Relaxed) {
        Ended::Stopped
    } else if deadline.is_some_and(|d| Instant::now() >= d) {
        Ended::TimeUp
    } else {
        Ended::CasesDone
    }
}

/// Shrinks and explains one failure, its shrunk replay file going to `path`.
fn shrink_one(
    run: &(dyn Fn(Source, Detail) -> Run + Sync),
    cfg: &FuzzConfig,
    failing: &Failing,
    path: Option<PathBuf>,
) -> Found {
    let cfg = FuzzConfig {
        replay_file: path,
        ..cfg.clone()
    };
    shrink_and_explain(
        run,
        &cfg,
        failing.run.clone(),
        failing.origin,
        Shrinking::Shrink,
    )
}

/// One worker: takes the next case index not yet done, runs it, until the campaign ends.
fn worker(
    run: &(dyn Fn(Source, Detail) -> Run + Sync),
    cfg: &FuzzConfig,
    campaign: &Campaign,
    shared: &Shared,
    deadline: Option<Instant>,
    failures: mpsc::Sender<(u64, Run)>,
) {
    loop {
        while shared.backlog.load(Ordering::Relaxed) >= BACKLOG_MAX && !halted(shared) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if halted(shared)
            || campaign.stop.load(Ordering::Relaxed)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            return;
        }
        let k = shared.next.fetch_add(1, Ordering::Relaxed);
        if k >= cfg.cases || k >= shared.limit.load(Ordering::Relaxed) {
            return;
        }
        if campaign.ledger.done(k) {
            continue;
        }
        let case = case_run(run, cfg, campaign.shard, k);
        shared.cases.fetch_add(1, Ordering::Relaxed);
        shared
            .sim_time_ns
            .fetch_add(case.report.sim_time_ns, Ordering::Relaxed);
        if case.failed() {
            if !campaign.keep_going {
                shared.limit.fetch_min(k, Ordering::Relaxed);
            }
            shared.backlog.fetch_add(1, Ordering::Relaxed);
            let _ = failures.send((k, case));
        }
        shared.ledger.lock().expect("ledger").mark(k);
    }
}

fn halted(shared: &Shared) -> bool {
    shared.halt.load(Ordering::Relaxed)
}

fn progress_of(shared: &Shared, failures: u64, started: Instant) -> Progress {
    Progress {
        cases: shared.cases.load(Ordering::Relaxed),
        failures,
        sim_time_ns: shared.sim_time_ns.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        ledger: shared.ledger.lock().expect("ledger").clone(),
    }
}

/// The coordinator's ends of the channels.
struct Channels {
    failures: mpsc::Receiver<(u64, Run)>,
    shrink: mpsc::Sender<(Failing, Option<PathBuf>)>,
    shrunk: mpsc::Receiver<(Failing, Found)>,
}

/// The calling thread's loop: hands failures to the observer at once and to the shrinker,
/// reports progress, and raises the halt flag when the campaign must end. Returns the number
/// of failures found.
fn coordinate(
    cfg: &FuzzConfig,
    campaign: &Campaign,
    shared: &Shared,
    deadline: Option<Instant>,
    started: Instant,
    channels: Channels,
    observer: &mut dyn Observer,
) -> u64 {
    let tick = campaign.progress_every.min(Duration::from_millis(100));
    let mut next_report = started + campaign.progress_every;
    let (mut found, mut shrunk) = (0u64, 0u64);
    let mut searching = true;
    while searching || shrunk < found {
        if searching {
            match channels.failures.recv_timeout(tick) {
                Ok((index, run)) => {
                    let failing = Failing {
                        index,
                        origin: origin_of(cfg, campaign.shard, index),
                        run,
                    };
                    let path = observer.found(&failing);
                    found += 1;
                    let _ = channels.shrink.send((failing, path));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => searching = false,
            }
        } else if let Ok((failing, result)) = channels.shrunk.recv_timeout(tick) {
            shared.backlog.fetch_sub(1, Ordering::Relaxed);
            shrunk += 1;
            observer.shrunk(&failing, result);
        }
        while let Ok((failing, result)) = channels.shrunk.try_recv() {
            shared.backlog.fetch_sub(1, Ordering::Relaxed);
            shrunk += 1;
            observer.shrunk(&failing, result);
        }
        if campaign.stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            shared.halt.store(true, Ordering::Relaxed);
        }
        if Instant::now() >= next_report {
            observer.progress(&progress_of(shared, found, started));
            next_report += campaign.progress_every;
        }
    }
    found
}
