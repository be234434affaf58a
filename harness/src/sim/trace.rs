//! The event trace: every observable step of a run, hashed incrementally with a stable hash,
//! optionally kept in memory, and emitted through `tracing` (target `weft`) with simulated
//! time as the timestamp.

use super::world::ExitReason;
use crate::ids::{NodeId, TaskId};
use serde::Serialize;

// The detail codes of trace events: each encoded and decoded here, in one place.

impl ExitReason {
    /// The code of an [`EventKind::Exit`] event.
    pub(crate) fn code(&self) -> u64 {
        match self {
            ExitReason::Normal => 0,
            ExitReason::Panicked(_) => 1,
            ExitReason::Killed => 2,
            ExitReason::NodeCrashed => 3,
            ExitReason::NoSuchTask => 4,
        }
    }

    fn describe_code(code: u64) -> &'static str {
        match code {
            0 => "ended",
            1 => "panicked",
            2 => "was killed",
            3 => "died with its node",
            4 => "was monitored but did not exist",
            _ => "ended (unknown code)",
        }
    }
}

/// Why a message was lost at delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lost {
    /// The link from sender to receiver was blocked.
    Partitioned,
    /// The receiving node was down.
    NodeDown,
    /// Nothing was bound at the address.
    NoEndpoint,
}

impl Lost {
    pub(crate) fn code(self) -> u64 {
        match self {
            Lost::Partitioned => 0,
            Lost::NodeDown => 1,
            Lost::NoEndpoint => 2,
        }
    }

    fn describe_code(code: u64) -> &'static str {
        match code {
            0 => "partition",
            1 => "node down",
            2 => "no endpoint",
            _ => "unknown reason",
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A task was spawned (`a` = parent task, or u32::MAX when spawned outside a task).
    Spawn,
    /// A task was polled.
    Poll,
    /// A task ended (`a`: 0 returned, 1 panicked, 2 killed, 3 node crashed, 4 no such task).
    Exit,
    /// A message was sent (`a` = message id, `b` = delivery time, or u64::MAX if dropped).
    Send,
    /// A message was delivered (`a` = message id, `b` = destination port).
    Deliver,
    /// A message was lost at delivery (`a` = message id; `b`: why: 0 partitioned, 1 node down,
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
    /// A link changed (`node` = from, `a` = to node, `b`: 1 blocked, 0 repaired).
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
    /// A node's clock changed (`a`: 0 the wall clock stepped by `b` ns, 1 the drift became `b`
    /// ppm; `b` as a two's-complement `i64`).
    Clock,
}

/// One trace event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Scheduling step.
    pub step: u64,
    /// Simulated time.
    pub time_ns: u64,
    /// The node it happened on, if any.
    pub node: Option<NodeId>,
    /// The task that made it happen, if any.
    pub task: Option<TaskId>,
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
    /// The trace hash function in use (see [`TRACE_HASH_VERSION`]).
    legacy: bool,
    pub events: Option<Vec<TraceEvent>>,
    /// The run's step and time, and the first product of hash function 2 over them, already
    /// offset by the constant it is chained with (the same for every event until one of them
    /// moves: computed then, not at every event).
    step: u64,
    time_ns: u64,
    clock_key: u64,
    /// Whether an event needs nothing but folding with hash function 2: the trace is not
    /// kept, the function is version 2, and `tracing` does not want TRACE events (the level
    /// filter as of the last [`Trace::set_clock`], once per step: `World::event` then tests
    /// one flag).
    pub plain: bool,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The version of the trace hash function that runs use, recorded in replay files: a replay
/// compares its trace hash with the recorded one only under the function that recorded it.
///
/// - 1: each of the event's six words folded in turn through a splitmix64 finaliser (18
///   multiplications in one dependency chain per event).
/// - 2: the six words multiplied in three independent pairs (128-bit products folded to 64
///   bits) and chained into the hash with one more product: 4 multiplications, 3 of them in
///   parallel. Same fields, same stability (no `std` hasher, the same on every platform).
pub const TRACE_HASH_VERSION: u32 = 2;

thread_local! {
    /// The hash function of the runs started on this thread (see [`with_trace_hash_version`]).
    static HASH_VERSION: std::cell::Cell<u32> = const { std::cell::Cell::new(TRACE_HASH_VERSION) };
}

/// Runs `f` with the simulations it starts on this thread hashing their traces with hash
/// function `version` (1 or 2; see [`TRACE_HASH_VERSION`]): how a replay file recorded by an
/// older weft is checked against its recorded hash. `None` for a version this weft does not
/// know.
pub fn with_trace_hash_version<R>(version: u32, f: impl FnOnce() -> R) -> Option<R> {
    if !(1..=TRACE_HASH_VERSION).contains(&version) {
        return None;
    }
    let saved = HASH_VERSION.with(|v| v.replace(version));
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            HASH_VERSION.with(|v| v.set(self.0));
        }
    }
    let _restore = Restore(saved);
    Some(f())
}

