//! The entry point [`check`]: validation, P-compositional split into parts, parts checked on
//! several threads, bounds, and the results.

use crate::model::{Model, Operation};
use crate::search::{check_part, Limits, Scratch};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Bounds and options of a check.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Give up (verdict [`Verdict::Unknown`]) after this long. `None`: no time bound.
    pub timeout: Option<Duration>,
    /// Give up when the memo caches of the parts being checked would hold more than this many
    /// bytes (heap memory owned by states themselves is not counted).
    pub max_memory_bytes: usize,
    /// Threads checking parts in parallel; 0 means the machine's available parallelism. A
    /// history of fewer than 1024 operations is checked on one thread.
    pub threads: usize,
    /// Stop the other parts as soon as one part is found not linearizable (the verdict is
    /// settled); they are then reported unknown with reason [`UnknownReason::Cancelled`].
    pub stop_on_violation: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            timeout: None,
            max_memory_bytes: 2 << 30,
            threads: 0,
            stop_on_violation: true,
        }
    }
}

/// The verdict on a whole history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every part has a linearization.
    Linearizable,
    /// At least one part has none.
    NotLinearizable,
    /// A bound was reached before the verdict was settled.
    Unknown,
}

impl Verdict {
    /// `linearizable`, `not-linearizable` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not-linearizable",
            Verdict::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a part's verdict is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnknownReason {
    /// The time bound was reached.
    Timeout,
    /// The memory bound was reached.
    MemoryLimit,
    /// Stopped because another part was found not linearizable.
    Cancelled,
}

impl UnknownReason {
    /// `timeout`, `memory-limit` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownReason::Timeout => "timeout",
            UnknownReason::MemoryLimit => "memory-limit",
            UnknownReason::Cancelled => "cancelled",
        }
    }
}

/// The outcome of one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartOutcome {
    /// The part has a linearization.
    Linearizable,
    /// The part has none.
    NotLinearizable,
    /// The search stopped early.
    Unknown(UnknownReason),
}

impl PartOutcome {
    /// The outcome as a verdict.
    pub fn verdict(self) -> Verdict {
        match self {
            PartOutcome::Linearizable => Verdict::Linearizable,
            PartOutcome::NotLinearizable => Verdict::NotLinearizable,
            PartOutcome::Unknown(_) => Verdict::Unknown,
        }
    }
}

/// Counters of one part's search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchStats {
    /// Iterations of the search loop.
    pub steps: u64,
    /// Configurations in the memo cache at the end.
    pub cache_entries: u64,
    /// Distinct model states met.
    pub states: u64,
    /// Bytes held by the memo cache and the state table.
    pub cache_bytes: u64,
    /// Time spent on this part.
    pub elapsed: Duration,
}

/// The result of one independent part.
#[derive(Clone, Debug)]
pub struct PartResult {
    /// The part's operations (indices into the checked operations), as the model split them.
    pub ops: Vec<usize>,
    /// Linearizable, not, or unknown.
    pub outcome: PartOutcome,
    /// For a linearizable part: a linearization (operations with an unknown outcome that are
    /// absent never took effect). Otherwise: the longest partial linearization found.
    pub linearization: Vec<usize>,
    /// When not linearizable: the operations (with a known outcome) that could go next after
    /// the longest partial linearization, none of which could be placed there.
    pub unplaced: Vec<usize>,
    /// Search counters.
    pub stats: SearchStats,
}

/// The result of [`check`].
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The verdict on the whole history.
    pub verdict: Verdict,
    /// One result per part, in the order the model gave the parts.
    pub parts: Vec<PartResult>,
    /// Wall-clock time of the whole check.
    pub elapsed: Duration,
}

impl CheckResult {
    /// Whether the verdict is [`Verdict::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        self.verdict == Verdict::Linearizable
    }

    /// Why the verdict is unknown (the first reason other than cancellation), if it is.
    pub fn unknown_reason(&self) -> Option<UnknownReason> {
        if self.verdict != Verdict::Unknown {
            return None;
        }
        let reasons = self.parts.iter().filter_map(|p| match p.outcome {
            PartOutcome::Unknown(r) => Some(r),
            _ => None,
        });
        let mut first = None;
        for r in reasons {
            if r != UnknownReason::Cancelled {
                return Some(r);
            }
            first.get_or_insert(r);
        }
        first
    }
}

