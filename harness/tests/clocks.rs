//! Per-node clocks: a node's timers and `Instant` follow its own monotonic clock (its drift),
//! its wall clock adds an offset that steps move, the driver keeps true time, and clocks
//! change at run time (`node::set_clock`, the fault injector), all on recorded decisions so
//! that every expectation is exact.

use std::time::Duration;
use weft::decision::DecisionKind;
use weft::node::{self, ClockChange};
use weft::task;
use weft::time::{self, Instant};
use weft::{ClockConfig, Config, Detail, NodeId, Sim, Source};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Answers each decision kind from a script (0 once a kind's script runs out); schedules
/// with the default.
struct Scripted(Vec<(DecisionKind, u64)>);

impl weft::strategy::Strategy for Scripted {
    fn next_task(&mut self, _: &[weft::TaskId]) -> usize {
        0
    }
    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        match self.0.iter().position(|(k, _)| *k == kind) {
            Some(i) => self.0.remove(i).1.min(bound - 1),
            None => 0,
        }
    }
    fn name(&self) -> &'static str {
        "scripted"
    }
}

fn scripted(script: &[(DecisionKind, u64)]) -> Source {
    Source::generate(Box::new(Scripted(script.to_vec())))
}

/// Drift of up to 10% (1 bucket each side): ClockDrift value 1 is +10%, 2 is -10%.
fn drifting(detail: Detail) -> Config {
    Config {
        clock: ClockConfig {
            offset_max_ns: 0,
            drift_max_ppm: 100_000,
            buckets: 1,
        },
        detail,
        ..Config::default()
    }
}

/// True time when `sleep(d)` ends on `node`, and the node's `Instant` elapsed across it.
async fn sleep_on(node: NodeId, d: Duration) -> (u64, Duration) {
    task::spawn_on(node, "sleeper", async move {
        let start = Instant::now();
        time::sleep(d).await;
        start.elapsed()
    })
    .await
    .map(|elapsed| (time::now_ns(), elapsed))
    .expect("the sleeper returns")
}

