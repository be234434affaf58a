//! The entry point [`check`]: validation, P-compositional split into parts, parts checked on
//! several threads, bounds, and the results.

use crate::model::{Model, Operation};
use crate::search::{check_part, Limits};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounds and options of a check.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Give up (verdict [`Verdict::Unknown`]) after this long. `None`: no time bound.
    pub timeout: Option<Duration>,
    /// Give up when the memo caches of the parts being checked would hold more than this many
    /// bytes (heap memory owned by states themselves is not counted).
    pub max_memory_bytes: usize,
    /// Threads checking parts in parallel; 0 means the machine's available parallelism.
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
/// [`Verdict::Unknown`].
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
    let started = Instant::now();
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

    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match config.threads {
        0 => available,
        t => t,
    }
    .clamp(1, parts.len().max(1));
    let cancel = AtomicBool::new(false);
    let limits = Limits {
        deadline: config.timeout.map(|t| started + t),
        max_bytes: config.max_memory_bytes / threads,
        cancel: &cancel,
    };
    // Biggest parts first, for a better balance between threads.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&p| std::cmp::Reverse(parts[p].len()));
    let results: Vec<Mutex<Option<PartResult>>> = parts.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(&p) = order.get(k) else { break };
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let result = check_part(model, ops, &parts[p], &limits);
        if result.outcome == PartOutcome::NotLinearizable && config.stop_on_violation {
            cancel.store(true, Ordering::Relaxed);
        }
        if let Ok(mut slot) = results[p].lock() {
            *slot = Some(result);
        }
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let parts: Vec<PartResult> = results
        .into_iter()
        .zip(parts)
        .map(|(slot, part)| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| PartResult {
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
    Ok(CheckResult {
        verdict,
        parts,
        elapsed: started.elapsed(),
    })
}