/// The operations cannot be checked as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// An operation with a known outcome returns before it is called.
    ReturnBeforeCall {
        /// Its index.
        op: usize,
    },
    /// The model's `partition` is not a partition of the operations.
    InvalidPartition(String),
    /// More operations than the checker can index (2^31).
    TooManyOperations(usize),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::ReturnBeforeCall { op } => {
                write!(f, "operation {op} returns before it is called")
            }
            CheckError::InvalidPartition(why) => write!(f, "invalid partition: {why}"),
            CheckError::TooManyOperations(n) => write!(f, "too many operations ({n})"),
        }
    }
}

impl std::error::Error for CheckError {}

/// Decides whether `ops` is linearizable with respect to `model`.
///
/// The model's parts are checked independently, on up to [`CheckConfig::threads`] threads.
/// The check always returns: when a bound of `config` is reached, the verdict is
/// [`Verdict::Unknown`]. To check many histories, a [`Checker`] reuses its buffers.
pub fn check<M>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    config: &CheckConfig,
) -> Result<CheckResult, CheckError>
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    Checker::new(config.clone()).check(model, ops)
}

/// Below this many operations a check runs on one thread: starting threads would cost more
/// than the search.
const PARALLEL_MIN_OPS: usize = 1024;

/// Parts smaller than this are not worth a thread of their own.
const PARALLEL_MIN_PART: usize = 64;

/// The machine's available parallelism, read once (it reads cgroup files on Linux).
fn machine_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A reusable checker: the configuration and the search's buffers, kept between checks, so
/// that checking thousands of small histories (as the simulator does) allocates little.
///
/// ```
/// use weft_lincheck::{CheckConfig, Checker, Model, Operation};
/// # struct Counter;
/// # impl Model for Counter {
/// #     type State = u32; type Input = (); type Output = u32;
/// #     fn init(&self) -> u32 { 0 }
/// #     fn step(&self, s: &u32, _: &(), out: Option<&u32>) -> Option<u32> {
/// #         out.map_or(true, |o| *o == s + 1).then_some(s + 1)
/// #     }
/// # }
/// let mut checker = Checker::new(CheckConfig::default());
/// for n in 1..=3 {
///     let ops: Vec<_> = (0..n).map(|i| Operation::new(0, (), i + 1, 2 * i as u64, 2 * i as u64 + 1)).collect();
///     assert!(checker.check(&Counter, &ops).unwrap().is_linearizable());
/// }
/// ```
pub struct Checker {
    config: CheckConfig,
    /// One scratch space per thread.
    scratch: Vec<Scratch>,
}

