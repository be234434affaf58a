//! Simulated time: a clock that only moves when no task is runnable, jumping to the next
//! timer. `sleep`, `timeout`, `interval`, [`Instant`], and per-node clocks.
//!
//! Every node has its own clocks, as real machines do: a monotonic clock that runs at the
//! node's rate (its drift, in parts per million; it never goes backwards), which
//! [`Instant`], [`now_ns`], [`sleep`], [`sleep_until`], [`timeout`] and [`interval`] follow,
//! and a wall clock ([`wall_clock_ns`]) that reads the monotonic clock plus an offset, which
//! NTP-like steps move. A node whose clock runs 1% fast sees a `sleep(100ms)` end after about
//! 99 ms of true time. Drift and offset are drawn per node when it is added (`ClockConfig`),
//! and change at run time through [`crate::node::set_clock`] or the fault injector
//! (`FaultConfig::clock`); a drift change moves the node's pending timers to the new rate.
//!
//! Code on the driver node (the test's main task, the models) reads true time: the driver's
//! clock is never skewed. An [`Instant`] read on one node means nothing on another node whose
//! clock runs at another rate, as two machines' `CLOCK_MONOTONIC` readings do not compare; a
//! [`Sleep`] follows the clock of the node on which it was created.

use crate::ids::NodeId;
use crate::sim::clocks::TimerKey;
use crate::sim::world::{try_with, with, Wait};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A point on a node's monotonic clock (nanoseconds since the start of the run, as that
/// node's clock counts them). Compare instants read on the same node only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instant(u64);

impl Instant {
    /// The calling node's monotonic clock now.
    pub fn now() -> Instant {
        Instant(now_ns())
    }

    /// Nanoseconds since the start of the run, on the clock it was read from.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `self`, on the calling node's clock.
    pub fn elapsed(self) -> Duration {
        Duration::from_nanos(Instant::now().0.saturating_sub(self.0))
    }

    /// `self + d`.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(nanos(d)))
    }
}

/// The calling node's monotonic clock: nanoseconds since the start of the run as the node's
/// clock counts them. On the driver node (and outside any task) it is true simulated time.
pub fn now_ns() -> u64 {
    with(|w| w.local_now(w.clock_node()))
}

/// The simulation's true time (nanoseconds since the start of the run), the same on every
/// node: for test code (models, oracles, checks that compare what happened on different
/// nodes), never for the system under test, which could not read it on real machines. On the
/// driver node it equals [`now_ns`].
pub fn true_now_ns() -> u64 {
    with(|w| w.now)
}

const EPOCH: i64 = 1_700_000_000_000_000_000;

/// The calling node's wall clock, in nanoseconds since an arbitrary epoch: its monotonic
/// clock plus the node's offset. Never use it for timers: it jumps when the clock is stepped.
/// It is what a last-write-wins store would stamp its writes with.
pub fn wall_clock_ns() -> u64 {
    with(|w| {
        let node = w.current_node();
        w.nodes[node.index()].clock.wall_at(w.now, EPOCH)
    })
}

/// The calling node's monotonic clock ([`now_ns`]) and wall clock ([`wall_clock_ns`]), or
/// `None` when not called from a simulated task (outside `Sim::run`, or from the simulator's
/// own code). For shims that stand in for the OS clock and fall back to it elsewhere, such as
/// weft-tokio's `clock_gettime` (`CLOCK_MONOTONIC` is the first, `CLOCK_REALTIME` the second).
pub fn try_clocks() -> Option<(u64, u64)> {
    try_with(|w| {
        w.here().0.map(|node| {
            let clock = &w.nodes[node.index()].clock;
            (clock.local_at(w.now), clock.wall_at(w.now, EPOCH))
        })
    })
    .flatten()
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Waits until `duration` has passed on the calling node's clock.
pub fn sleep(duration: Duration) -> Sleep {
    let (node, now) = with(|w| {
        let node = w.clock_node();
        (node, w.local_now(node))
    });
    Sleep {
        node,
        deadline: now.saturating_add(nanos(duration)),
        timer: None,
    }
}

/// Waits until the calling node's clock reads `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        node: with(|w| w.clock_node()),
        deadline: deadline.0,
        timer: None,
    }
}

/// Future returned by [`sleep`]: waits for a deadline on the clock of the node it was created
/// on.
pub struct Sleep {
    node: NodeId,
    deadline: u64,
    timer: Option<TimerKey>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (node, deadline, timer) = (self.node, self.deadline, self.timer);
        let (ready, timer) = with(|w| {
            if w.local_now(node) >= deadline {
                if let Some(timer) = timer {
                    w.timer_cancel(node, timer);
                }
                return (true, None);
            }
            let timer = w.timer_arm(node, timer, deadline, cx.waker());
            let at = w.nodes[node.index()].clock.true_at(deadline, w.now);
            w.set_wait(Wait::Sleep(at));
            (false, timer)
        });
        self.timer = timer;
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            try_with(|w| w.timer_cancel(self.node, timer));
        }
    }
}

/// The future did not finish in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future` for at most `duration` on the calling node's clock.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Future returned by [`timeout`].
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned and never moved; `sleep` is Unpin.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A periodic timer on the calling node's clock: the first tick completes at once, then every
/// `period`.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "weft: interval period must be non-zero");
    Interval {
        next: now_ns(),
        period: nanos(period),
    }
}

/// Periodic timer returned by [`interval`].
pub struct Interval {
    next: u64,
    period: u64,
}

impl Interval {
    /// Waits for the next tick and returns its instant. Missed ticks are skipped.
    pub async fn tick(&mut self) -> Instant {
        let at = self.next;
        sleep_until(Instant(at)).await;
        let now = now_ns();
        self.next = at + self.period * ((now - at) / self.period + 1);
        Instant(at)
    }
}