impl Trace {
    pub fn new(record: bool) -> Trace {
        let mut trace = Trace {
            hash: FNV_OFFSET,
            legacy: HASH_VERSION.with(|v| v.get()) == 1,
            events: if record { Some(Vec::new()) } else { None },
            step: 0,
            time_ns: 0,
            clock_key: clock_product(0, 0) ^ K[6],
            plain: false,
        };
        trace.check_plain();
        trace
    }

    /// Sets [`Trace::plain`] from the trace's settings and `tracing`'s level filter now.
    #[inline(always)]
    pub fn check_plain(&mut self) {
        self.plain = !self.legacy
            && self.events.is_none()
            && tracing::Level::TRACE > tracing::level_filters::LevelFilter::current();
    }

    /// The run's step and time moved (the executor's only two writes of them).
    #[inline(always)]
    pub fn set_clock(&mut self, step: u64, time_ns: u64) {
        self.step = step;
        self.time_ns = time_ns;
        self.clock_key = clock_product(step, time_ns) ^ K[6];
        self.check_plain();
    }

    /// The step and time of the last [`Trace::set_clock`].
    pub fn clock(&self) -> (u64, u64) {
        (self.step, self.time_ns)
    }

    /// Folds an event at the current step and time (the last [`Trace::set_clock`]) into the
    /// hash: as [`Trace::fold`], with the product of the step and time already made.
    #[inline(always)]
    pub fn fold_now(
        &mut self,
        node: Option<NodeId>,
        task: Option<TaskId>,
        kind: EventKind,
        a: u64,
        b: u64,
    ) {
        if self.legacy {
            let words = [self.step, self.time_ns, who(node, task), kind as u64, a, b];
            self.hash = hash_v1(self.hash, words);
        } else {
            self.fold_plain(node, task, kind, a, b);
        }
    }

    /// [`Trace::fold_now`] for a plain trace ([`Trace::plain`]): hash function 2.
    #[inline(always)]
    pub fn fold_plain(
        &mut self,
        node: Option<NodeId>,
        task: Option<TaskId>,
        kind: EventKind,
        a: u64,
        b: u64,
    ) {
        debug_assert!(!self.legacy);
        // `m1 ^ K[6]` is the key: the two constants cancel.
        let words = [who(node, task), kind as u64, a, b];
        self.hash = hash_v2_after(self.hash, self.clock_key ^ K[6], words);
    }

    /// Folds `e` into the hash and keeps it if the trace is kept (the executor does both in
    /// `World::event`, the keeping out of line).
    #[cfg(test)]
    pub fn record(&mut self, e: TraceEvent) {
        self.fold(e);
        if let Some(events) = &mut self.events {
            events.push(e);
        }
    }

    /// Folds `e` into the hash (and nothing else).
    #[cfg(test)]
    pub fn fold(&mut self, e: TraceEvent) {
        let words = [
            e.step,
            e.time_ns,
            who(e.node, e.task),
            e.kind as u64,
            e.a,
            e.b,
        ];
        self.hash = if self.legacy {
            hash_v1(self.hash, words)
        } else {
            hash_v2(self.hash, words)
        };
    }
}

/// The hashed word of an event's node and task: each index in 32 bits, u32::MAX for none
/// (fixed: replay files store the hashes).
#[inline(always)]
fn who(node: Option<NodeId>, task: Option<TaskId>) -> u64 {
    u64::from(NodeId::code(node)) << 32 | u64::from(TaskId::code(task))
}

/// Hash function version 1 (see [`TRACE_HASH_VERSION`]).
#[inline]
fn hash_v1(mut h: u64, words: [u64; 6]) -> u64 {
    for word in words {
        h = mix(h ^ word);
    }
    h
}

