//! The event trace: every observable step of a run, hashed incrementally with a stable hash,
//! optionally kept in memory, and emitted through `tracing` (target `weft`) with simulated
//! time as the timestamp.

use serde::Serialize;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A task was spawned (`a` = parent task or u32::MAX).
    Spawn,
    /// A task was polled.
    Poll,
    /// A task ended (`a`: 0 normal, 1 panicked, 2 killed, 3 node crashed).
    Exit,
    /// A message was sent (`a` = message id, `b` = delivery time, or u64::MAX if dropped).
    Send,
    /// A message was delivered (`a` = message id, `b` = destination port).
    Deliver,
    /// A message was lost at delivery (`a` = message id; `b`: 0 partitioned, 1 node down,
    /// 2 no endpoint).
    Lost,
    /// A node crashed.
    Crash,
    /// A node restarted (`a` = incarnation).
    Restart,
    /// A node was paused.
    Pause,
    /// A node resumed.
    Resume,
    /// A link changed (`a` = from node, `b` = to node; `task` is 1 for blocked, 0 repaired).
    Link,
    /// A decision was drawn (`a` = kind, `b` = value).
    Decision,
    /// Time advanced to `a`.
    Time,
    /// A disk operation (`a`: 0 write, 1 fsync, 2 read, 3 error; `b` = bytes).
    Disk,
    /// An unsynced write met a crash (`a`: 0 kept, 1 lost, 2 torn; `b` = bytes kept).
    DiskCrash,
    /// A fault point fired.
    Buggify,
}

/// One trace event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Scheduling step.
    pub step: u64,
    /// Simulated time.
    pub time_ns: u64,
    /// Node index (u32::MAX: none).
    pub node: u32,
    /// Task index (u32::MAX: none).
    pub task: u32,
    /// What happened.
    pub kind: EventKind,
    /// First detail.
    pub a: u64,
    /// Second detail.
    pub b: u64,
}

/// The trace of a run.
pub(crate) struct Trace {
    pub hash: u64,
    pub events: Option<Vec<TraceEvent>>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl Trace {
    pub fn new(record: bool) -> Trace {
        Trace {
            hash: FNV_OFFSET,
            events: if record { Some(Vec::new()) } else { None },
        }
    }

    #[inline]
    pub fn record(&mut self, e: TraceEvent) {
        let mut h = self.hash;
        for word in [
            e.step,
            e.time_ns,
            u64::from(e.node) << 32 | u64::from(e.task),
            e.kind as u64,
            e.a,
            e.b,
        ] {
            h = mix(h ^ word);
        }
        self.hash = h;
        if let Some(events) = &mut self.events {
            events.push(e);
        }
        tracing::trace!(
            target: "weft",
            step = e.step,
            node = e.node,
            task = e.task,
            a = e.a,
            b = e.b,
            "{:?}",
            e.kind
        );
    }
}

/// A stable 64-bit mixing step (the splitmix64 finaliser over an FNV-style accumulator): the
/// same on every platform and release, unlike `std`'s hashers.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_mul(0x100_0000_01b3);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A `tracing_subscriber` timer that prints simulated time instead of wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimTimer;

impl tracing_subscriber::fmt::time::FormatTime for SimTimer {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        match crate::sim::world::try_with(|w| w.now) {
            Some(ns) => write!(w, "{:>14}", crate::sim::format_ns(ns)),
            None => write!(w, "{:>14}", "-"),
        }
    }
}

/// Installs a `tracing` subscriber that prints weft's trace to stderr with simulated time.
/// `filter` is a `tracing` level such as "trace" or "debug". Returns false if a global
/// subscriber was already set.
pub fn init_subscriber(level: tracing::Level) -> bool {
    tracing_subscriber::fmt()
        .with_timer(SimTimer)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init()
        .is_ok()
}
