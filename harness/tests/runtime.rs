//! Behaviour of the simulated runtime, one property per test, all on all-zero or recorded
//! decision sequences so that every expectation is exact.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use weft::decision::{DecisionKind, DecisionLog};
use weft::net::{self, Addr, Endpoint, Request};
use weft::node;
use weft::strategy::{Random, Rates};
use weft::task::{self, ExitReason};
use weft::time::{self, Instant};
use weft::{Config, Detail, FailureKind, RunReport, Sim, Source};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `main` with all-zero decisions on a fresh simulation.
fn run_zeros<T: 'static>(
    cfg: Config,
    main: impl std::future::Future<Output = T> + 'static,
) -> (RunReport, Option<T>) {
    Sim::new(cfg, Source::zeros()).run(main)
}

/// A strategy that schedules with the default and answers other decisions from a script per
/// kind (0 once a kind's script runs out).
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

fn failure_kind(report: &RunReport) -> Option<FailureKind> {
    report.outcome.failure().map(|f| f.kind)
}

#[test]
fn time_jumps_to_the_next_timer_and_sleepers_wake_in_deadline_order() {
    let (report, order) = run_zeros(Config::default(), async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for (name, delay) in [("slow", 5), ("fast", 3), ("mid", 4)] {
            let order = order.clone();
            handles.push(weft::task::spawn(async move {
                time::sleep(ms(delay)).await;
                order.borrow_mut().push((name, time::now_ns()));
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let order = order.borrow().clone();
        order
    });
    assert!(report.outcome.failure().is_none());
    assert_eq!(
        order.unwrap(),
        vec![("fast", 3_000_000), ("mid", 4_000_000), ("slow", 5_000_000)]
    );
    assert_eq!(report.sim_time_ns, 5_000_000);
}

#[test]
fn timeout_fires_at_exactly_its_deadline_and_interval_ticks() {
    let (_, out) = run_zeros(Config::default(), async {
        let start = Instant::now();
        let r = time::timeout(ms(10), time::sleep(ms(50))).await;
        let first = (r.is_err(), start.elapsed());
        let ok = time::timeout(ms(10), async { 7 }).await;
        let mut interval = time::interval(ms(4));
        let mut ticks = Vec::new();
        for _ in 0..3 {
            ticks.push(interval.tick().await.as_nanos());
        }
        (first, ok, ticks)
    });
    let ((elapsed_err, elapsed), ok, ticks) = out.unwrap();
    assert!(elapsed_err);
    assert_eq!(elapsed, ms(10));
    assert_eq!(ok, Ok(7));
    assert_eq!(ticks, vec![10_000_000, 14_000_000, 18_000_000]);
}

#[test]
fn a_cancelled_timer_does_not_advance_time() {
    let (report, _) = run_zeros(Config::default(), async {
        let _ = time::timeout(ms(1000), async {}).await;
    });
    assert_eq!(report.sim_time_ns, 0);
}

#[test]
fn call_to_a_silent_server_times_out() {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let silent = sim.add_node("silent", || async {
        let endpoint = Endpoint::<Request<u8, u8>>::bind(1).unwrap();
        loop {
            let _ = endpoint.recv().await; // never replies
        }
    });
    let (report, out) =
        sim.run(async move { net::call::<u8, u8>(Addr::new(silent, 1), 1, ms(30)).await });
    assert_eq!(out, Some(Err(net::CallError::Timeout)));
    assert_eq!(report.sim_time_ns, 30_000_000);
}

#[test]
fn deadlock_is_reported_with_what_each_task_waits_on() {
    let (report, _) = run_zeros(Config::default(), async {
        let endpoint = Endpoint::<u32>::bind(7).unwrap();
        let helper = weft::task::spawn_named("helper", async {
            let e = Endpoint::<u32>::bind(8).unwrap();
            e.recv().await
        });
        let _ = endpoint.recv().await;
        let _ = helper.await;
    });
    let failure = report.outcome.failure().expect("deadlock");
    assert_eq!(failure.kind, FailureKind::Deadlock);
    let waits: Vec<(String, String)> = failure
        .blocked
        .iter()
        .map(|b| (b.name.clone(), b.waiting_on.clone()))
        .collect();
    assert_eq!(
        waits,
        vec![
            ("main".to_string(), "a message on driver:7".to_string()),
            ("helper".to_string(), "a message on driver:8".to_string()),
        ]
    );
}

#[test]
fn a_panic_in_a_task_is_caught_and_named() {
    let (report, _) = run_zeros(Config::default(), async {
        let h = weft::task::spawn_named("worker", async {
            time::sleep(ms(2)).await;
            panic!("boom");
        });
        let _ = h.await;
    });
    let f = report.outcome.failure().unwrap();
    assert_eq!(f.kind, FailureKind::Panic);
    assert!(f.message.starts_with("boom"), "{}", f.message);
    assert_eq!(f.task.as_deref(), Some("1 (worker)"));
    assert_eq!(f.node.as_deref(), Some("driver"));
    assert_eq!(f.time_ns, 2_000_000);
}

#[test]
fn check_failures_are_their_own_kind() {
    let (report, _) = run_zeros(Config::default(), async {
        weft::ensure!(1 + 1 == 3, "arithmetic is broken: {}", 2);
    });
    let f = report.outcome.failure().unwrap();
    assert_eq!(
        (f.kind, f.message.as_str()),
        (FailureKind::Check, "arithmetic is broken: 2")
    );
}

#[test]
fn budgets_are_named_failures() {
    let cfg = Config {
        steps_max: 100,
        ..Config::default()
    };
    let (report, _) = run_zeros(cfg, async {
        loop {
            task::yield_now().await;
        }
    });
    assert_eq!(failure_kind(&report), Some(FailureKind::StepsExceeded));
    assert_eq!(report.steps, 101);

    let cfg = Config {
        sim_time_max_ns: 10_000_000_000,
        ..Config::default()
    };
    let (report, _) = run_zeros(cfg, async {
        loop {
            time::sleep(Duration::from_secs(1)).await;
        }
    });
    assert_eq!(failure_kind(&report), Some(FailureKind::TimeExceeded));
    assert_eq!(report.sim_time_ns, 10_000_000_000);
}

#[test]
fn limits_are_named_failures() {
    let cfg = Config {
        mailbox_capacity: 2,
        ..Config::default()
    };
    let (report, _) = run_zeros(cfg, async {
        let endpoint = Endpoint::<u8>::bind(1).unwrap();
        for i in 0..3u8 {
            endpoint.send(endpoint.addr(), i);
        }
        time::sleep(ms(1)).await;
    });
    let f = report.outcome.failure().unwrap();
    assert_eq!(f.kind, FailureKind::LimitExceeded);
    assert!(f.message.contains("mailbox_capacity"), "{}", f.message);

    let cfg = Config {
        tasks_max: 10,
        ..Config::default()
    };
    let (report, _) = run_zeros(cfg, async {
        for _ in 0..20 {
            weft::task::spawn(async {});
        }
    });
    assert!(report
        .outcome
        .failure()
        .unwrap()
        .message
        .contains("tasks_max"));
}

#[test]
fn crash_loses_memory_and_unsynced_writes_restart_reruns_init() {
    let boots = Rc::new(RefCell::new(Vec::new()));
    let log = boots.clone();
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let n = sim.add_node("store", move || {
        let log = log.clone();
        async move {
            let seen = weft::disk::read("data").await.unwrap_or_default();
            log.borrow_mut().push(seen);
            weft::disk::write("data", 0, b"synced").await.unwrap();
            weft::disk::fsync("data").await.unwrap();
            weft::disk::append("data", b"+unsynced").await.unwrap();
            time::sleep(Duration::from_secs(100)).await;
        }
    });
    let (report, _) = sim.run(async move {
        time::sleep(ms(1)).await;
        node::crash(n);
        time::sleep(ms(1)).await;
        assert!(!node::is_up(n));
        node::restart(n);
        time::sleep(ms(1)).await;
        assert_eq!(node::incarnation(n), 1);
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    assert_eq!(*boots.borrow(), vec![Vec::new(), b"synced".to_vec()]);
}

#[test]
fn torn_writes_keep_a_prefix_chosen_by_a_decision() {
    // Decisions in order: the crash meets one unsynced write: fate 2 (torn), then 3 bytes kept.
    let cfg = Config {
        disk: weft::DiskConfig {
            torn_writes: true,
            ..Default::default()
        },
        ..Config::default()
    };
    let source = scripted(&[(DecisionKind::DiskTorn, 2), (DecisionKind::DiskTorn, 3)]);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let mut sim = Sim::new(cfg, source);
    let n = sim.add_node("store", move || {
        let seen = s2.clone();
        async move {
            let data = weft::disk::read("f").await.unwrap_or_default();
            seen.borrow_mut().push(data);
            if seen.borrow().len() == 1 {
                weft::disk::write("f", 0, b"abcdefgh").await.unwrap();
            }
            time::sleep(Duration::from_secs(1)).await;
        }
    });
    let (report, _) = sim.run(async move {
        time::sleep(ms(1)).await;
        node::crash(n);
        time::sleep(ms(1)).await;
        node::restart(n);
        time::sleep(ms(1)).await;
    });
    assert!(report.outcome.failure().is_none());
    assert_eq!(*seen.borrow(), vec![Vec::new(), b"abc".to_vec()]);
}

#[test]
fn partitions_drop_messages_until_repaired() {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let echo = sim.add_node("echo", || async {
        let endpoint = Endpoint::<Request<u32, u32>>::bind(1).unwrap();
        loop {
            let (_, r) = endpoint.recv().await;
            r.reply(r.body);
        }
    });
    let (_, out) = sim.run(async move {
        let to = Addr::new(echo, 1);
        let driver = node::current();
        let mut results = Vec::new();
        net::partition(driver, echo);
        results.push(net::call::<u32, u32>(to, 1, ms(5)).await.is_ok());
        net::repair(driver, echo);
        results.push(net::call::<u32, u32>(to, 2, ms(5)).await.is_ok());
        net::partition_oneway(echo, driver); // requests arrive, replies do not
        results.push(net::call::<u32, u32>(to, 3, ms(5)).await.is_ok());
        net::repair_all();
        net::isolate(echo);
        results.push(net::call::<u32, u32>(to, 4, ms(5)).await.is_ok());
        net::repair_all();
        net::split(&[&[driver], &[echo]]);
        results.push(net::call::<u32, u32>(to, 5, ms(5)).await.is_ok());
        results
    });
    assert_eq!(out.unwrap(), vec![false, true, false, false, false]);
}

#[derive(Clone, Debug, PartialEq)]
enum Notice {
    Down(u32, ExitReason),
}

#[test]
fn monitors_report_how_a_task_ended() {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let remote = sim.add_node("remote", || async {
        time::sleep(Duration::from_secs(100)).await;
    });
    let (report, out) = sim.run(async move {
        let inbox = Endpoint::<Notice>::bind(5).unwrap();
        let sleeper = weft::task::spawn(time::sleep(Duration::from_secs(100)));
        let finisher = weft::task::spawn(async { 3 });
        let remote_task = task::spawn_on(
            remote,
            "remote worker",
            time::sleep(Duration::from_secs(100)),
        );
        task::monitor_notify(sleeper.id(), inbox.addr(), |r| Notice::Down(1, r));
        task::monitor_notify(finisher.id(), inbox.addr(), |r| Notice::Down(2, r));
        let remote_down = task::monitor(remote_task.id());
        task::kill(sleeper.id());
        let mut notices = vec![inbox.recv().await.1, inbox.recv().await.1];
        notices.sort_by_key(|Notice::Down(i, _)| *i);
        node::crash(remote);
        let reason = remote_down.await;
        let joined = (sleeper.await, finisher.await);
        (notices, reason, joined)
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let (notices, reason, joined) = out.unwrap();
    assert_eq!(
        notices,
        vec![
            Notice::Down(1, ExitReason::Killed),
            Notice::Down(2, ExitReason::Normal)
        ]
    );
    assert_eq!(reason, ExitReason::NodeCrashed);
    assert_eq!(joined, (Err(task::JoinError(ExitReason::Killed)), Ok(3)));
}

#[test]
fn a_paused_node_runs_nothing_until_resumed() {
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let n = sim.add_node("ticker", move || {
        let t = t.clone();
        async move {
            loop {
                time::sleep(ms(1)).await;
                t.set(t.get() + 1);
            }
        }
    });
    let counts = ticks.clone();
    let (_, out) = sim.run(async move {
        time::sleep(Duration::from_micros(3500)).await;
        let before = counts.get();
        node::pause(n);
        time::sleep(ms(10)).await;
        let paused = counts.get();
        node::resume(n);
        time::sleep(Duration::from_micros(2500)).await;
        (before, paused, counts.get())
    });
    // 3 ticks; none while paused; on resume the overdue tick runs, then 2 more.
    assert_eq!(out.unwrap(), (3, 3, 6));
}

#[test]
fn links_are_fifo_unless_reordering_is_enabled() {
    fn arrivals(reorder: bool, seed: u64) -> Vec<u32> {
        let cfg = Config {
            net: weft::NetConfig {
                latency_min_ns: 0,
                latency_max_ns: 10_000_000,
                latency_buckets: 16,
                reorder,
                ..Default::default()
            },
            ..Config::default()
        };
        let rates = Rates {
            reorder: 0.5,
            ..Rates::default()
        };
        let (_, out) =
            Sim::new(cfg, Source::generate(Box::new(Random::new(seed, rates)))).run(async {
                let inbox = Endpoint::<u32>::bind(1).unwrap();
                let sender = Endpoint::<u32>::bind(2).unwrap();
                for i in 0..50u32 {
                    sender.send(inbox.addr(), i);
                }
                let mut got = Vec::new();
                for _ in 0..50 {
                    got.push(inbox.recv().await.1);
                }
                got
            });
        out.unwrap()
    }
    let in_order: Vec<u32> = (0..50).collect();
    for seed in 0..5 {
        assert_eq!(arrivals(false, seed), in_order);
    }
    assert!((0..5).any(|seed| arrivals(true, seed) != in_order));
}

#[test]
fn the_order_of_simultaneous_deliveries_is_a_decision() {
    fn order(log: &str) -> (Vec<u32>, Vec<DecisionKind>) {
        let log = DecisionLog::decode(log, 10).unwrap();
        let (report, out) =
            Sim::new(Config::default(), Source::replay_with_fallback(&log)).run(async {
                let inbox = Endpoint::<u32>::bind(1).unwrap();
                let a = Endpoint::<u32>::bind(2).unwrap();
                let b = Endpoint::<u32>::bind(3).unwrap();
                a.send(inbox.addr(), 1u32);
                b.send(inbox.addr(), 2u32);
                vec![inbox.recv().await.1, inbox.recv().await.1]
            });
        (
            out.unwrap(),
            report.log.decisions.iter().map(|d| d.kind).collect(),
        )
    }
    assert_eq!(order(""), (vec![1, 2], vec![DecisionKind::EventOrder]));
    assert_eq!(order("e1/2"), (vec![2, 1], vec![DecisionKind::EventOrder]));
}

#[test]
fn random_values_and_fault_points_are_decisions() {
    let cfg = Config {
        buggify: true,
        ..Config::default()
    };
    let log = DecisionLog::decode("n7/10 b1/2 n2/3", 10).unwrap();
    let (report, out) = Sim::new(cfg.clone(), Source::replay(log)).run(async {
        (
            weft::rand::below(10),
            weft::fault::buggify("x"),
            weft::rand::range(5..8),
            weft::rand::below(1),
        )
    });
    assert!(report.divergence.is_none());
    assert_eq!(out.unwrap(), (7, true, 7, 0));
    let (_, out) =
        Sim::new(Config::default(), Source::zeros()).run(async { weft::fault::buggify("x") });
    assert_eq!(out, Some(false), "fault points never fire unless enabled");
}

fn chaos_like(source: Source, detail: Detail) -> RunReport {
    let mut cfg = Config::chaos();
    cfg.detail = detail;
    cfg.faults.until_ns = 100_000_000;
    let mut sim = Sim::new(cfg, source);
    let server = sim.add_node("server", || async {
        let e = Endpoint::<Request<u64, u64>>::bind(1).unwrap();
        loop {
            let (_, r) = e.recv().await;
            let _ = weft::disk::append("log", &r.body.to_le_bytes()).await;
            r.reply(r.body * 2);
        }
    });
    sim.run(async move {
        for i in 0..20 {
            let _ = net::call::<u64, u64>(Addr::new(server, 1), i, ms(20)).await;
        }
    })
    .0
}

#[test]
fn strict_replay_reproduces_a_run_and_reports_divergence_with_its_position() {
    for seed in 0..20 {
        let original = chaos_like(
            Source::generate(Box::new(Random::new(seed, Rates::default()))),
            Detail::Quiet,
        );
        let replayed = chaos_like(Source::replay(original.log.clone()), Detail::Quiet);
        assert_eq!(replayed.divergence, None, "seed {seed}");
        assert_eq!(replayed.trace_hash, original.trace_hash, "seed {seed}");
        assert_eq!(replayed.log, original.log);

        // A recording cut short: the run asks for more than the recording holds.
        let mut short = original.log.clone();
        short.decisions.truncate(short.len() / 2);
        let d = chaos_like(Source::replay(short.clone()), Detail::Quiet)
            .divergence
            .expect("divergence");
        assert_eq!((d.position, d.recorded), (short.len(), None));

        // A recording whose decision changed kind.
        let mut changed = original.log.clone();
        changed.decisions[0].kind = DecisionKind::Buggify;
        let d = chaos_like(Source::replay(changed), Detail::Quiet)
            .divergence
            .expect("divergence");
        assert_eq!(d.position, 0);

        // Replay with fallback absorbs both, by design.
        assert_eq!(
            chaos_like(Source::replay_with_fallback(&short), Detail::Quiet).divergence,
            None
        );
    }
}

#[test]
fn determinism_check_finds_no_divergence_in_deterministic_code() {
    for seed in 0..20 {
        let run = || {
            chaos_like(
                Source::generate(Box::new(Random::new(seed, Rates::default()))),
                Detail::Explain,
            )
        };
        let (a, b) = (run(), run());
        assert_eq!(weft::internals::determinism::compare(&a, &b), None);
    }
}

#[test]
fn determinism_check_names_the_first_divergence() {
    // Code that reads state leaking between runs is nondeterministic; the check must say where.
    thread_local!(static LEAK: Cell<u64> = const { Cell::new(0) });
    let run = || {
        let mut sim = Sim::new(
            Config {
                detail: Detail::Explain,
                ..Config::default()
            },
            Source::zeros(),
        );
        let n = sim.add_node("leaky", || async {
            let e = Endpoint::<u8>::bind(1).unwrap();
            let _ = e.recv().await;
            LEAK.with(|l| l.set(l.get() + 1));
            if LEAK.with(|l| l.get()) > 1 {
                time::sleep(ms(1)).await; // only in the second run
            }
        });
        sim.run(async move {
            net::send(Addr::new(n, 1), 1u8);
            time::sleep(ms(5)).await;
        })
        .0
    };
    let (a, b) = (run(), run());
    let n = weft::internals::determinism::compare(&a, &b).expect("divergence");
    assert_eq!(n.node.as_deref(), Some("leaky"));
    assert_eq!(n.task.as_deref(), Some("leaky:init"));
    assert!(n.to_string().contains("step"), "{n}");
}
