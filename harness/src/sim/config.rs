//! Configuration of a simulation run: limits, network, faults, clocks and disks.

use serde::{Deserialize, Serialize};

/// Everything that shapes a run besides the decision sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Scheduling steps (task polls) before the run fails as a livelock.
    pub steps_max: u64,
    /// Simulated nanoseconds before the run fails as a livelock.
    pub sim_time_max_ns: u64,
    /// Tasks spawned in one run.
    pub tasks_max: usize,
    /// Pending timers and in-flight messages.
    pub events_max: usize,
    /// Messages queued in one mailbox.
    pub mailbox_capacity: usize,
    /// The network model.
    pub net: NetConfig,
    /// Background fault injection.
    pub faults: FaultConfig,
    /// Per-node clock offset and drift.
    pub clock: ClockConfig,
    /// Per-node disks.
    pub disk: DiskConfig,
    /// Whether named fault points (`weft::fault::buggify`) may fire.
    pub buggify: bool,
    /// How much of the run to keep for people: [`Detail::Explain`] keeps every trace event
    /// and a note on each non-default decision (for reports and the determinism check). The
    /// trace hash is always computed.
    pub detail: Detail,
}

/// How much of a run is kept besides its outcome, decisions and trace hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Detail {
    /// Nothing more: the fast path of a search.
    #[default]
    Quiet,
    /// The whole trace, a note in the system's terms on each non-default decision, and (for
    /// model-based cases) every command and result as text.
    Explain,
}

impl Detail {
    /// Whether this is [`Detail::Explain`].
    pub fn explains(self) -> bool {
        self == Detail::Explain
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            steps_max: 1_000_000,
            sim_time_max_ns: 3_600 * 1_000_000_000,
            tasks_max: 100_000,
            events_max: 1_000_000,
            mailbox_capacity: 10_000,
            net: NetConfig::default(),
            faults: FaultConfig::default(),
            clock: ClockConfig::default(),
            disk: DiskConfig::default(),
            buggify: false,
            detail: Detail::Quiet,
        }
    }
}

impl Config {
    /// Every fault kind switched on with moderate settings: message drop, duplication and
    /// reordering, node crash, restart, pause and partitions, clock skew and drift, torn
    /// unsynced writes, disk errors, and fault points. Clock faults at run time
    /// ([`FaultConfig::clock`]) stay off, so that recorded fault decisions keep their meaning.
    pub fn chaos() -> Config {
        Config {
            net: NetConfig {
                latency_min_ns: 100_000,
                latency_max_ns: 5_000_000,
                latency_buckets: 8,
                drop: true,
                duplicate: true,
                reorder: true,
            },
            faults: FaultConfig {
                interval_ns: 20_000_000,
                until_ns: 2_000_000_000,
                crash: true,
                partition: true,
                pause: true,
                clock: false,
            },
            clock: ClockConfig {
                offset_max_ns: 500_000_000,
                drift_max_ppm: 200,
                buckets: 5,
            },
            disk: DiskConfig {
                torn_writes: true,
                errors: true,
                latency_ns: 50_000,
            },
            buggify: true,
            ..Config::default()
        }
    }
}

/// The network model. Every message's latency is one of `latency_buckets` evenly spaced values
/// from `latency_min_ns` to `latency_max_ns`, chosen by a decision (0: the minimum).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetConfig {
    /// Minimum one-way latency.
    pub latency_min_ns: u64,
    /// Maximum one-way latency.
    pub latency_max_ns: u64,
    /// Number of latency options (at least 1).
    pub latency_buckets: u32,
    /// Messages may be dropped.
    pub drop: bool,
    /// Messages may be duplicated.
    pub duplicate: bool,
    /// Messages may overtake earlier ones on the same link; otherwise links are FIFO.
    pub reorder: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min_ns: 0,
            latency_max_ns: 0,
            latency_buckets: 1,
            drop: false,
            duplicate: false,
            reorder: false,
        }
    }
}

/// Background fault injection: every `interval_ns` until `until_ns`, a decision picks a fault
/// action (or none); at `until_ns` every fault is healed (crashed nodes restart, partitions
/// are repaired, paused nodes resume). Disabled when `interval_ns` is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Time between fault ticks; 0 disables background faults.
    pub interval_ns: u64,
    /// End of the fault window.
    pub until_ns: u64,
    /// Crash and restart nodes.
    pub crash: bool,
    /// Partition and repair the network.
    pub partition: bool,
    /// Pause and resume nodes.
    pub pause: bool,
    /// Step nodes' wall clocks (NTP steps, forwards or back, by up to
    /// `ClockConfig::offset_max_ns`) and change their drift (to up to
    /// `ClockConfig::drift_max_ppm` fast or slow). Off by default and in [`Config::chaos`]: it
    /// adds options to the fault decision, so turning it on changes what recorded fault
    /// decisions mean.
    pub clock: bool,
}

/// Per-node clocks: an offset of the wall clock and a drift of both clocks, drawn per node
/// when the node is added (the driver keeps true time). Drift applies to the node's timers
/// and `Instant` as well as to its wall clock; a drift is kept above -1,000,000 ppm (a clock
/// moves forwards) and at most 1,000,000 ppm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClockConfig {
    /// Largest absolute offset of a node's wall clock.
    pub offset_max_ns: u64,
    /// Largest absolute drift, in parts per million.
    pub drift_max_ppm: u32,
    /// Number of options on each side of zero.
    pub buckets: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            offset_max_ns: 0,
            drift_max_ppm: 0,
            buckets: 4,
        }
    }
}

/// Per-node disks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiskConfig {
    /// On a crash, each unsynced write may survive, be lost, or be torn (a decision).
    /// When false, unsynced writes are lost on a crash.
    pub torn_writes: bool,
    /// Disk operations may fail with an error (a decision).
    pub errors: bool,
    /// Simulated duration of each disk operation.
    pub latency_ns: u64,
}
