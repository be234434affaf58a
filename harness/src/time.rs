//! Simulated time: a clock that only moves when no task is runnable, jumping to the next
//! timer. `sleep`, `timeout`, `interval`, [`Instant`], and per-node wall clocks with offset and
//! drift.

use crate::sim::world::{try_with, with, Event, EventKey, Wait, NONE};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A point in simulated monotonic time (nanoseconds since the start of the run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instant(u64);

impl Instant {
    /// The current simulated instant.
    pub fn now() -> Instant {
        Instant(with(|w| w.now))
    }

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `self`.
    pub fn elapsed(self) -> Duration {
        Duration::from_nanos(Instant::now().0.saturating_sub(self.0))
    }

    /// `self + d`.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(nanos(d)))
    }
}

/// Nanoseconds since the start of the run.
pub fn now_ns() -> u64 {
    with(|w| w.now)
}

/// The calling node's wall clock, in nanoseconds since an arbitrary epoch, with the node's
/// clock offset and drift applied. Never use it for timers: it may jump when clocks are
/// skewed. It is what a last-write-wins store would stamp its writes with.
pub fn wall_clock_ns() -> u64 {
    const EPOCH: i64 = 1_700_000_000_000_000_000;
    with(|w| {
        let node = &w.nodes[w.current_node() as usize];
        let now = w.now as i64;
        let drifted = now + now / 1_000_000 * node.clock_drift_ppm;
        (EPOCH + drifted + node.clock_offset_ns).max(0) as u64
    })
}

/// The simulated monotonic time ([`now_ns`]) and the calling node's wall clock
/// ([`wall_clock_ns`]), or `None` when not called from a simulated task (outside `Sim::run`, or
/// from the simulator's own code). For shims that stand in for the OS clock and fall back to it
/// elsewhere, such as weft-tokio's `clock_gettime`.
pub fn try_clocks() -> Option<(u64, u64)> {
    let now = try_with(|w| (w.here().1 != NONE).then_some(w.now)).flatten()?;
    // Inside a task and not borrowed: `wall_clock_ns` cannot fail here.
    Some((now, wall_clock_ns()))
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Waits until `duration` of simulated time has passed.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: with(|w| w.now).saturating_add(nanos(duration)),
        key: None,
    }
}

/// Waits until the given instant.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: deadline.0,
        key: None,
    }
}

/// Future returned by [`sleep`].
pub struct Sleep {
    deadline: u64,
    key: Option<EventKey>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let key = self.key;
        let (ready, key) = with(|w| {
            if w.now >= deadline {
                if let Some(key) = key {
                    w.cancel(key);
                }
                return (true, None);
            }
            w.set_wait(Wait::Sleep(deadline));
            match key {
                Some(key) if w.rearm(key, cx.waker()) => (false, Some(key)),
                _ => (false, w.schedule(deadline, Event::Wake(cx.waker().clone()))),
            }
        });
        self.key = key;
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            try_with(|w| w.cancel(key));
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

/// Runs `future` for at most `duration` of simulated time.
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

/// A periodic timer: the first tick completes at once, then every `period`.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "weft: interval period must be non-zero");
    Interval {
        next: with(|w| w.now),
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
        let now = with(|w| w.now);
        self.next = at + self.period * ((now - at) / self.period + 1);
        Instant(at)
    }
}