#[test]
fn a_fast_node_sleeps_less_true_time_and_its_instant_follows_its_clock() {
    // fast: +10% (ClockDrift 1), slow: -10% (ClockDrift 2).
    let source = scripted(&[(DecisionKind::ClockDrift, 1), (DecisionKind::ClockDrift, 2)]);
    let mut sim = Sim::new(drifting(Detail::Quiet), source);
    let fast = sim.add_node("fast", || async {});
    let slow = sim.add_node("slow", || async {});
    let (report, out) = sim.run(async move {
        let on_fast = sleep_on(fast, ms(110)).await;
        let start = time::now_ns();
        let on_slow = sleep_on(slow, ms(90)).await;
        (on_fast, (on_slow.0 - start, on_slow.1))
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let ((fast_true, fast_local), (slow_true, slow_local)) = out.unwrap();
    assert_eq!(fast_true, 100_000_000, "110ms on a clock 10% fast is 100ms");
    assert_eq!(fast_local, ms(110), "the node's own Instant saw 110ms");
    assert_eq!(slow_true, 100_000_000, "90ms on a clock 10% slow is 100ms");
    assert_eq!(slow_local, ms(90));
}

#[test]
fn timeout_and_interval_follow_the_node_clock_and_the_driver_keeps_true_time() {
    let source = scripted(&[(DecisionKind::ClockDrift, 1)]); // +10%
    let mut sim = Sim::new(drifting(Detail::Quiet), source);
    let fast = sim.add_node("fast", || async {});
    let (report, out) = sim.run(async move {
        let ticks = task::spawn_on(fast, "ticker", async {
            let mut interval = time::interval(ms(11));
            let mut true_times = Vec::new();
            for _ in 0..3 {
                interval.tick().await;
                true_times.push(time::true_now_ns());
            }
            let timed_out = time::timeout(ms(22), std::future::pending::<()>()).await;
            (true_times, timed_out.is_err(), time::true_now_ns())
        });
        let (ticks, timed_out, end) = ticks.await.unwrap();
        (ticks, timed_out, end, time::now_ns())
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let (ticks, timed_out, end, driver_now) = out.unwrap();
    assert_eq!(ticks, [0, 10_000_000, 20_000_000]);
    assert!(timed_out);
    assert_eq!(end, 40_000_000);
    assert_eq!(driver_now, end, "the driver reads true time");
}

#[test]
fn offset_and_drift_set_the_wall_clock_and_the_driver_is_never_skewed() {
    let cfg = Config {
        clock: ClockConfig {
            offset_max_ns: 1_000_000_000,
            drift_max_ppm: 100,
            buckets: 2,
        },
        ..Config::default()
    };
    // Node a: offset +1s (value 2 of 5), drift -50ppm (value 3); node b: no skew.
    let source = scripted(&[
        (DecisionKind::ClockOffset, 2),
        (DecisionKind::ClockDrift, 3),
    ]);
    let mut sim = Sim::new(cfg, source);
    let a = sim.add_node("a", || async {});
    let b = sim.add_node("b", || async {});
    let (report, out) = sim.run(async move {
        time::sleep(Duration::from_secs(10)).await;
        let read = |n: NodeId| {
            task::spawn_on(n, "clock", async {
                (time::wall_clock_ns(), time::now_ns())
            })
        };
        let ((wall_a, mono_a), (wall_b, mono_b)) = (read(a).await.unwrap(), read(b).await.unwrap());
        let drift = node::clock(a).drift_ppm;
        (
            wall_a as i64 - wall_b as i64,
            mono_a,
            mono_b,
            time::now_ns(),
            drift,
        )
    });
    assert!(report.outcome.failure().is_none());
    let (skew, mono_a, mono_b, now, drift) = out.unwrap();
    assert_eq!(now, 10_000_000_000, "the driver's clock is true time");
    assert_eq!(mono_b, now);
    assert_eq!(
        mono_a,
        now - 500_000,
        "a's monotonic clock lost 50ppm over 10s"
    );
    assert_eq!(skew, 1_000_000_000 - 500_000, "offset +1s, drift -50ppm");
    assert_eq!(drift, -50);
}

#[test]
fn a_drift_change_moves_pending_timers_and_a_step_moves_only_the_wall_clock() {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let b = sim.add_node("b", || async {});
    let (report, out) = sim.run(async move {
        let sleeper = task::spawn_on(b, "sleeper", async {
            let start = time::now_ns();
            time::sleep(ms(1_000)).await;
            (time::now_ns() - start, time::true_now_ns())
        });
        let clocks = |n: NodeId| {
            task::spawn_on(n, "clock", async {
                (time::now_ns(), time::wall_clock_ns())
            })
        };
        time::sleep(ms(100)).await;
        // From 100ms on, b's clock runs twice as fast: 900ms left on it is 450ms of true time.
        node::set_clock(b, ClockChange::Drift { ppm: 1_000_000 });
        let (local, ended_at) = sleeper.await.unwrap();
        let (mono, wall) = clocks(b).await.unwrap();
        node::set_clock(b, ClockChange::Step { by_ns: -40_000_000 });
        let (mono_after, wall_after) = clocks(b).await.unwrap();
        (
            local,
            ended_at,
            mono_after - mono,
            wall as i64 - wall_after as i64,
        )
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let (local, ended_at, mono_moved, wall_back) = out.unwrap();
    assert_eq!(local, 1_000_000_000, "the node saw its full second");
    assert_eq!(
        ended_at, 550_000_000,
        "100ms at the true rate, then 450ms at twice the rate"
    );
    assert_eq!(mono_moved, 0, "a step does not move the monotonic clock");
    assert_eq!(wall_back, 40_000_000, "the wall clock stepped 40ms back");
}

#[test]
fn the_driver_clock_cannot_be_changed_nor_a_clock_stopped() {
    let failure = |change: ClockChange, on: usize| {
        let mut sim = Sim::new(Config::default(), Source::zeros());
        sim.add_node("b", || async {});
        let report = sim
            .run(async move { node::set_clock(NodeId::from_index(on), change) })
            .0;
        report
            .outcome
            .failure()
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    let driver = failure(ClockChange::Step { by_ns: 5 }, 0);
    assert!(
        driver.contains("driver node's clock keeps true time"),
        "{driver}"
    );
    let stopped = failure(ClockChange::Drift { ppm: -1_000_000 }, 1);
    assert!(stopped.contains("out of range"), "{stopped}");
}

/// A run with clock faults on: one fault tick at 10ms, 2 nodes, the given script.
fn clock_faults(script: &[(DecisionKind, u64)]) -> weft::RunReport {
    let mut cfg = drifting(Detail::Explain);
    cfg.clock.offset_max_ns = 40_000_000;
    cfg.faults.interval_ns = 10_000_000;
    cfg.faults.until_ns = 15_000_000;
    cfg.faults.clock = true;
    let mut sim = Sim::new(cfg, scripted(script));
    sim.add_node("a", || async {});
    sim.add_node("b", || async {});
    sim.run(async { time::sleep(ms(20)).await }).0
}

#[test]
fn the_fault_injector_steps_clocks_and_changes_drift_with_notes_naming_node_and_change() {
    // Fault options: 0 none, 1 step, 2 drift. Target 1 is b. The nodes' offsets are drawn
    // first (ClockOffset 0, 0); the step's ClockOffset 2 is -40ms.
    let step = clock_faults(&[
        (DecisionKind::ClockOffset, 0),
        (DecisionKind::ClockOffset, 0),
        (DecisionKind::Fault, 1),
        (DecisionKind::FaultTarget, 1),
        (DecisionKind::ClockOffset, 2),
    ]);
    let texts: Vec<&str> = step.notes.iter().map(|n| n.text.as_str()).collect();
    assert!(
        texts.contains(&"fault injected: b's clock stepped 40ms back"),
        "{texts:?}"
    );
    assert!(texts.contains(&"b's clock stepped 40ms back"), "{texts:?}");
    // Nodes' drifts are drawn first (ClockDrift 0, 0), then the fault's: 1 is +10%.
    let drift = clock_faults(&[
        (DecisionKind::ClockDrift, 0),
        (DecisionKind::ClockDrift, 0),
        (DecisionKind::Fault, 2),
        (DecisionKind::ClockDrift, 1),
    ]);
    let texts: Vec<&str> = drift.notes.iter().map(|n| n.text.as_str()).collect();
    assert!(
        texts.contains(&"fault injected: a's clock ran 10% fast"),
        "{texts:?}"
    );
}

#[test]
fn without_clock_faults_the_fault_decision_keeps_its_options() {
    let mut cfg = Config::chaos();
    cfg.faults.until_ns = 30_000_000;
    let bounds = |cfg: Config| {
        let mut sim = Sim::new(cfg, Source::zeros());
        sim.add_node("a", || async {});
        let report = sim.run(async { time::sleep(ms(50)).await }).0;
        let log = report.log;
        (log.decisions.iter())
            .filter(|d| d.kind == DecisionKind::Fault)
            .map(|d| d.bound)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bounds(cfg.clone()),
        [8],
        "crash, restart, pause, resume, 3 partition kinds"
    );
    cfg.faults.clock = true;
    assert_eq!(bounds(cfg), [10], "and a clock step and a drift change");
}
