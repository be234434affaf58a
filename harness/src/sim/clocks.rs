//! Per-node clocks inside the executor, and the node's timers that follow them.
//!
//! Every node has a monotonic clock that runs at its own rate (its drift, in parts per
//! million of true time) and never goes backwards, and a wall clock that reads the monotonic
//! clock plus an offset; an NTP step moves only the offset. The driver node (the test's main
//! task and the models) keeps true time: its clock can be neither skewed nor changed.
//!
//! A timer (`weft::time::sleep`, and everything built on it) waits for a deadline on its
//! node's monotonic clock. Its wake-up is scheduled at the first true instant at which that
//! clock reaches the deadline; when the node's drift changes, every pending timer of the node
//! is rescheduled by the new rate. The timers of a node live in a small slab here so that
//! they can be found again (the event queue itself knows nothing of clocks).

use super::trace::EventKind;
use super::world::{Event, EventKey, World};
use crate::ids::NodeId;
use std::task::Waker;

/// Parts per million.
const PPM: i128 = 1_000_000;

/// A node's clocks. The monotonic clock is piecewise linear in true time: since the last
/// change of rate (at true time `base_true`, when it read `base_local`), it runs at
/// `1 + drift_ppm / 10^6` times the true rate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeClock {
    base_true: u64,
    base_local: u64,
    /// The rate, in parts per million fast (negative: slow); always above -10^6.
    pub drift_ppm: i64,
    /// The wall clock's offset from the monotonic clock.
    pub offset_ns: i64,
}

impl NodeClock {
    /// A clock that starts at true time 0 reading 0, with an offset and a drift.
    pub fn new(offset_ns: i64, drift_ppm: i64) -> NodeClock {
        NodeClock {
            base_true: 0,
            base_local: 0,
            drift_ppm,
            offset_ns,
        }
    }

    /// The monotonic clock's reading at true time `t` (`t` no earlier than the last change).
    pub fn local_at(&self, t: u64) -> u64 {
        let elapsed = t.saturating_sub(self.base_true);
        if self.drift_ppm == 0 {
            return self.base_local.saturating_add(elapsed);
        }
        // The rate is positive (`check_drift`); in 64 bits while the product fits (runs of up
        // to about 2.5 simulated hours since the last change of rate), else in 128.
        let rate = (PPM + i128::from(self.drift_ppm)) as u64;
        let local = match elapsed.checked_mul(rate) {
            Some(product) => product / PPM as u64,
            None => u64::try_from(i128::from(elapsed) * i128::from(rate) / PPM).unwrap_or(u64::MAX),
        };
        self.base_local.saturating_add(local)
    }

    /// The first true instant, no earlier than `now`, at which the monotonic clock reads at
    /// least `local`.
    pub fn true_at(&self, local: u64, now: u64) -> u64 {
        let Some(ahead) = local.checked_sub(self.base_local).filter(|&a| a > 0) else {
            return now;
        };
        if self.drift_ppm == 0 {
            return self.base_true.saturating_add(ahead).max(now);
        }
        // floor(e * r / PPM) >= ahead  <=>  e >= ceil(ahead * PPM / r), with r > 0.
        let rate = PPM + i128::from(self.drift_ppm);
        let fast = (ahead.checked_mul(PPM as u64))
            .and_then(|scaled| scaled.checked_add(rate as u64 - 1))
            .map(|numerator| numerator / rate as u64);
        let elapsed = fast.unwrap_or_else(|| {
            u64::try_from((i128::from(ahead) * PPM + rate - 1) / rate).unwrap_or(u64::MAX)
        });
        let at = elapsed.saturating_add(self.base_true);
        at.max(now)
    }

    /// The wall clock's reading at true time `t`, in nanoseconds since `epoch`.
    pub fn wall_at(&self, t: u64, epoch: i64) -> u64 {
        let local = i128::from(self.local_at(t));
        (i128::from(epoch) + local + i128::from(self.offset_ns)).clamp(0, i128::from(u64::MAX))
            as u64
    }

    /// From true time `now` on, the clock runs `drift_ppm` fast.
    fn set_drift(&mut self, now: u64, drift_ppm: i64) {
        self.base_local = self.local_at(now);
        self.base_true = now;
        self.drift_ppm = drift_ppm;
    }
}

/// The drift a clock may have: it must move forwards.
pub(crate) fn check_drift(ppm: i64) -> Result<(), String> {
    if ppm <= -1_000_000 || ppm > 1_000_000 {
        return Err(format!(
            "a clock drift of {ppm} ppm is out of range (above -1000000, at most 1000000: a \
             clock runs forwards, at most twice as fast as true time)"
        ));
    }
    Ok(())
}