/// Hash function version 2 (see [`TRACE_HASH_VERSION`]): wyhash's multiply-and-fold over
/// independent pairs, each word offset by its own odd constant (none of them a value an event
/// field can plausibly take, so no factor is zero), then chained with the previous hash,
/// which is also carried through a rotation so that no event can erase the history.
#[cfg(test)]
fn hash_v2(h: u64, [step, time, who, kind, a, b]: [u64; 6]) -> u64 {
    hash_v2_after(h, clock_product(step, time), [who, kind, a, b])
}

/// The constants of hash function 2.
const K: [u64; 8] = [
    0xa076_1d64_78bd_642f,
    0xe703_7ed1_a0b4_28db,
    0x8ebc_6af0_9c88_c6e3,
    0x5899_65cc_7537_4cc3,
    0x1d8e_4e27_c47d_124f,
    0xd6e8_feb8_6659_fd93,
    0x9e37_79b9_7f4a_7c15,
    0xbf58_476d_1ce4_e5b9,
];

/// Hash function 2's product of an event's step and time.
#[inline(always)]
fn clock_product(step: u64, time: u64) -> u64 {
    mum(step ^ K[0], time ^ K[1])
}

/// Hash function 2 given the product of the event's step and time (`m1`).
#[inline(always)]
fn hash_v2_after(h: u64, m1: u64, [who, kind, a, b]: [u64; 4]) -> u64 {
    let m2 = mum(who ^ K[2], kind ^ K[3]);
    let m3 = mum(a ^ K[4], b ^ K[5]);
    mum(h ^ m1 ^ K[6], m2 ^ m3.rotate_left(32) ^ K[7]) ^ h.rotate_left(23)
}

/// The 128-bit product of `a` and `b`, folded to 64 bits.
#[inline(always)]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// A readable line for a trace event (names resolved by the caller).
pub(crate) fn describe(e: &TraceEvent, node: &str, task: &str) -> String {
    use crate::decision::DecisionKind;
    let what = match e.kind {
        EventKind::Spawn => "spawned".to_string(),
        EventKind::Poll => "polled".to_string(),
        EventKind::Exit => ExitReason::describe_code(e.a).to_string(),
        EventKind::Send if e.b == u64::MAX => {
            format!("sent message #{} (lost: partition or drop)", e.a)
        }
        EventKind::Send => format!(
            "sent message #{}, arrives at {}",
            e.a,
            crate::sim::format_ns(e.b)
        ),
        EventKind::Deliver => format!("message #{} delivered to port {}", e.a, e.b),
        EventKind::Lost => format!("message #{} lost ({})", e.a, Lost::describe_code(e.b)),
        EventKind::Crash => "node crashed".to_string(),
        EventKind::Restart => format!("node restarted (incarnation {})", e.a),
        EventKind::Pause => "node paused".to_string(),
        EventKind::Resume => "node resumed".to_string(),
        EventKind::Link => format!(
            "link n{} -> n{} {}",
            NodeId::code(e.node),
            e.a,
            if e.b == 1 { "blocked" } else { "repaired" }
        ),
        EventKind::Decision => {
            let kind = DecisionKind::ALL
                .get(e.a as usize)
                .map_or("?", |k| k.name());
            format!("decision {kind} = {}", e.b)
        }
        EventKind::Time => format!("time advances to {}", crate::sim::format_ns(e.a)),
        EventKind::Disk => match e.a {
            0 => format!("disk write of {} bytes", e.b),
            1 => "disk fsync".to_string(),
            2 => format!("disk read of {} bytes", e.b),
            _ => "disk error injected".to_string(),
        },
        EventKind::DiskCrash => match e.a {
            0 => "unsynced write survived the crash".to_string(),
            1 => "unsynced write lost in the crash".to_string(),
            _ => format!("unsynced write torn in the crash ({} bytes kept)", e.b),
        },
        EventKind::Buggify => "fault point fired".to_string(),
        EventKind::Clock => match e.a {
            0 => format!("wall clock stepped by {}ns", e.b as i64),
            _ => format!("clock drift set to {}ppm", e.b as i64),
        },
    };
    let mut line = format!("step {:>5}", e.step);
    if !node.is_empty() {
        line.push_str(&format!(" [{node}]"));
    }
    if !task.is_empty() {
        line.push_str(&format!(" {task}:"));
    }
    line.push(' ');
    line.push_str(&what);
    line
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
#[cfg(feature = "tracing-subscriber")]
#[derive(Clone, Copy, Debug, Default)]
pub struct SimTimer;

#[cfg(feature = "tracing-subscriber")]
impl tracing_subscriber::fmt::time::FormatTime for SimTimer {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        match crate::sim::world::SIM_NOW.with(|n| n.get()) {
            u64::MAX => write!(w, "{:>10}", "-"),
            ns => write!(w, "{:>10}", crate::sim::format_ns(ns)),
        }
    }
}