impl Checker {
    /// A checker with these bounds and options.
    pub fn new(config: CheckConfig) -> Self {
        Checker {
            config,
            scratch: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CheckConfig {
        &self.config
    }

    /// Decides whether `ops` is linearizable with respect to `model` (see [`check`]).
    pub fn check<M>(
        &mut self,
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
    ) -> Result<CheckResult, CheckError>
    where
        M: Model + Sync,
        M::Input: Sync,
        M::Output: Sync,
        M::State: Send,
    {
        let started = Instant::now();
        let parts = validate(model, ops)?;
        let threads = self.threads_for(ops.len(), &parts);
        if self.scratch.len() < threads {
            self.scratch.resize_with(threads, Scratch::default);
        }
        let cancel = AtomicBool::new(false);
        let limits = Limits {
            deadline: self.config.timeout.map(|t| started + t),
            max_bytes: self.config.max_memory_bytes / threads,
            cancel: &cancel,
        };
        // Biggest parts first, for a better balance between threads.
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by_key(|&p| std::cmp::Reverse(parts[p].len()));
        let stop = self.config.stop_on_violation;
        let results = if threads == 1 {
            let scratch = &mut self.scratch[0];
            let mut results: Vec<Option<PartResult>> = vec![None; parts.len()];
            for &p in &order {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let result = check_part(model, ops, &parts[p], &limits, scratch);
                if result.outcome == PartOutcome::NotLinearizable && stop {
                    cancel.store(true, Ordering::Relaxed);
                }
                results[p] = Some(result);
            }
            results
        } else {
            let scratch = &mut self.scratch[..threads];
            check_parallel(model, ops, &parts, &order, &limits, stop, scratch)
        };
        Ok(conclude(results, parts, started))
    }

    /// Threads for this check: one for a small history; else the configured number (0: the
    /// machine's), at most one per part big enough to be worth it.
    fn threads_for(&self, op_count: usize, parts: &[Vec<usize>]) -> usize {
        if op_count < PARALLEL_MIN_OPS {
            return 1;
        }
        let wanted = match self.config.threads {
            0 => machine_threads(),
            t => t,
        };
        let big = parts
            .iter()
            .filter(|p| p.len() >= PARALLEL_MIN_PART)
            .count();
        wanted.min(big).max(1)
    }
}

/// Checks that the operations can be checked and the model's parts are a partition.
fn validate<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
) -> Result<Vec<Vec<usize>>, CheckError> {
    if ops.len() >= 1 << 31 {
        return Err(CheckError::TooManyOperations(ops.len()));
    }
    if let Some(op) = ops
        .iter()
        .position(|o| o.output.is_some() && o.ret < o.call)
    {
        return Err(CheckError::ReturnBeforeCall { op });
    }
    let parts = model.partition(ops);
    let mut seen = vec![false; ops.len()];
    for part in &parts {
        for &i in part {
            match seen.get_mut(i) {
                None => {
                    let why = format!("index {i} is out of range ({} operations)", ops.len());
                    return Err(CheckError::InvalidPartition(why));
                }
                Some(true) => {
                    let why = format!("operation {i} is in two parts");
                    return Err(CheckError::InvalidPartition(why));
                }
                Some(s) => *s = true,
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        let why = format!("operation {i} is in no part");
        return Err(CheckError::InvalidPartition(why));
    }
    Ok(parts)
}

/// Checks the parts on one thread per scratch space.
fn check_parallel<M>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    parts: &[Vec<usize>],
    order: &[usize],
    limits: &Limits<'_>,
    stop_on_violation: bool,
    scratch: &mut [Scratch],
) -> Vec<Option<PartResult>>
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
{
    let results: Vec<Mutex<Option<PartResult>>> = parts.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = |scratch: &mut Scratch| loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(&p) = order.get(k) else { break };
        if limits.cancel.load(Ordering::Relaxed) {
            break;
        }
        let result = check_part(model, ops, &parts[p], limits, scratch);
        if result.outcome == PartOutcome::NotLinearizable && stop_on_violation {
            limits.cancel.store(true, Ordering::Relaxed);
        }
        if let Ok(mut slot) = results[p].lock() {
            *slot = Some(result);
        }
    };
    std::thread::scope(|s| {
        for space in scratch.iter_mut() {
            s.spawn(|| work(space));
        }
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten())
        .collect()
}

/// The verdict from the parts' results (a part never checked was cancelled).
fn conclude(
    results: Vec<Option<PartResult>>,
    parts: Vec<Vec<usize>>,
    started: Instant,
) -> CheckResult {
    let parts: Vec<PartResult> = results
        .into_iter()
        .zip(parts)
        .map(|(result, part)| {
            result.unwrap_or_else(|| PartResult {
                ops: part,
                outcome: PartOutcome::Unknown(UnknownReason::Cancelled),
                linearization: Vec::new(),
                unplaced: Vec::new(),
                stats: SearchStats::default(),
            })
        })
        .collect();
    let verdict = if parts
        .iter()
        .any(|p| p.outcome == PartOutcome::NotLinearizable)
    {
        Verdict::NotLinearizable
    } else if parts.iter().all(|p| p.outcome == PartOutcome::Linearizable) {
        Verdict::Linearizable
    } else {
        Verdict::Unknown
    };
    CheckResult {
        verdict,
        parts,
        elapsed: started.elapsed(),
    }
}