/// A node's pending timers.
#[derive(Default)]
pub(crate) struct Timers {
    slots: Vec<TimerSlot>,
    free: Vec<u32>,
}

struct TimerSlot {
    generation: u32,
    live: bool,
    /// The deadline on the node's monotonic clock.
    local: u64,
    /// The wake-up scheduled for it (stale once it fired).
    event: Option<EventKey>,
}

/// A handle to a node's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    generation: u32,
}

impl Timers {
    fn get(&mut self, key: TimerKey) -> Option<&mut TimerSlot> {
        self.slots
            .get_mut(key.slot as usize)
            .filter(|s| s.live && s.generation == key.generation)
    }

    fn insert(&mut self, local: u64, event: Option<EventKey>) -> TimerKey {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(TimerSlot {
                    generation: 0,
                    live: false,
                    local: 0,
                    event: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        s.live = true;
        s.local = local;
        s.event = event;
        TimerKey {
            slot,
            generation: s.generation,
        }
    }

    fn remove(&mut self, key: TimerKey) -> Option<EventKey> {
        let s = self.get(key)?;
        s.live = false;
        s.generation = s.generation.wrapping_add(1);
        let event = s.event.take();
        self.free.push(key.slot);
        event
    }
}

/// A change to a node's clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClockEdit {
    /// The wall clock steps by this many nanoseconds (negative: back).
    Step(i64),
    /// The clocks run this many parts per million fast from now on (negative: slow).
    Drift(i64),
}

impl ClockEdit {
    /// The trace event's details.
    fn code(self) -> (u64, u64) {
        match self {
            ClockEdit::Step(by) => (0, by as u64),
            ClockEdit::Drift(ppm) => (1, ppm as u64),
        }
    }

    /// "b's clock stepped 40ms back", "b's clock ran 1.2% fast".
    pub fn describe(self, node: &str) -> String {
        match self {
            ClockEdit::Step(0) => format!("{node}'s clock was stepped by 0 (no change)"),
            ClockEdit::Step(by) => format!(
                "{node}'s clock stepped {} {}",
                super::format_ns(by.unsigned_abs()),
                if by > 0 { "forward" } else { "back" }
            ),
            ClockEdit::Drift(ppm) => format!("{node}'s clock ran {}", describe_rate(ppm)),
        }
    }
}

/// "1.2% fast", "200ppm slow", "at the true rate".
pub(crate) fn describe_rate(ppm: i64) -> String {
    let size = ppm.unsigned_abs();
    let way = if ppm > 0 { "fast" } else { "slow" };
    if ppm == 0 {
        "at the true rate".to_string()
    } else if size >= 1_000 {
        let percent = size as f64 / 10_000.0;
        format!("{}% {way}", (percent * 1_000.0).round() / 1_000.0)
    } else {
        format!("{size}ppm {way}")
    }
}

impl World {
    /// The node whose clock the calling code reads: the running task's, else the driver's.
    pub fn clock_node(&self) -> NodeId {
        self.here().0.unwrap_or(NodeId::DRIVER)
    }

    /// `node`'s monotonic clock now.
    pub fn local_now(&self, node: NodeId) -> u64 {
        self.nodes[node.index()].clock.local_at(self.now)
    }

    /// Arms a timer of `node` for the local `deadline` that wakes `waker`: rearms `key` if it
    /// is still pending, else schedules a new wake-up. `None` when the event limit is hit
    /// (the run fails).
    pub fn timer_arm(
        &mut self,
        node: NodeId,
        key: Option<TimerKey>,
        deadline: u64,
        waker: &Waker,
    ) -> Option<TimerKey> {
        if let Some(key) = key {
            let pending = match self.nodes[node.index()].timers.get(key) {
                Some(slot) if slot.local == deadline => slot.event,
                _ => None,
            };
            if pending.is_some_and(|event| self.rearm(event, waker)) {
                return Some(key);
            }
            self.timer_cancel(node, key);
        }
        let at = self.nodes[node.index()].clock.true_at(deadline, self.now);
        let event = self.schedule(at, Event::Wake(waker.clone()))?;
        Some(
            self.nodes[node.index()]
                .timers
                .insert(deadline, Some(event)),
        )
    }

    /// Cancels a timer of `node` (no effect if it is gone).
    pub fn timer_cancel(&mut self, node: NodeId, key: TimerKey) {
        let Some(n) = self.nodes.get_mut(node.index()) else {
            return;
        };
        if let Some(event) = n.timers.remove(key) {
            self.cancel(event);
        }
    }