/// Installs a `tracing` subscriber that prints weft's trace to stderr with simulated time.
/// `filter` is a `tracing` level such as "trace" or "debug". Returns false if a global
/// subscriber was already set.
#[cfg(feature = "tracing-subscriber")]
pub fn init_subscriber(level: tracing::Level) -> bool {
    tracing_subscriber::fmt()
        .with_timer(SimTimer)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn events() -> Vec<TraceEvent> {
        let kinds = [
            EventKind::Poll,
            EventKind::Send,
            EventKind::Decision,
            EventKind::Time,
        ];
        (0..40u64)
            .map(|i| TraceEvent {
                step: i / 3,
                time_ns: i / 5 * 1_000_000,
                node: Some(NodeId::from_index((i % 3) as usize)),
                task: Some(TaskId::from_index((i % 4) as usize)),
                kind: kinds[(i % 4) as usize],
                a: i % 2,
                b: i % 7,
            })
            .collect()
    }

    fn hash(version: u32, events: &[TraceEvent]) -> u64 {
        with_trace_hash_version(version, || {
            let mut trace = Trace::new(false);
            for e in events {
                trace.record(*e);
            }
            trace.hash
        })
        .expect("known version")
    }

    /// Every version separates traces that differ in one field of one event by one, or in the
    /// order of two events, or in length.
    #[test]
    fn every_hash_version_separates_nearby_traces() {
        for version in 1..=TRACE_HASH_VERSION {
            let base = events();
            let mut seen = BTreeSet::new();
            assert!(seen.insert(hash(version, &base)));
            assert!(seen.insert(hash(version, &base[..base.len() - 1])));
            for i in 0..base.len() {
                for field in 0..7 {
                    let mut changed = base.clone();
                    let e = &mut changed[i];
                    match field {
                        0 => e.step ^= 1,
                        1 => e.time_ns ^= 1,
                        2 => e.node = e.node.map(|n| NodeId::from_index(n.index() ^ 1)),
                        3 => e.task = e.task.map(|t| TaskId::from_index(t.index() ^ 1)),
                        4 => e.kind = EventKind::Buggify,
                        5 => e.a ^= 1,
                        _ => e.b ^= 1,
                    }
                    assert!(
                        seen.insert(hash(version, &changed)),
                        "v{version} {i} {field}"
                    );
                }
                if i + 1 < base.len() && base[i] != base[i + 1] {
                    let mut swapped = base.clone();
                    swapped.swap(i, i + 1);
                    assert!(seen.insert(hash(version, &swapped)), "v{version} swap {i}");
                }
            }
        }
    }

    /// Folding at the current clock (the executor's way) gives the hash that folding whole
    /// events gives, under every version.
    #[test]
    fn folding_at_the_clock_is_folding_the_event() {
        for version in 1..=TRACE_HASH_VERSION {
            let by_clock = with_trace_hash_version(version, || {
                let mut trace = Trace::new(false);
                for e in events() {
                    if trace.clock() != (e.step, e.time_ns) {
                        trace.set_clock(e.step, e.time_ns);
                    }
                    trace.fold_now(e.node, e.task, e.kind, e.a, e.b);
                }
                trace.hash
            });
            assert_eq!(by_clock, Some(hash(version, &events())), "v{version}");
        }
    }

    /// The hash functions are fixed: replay files store their values.
    #[test]
    fn hash_values_are_stable() {
        assert_eq!(with_trace_hash_version(0, || ()), None);
        assert_eq!(with_trace_hash_version(TRACE_HASH_VERSION + 1, || ()), None);
        let pinned: Vec<u64> = (1..=TRACE_HASH_VERSION)
            .map(|v| hash(v, &events()))
            .collect();
        assert_eq!(pinned, [0xbeb7_4e06_32b6_81d4, 0xc755_9db1_7886_840e]);
    }
}