    /// Applies `edit` to `node`'s clocks now, traced; a drift change reschedules the node's
    /// pending timers by the new rate.
    pub(crate) fn edit_clock(&mut self, node: NodeId, edit: ClockEdit) {
        assert!(
            node != NodeId::DRIVER,
            "weft: the driver node's clock keeps true time"
        );
        let (a, b) = edit.code();
        self.event(Some(node), None, EventKind::Clock, a, b);
        let now = self.now;
        let clock = &mut self.nodes[node.index()].clock;
        match edit {
            ClockEdit::Step(by) => clock.offset_ns = clock.offset_ns.saturating_add(by),
            ClockEdit::Drift(ppm) => {
                clock.set_drift(now, ppm);
                self.reschedule_timers(node);
            }
        }
    }

    /// Moves every pending wake-up of `node`'s timers to the true instant at which the node's
    /// clock now reaches its deadline, in slot order.
    fn reschedule_timers(&mut self, node: NodeId) {
        let count = self.nodes[node.index()].timers.slots.len();
        for slot in 0..count {
            let n = &self.nodes[node.index()];
            let s = &n.timers.slots[slot];
            let (true, Some(event)) = (s.live, s.event) else {
                continue;
            };
            let at = n.clock.true_at(s.local, self.now);
            // A wake-up that already fired is gone from the queue: nothing to move.
            let Some(Event::Wake(waker)) = self.cancel(event) else {
                continue;
            };
            let moved = self.schedule(at, Event::Wake(waker));
            self.nodes[node.index()].timers.slots[slot].event = moved;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_reaches_a_deadline_early_and_the_inverse_is_exact() {
        let clock = NodeClock::new(0, 12_000); // 1.2% fast
        assert_eq!(clock.local_at(1_000_000_000), 1_012_000_000);
        let at = clock.true_at(1_012_000_000, 0);
        assert_eq!(at, 1_000_000_000);
        for local in [1, 999, 1_000_001, 123_456_789] {
            let at = clock.true_at(local, 0);
            assert!(clock.local_at(at) >= local, "{local}");
            assert!(
                clock.local_at(at - 1) < local,
                "{local}: not the first instant"
            );
        }
    }

    /// The 128-bit arithmetic the 64-bit fast paths must agree with.
    fn reference(clock: &NodeClock, t: u64, local: u64) -> (u64, u64) {
        let rate = PPM + i128::from(clock.drift_ppm);
        let elapsed = i128::from(t.saturating_sub(clock.base_true));
        let read = u64::try_from(elapsed * rate / PPM).unwrap_or(u64::MAX);
        let ahead = i128::from(local - clock.base_local);
        let at = u64::try_from((ahead * PPM + rate - 1) / rate).unwrap_or(u64::MAX);
        (
            clock.base_local.saturating_add(read),
            at.saturating_add(clock.base_true),
        )
    }

    #[test]
    fn the_64_bit_paths_agree_with_128_bit_arithmetic_near_and_past_overflow() {
        let times = [
            1,
            999_999,
            7 << 40,
            u64::MAX / 2_000_000,
            u64::MAX / 999_999,
            u64::MAX,
        ];
        for drift in [-999_999, -500_000, -1, 1, 12_000, 999_999, 1_000_000] {
            let clock = NodeClock::new(0, drift);
            for &t in &times {
                let (read, _) = reference(&clock, t, 1);
                assert_eq!(clock.local_at(t), read, "local_at({t}) at {drift} ppm");
                let (_, at) = reference(&clock, 0, t);
                assert_eq!(clock.true_at(t, 0), at, "true_at({t}) at {drift} ppm");
            }
        }
    }

    #[test]
    fn a_rate_change_keeps_the_reading_and_the_clock_never_goes_back() {
        let mut clock = NodeClock::new(0, -500_000); // half speed
        assert_eq!(clock.local_at(2_000), 1_000);
        clock.set_drift(2_000, 0);
        assert_eq!(clock.local_at(2_000), 1_000);
        assert_eq!(clock.local_at(3_000), 2_000);
        assert_eq!(clock.true_at(1_500, 2_000), 2_500);
        assert_eq!(
            clock.true_at(10, 2_000),
            2_000,
            "a past deadline is due now"
        );
    }

    #[test]
    fn rates_read_as_people_say_them() {
        assert_eq!(describe_rate(12_000), "1.2% fast");
        assert_eq!(describe_rate(-200), "200ppm slow");
        assert_eq!(
            ClockEdit::Step(-40_000_000).describe("b"),
            "b's clock stepped 40ms back"
        );
        assert!(check_drift(-1_000_000).is_err());
        assert!(check_drift(999_999).is_ok());
    }
}
