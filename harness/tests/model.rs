//! Model-based testing and shrinking, on small systems with planted bugs.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::shrink::nondefault_execution;
use weft::internals::{run_case, Run};
use weft::model::{Gen, Shape, StateMachine, Var, Vars};
use weft::net::{call, Addr, Endpoint, Request};
use weft::strategy::{Rates, StrategyKind};
use weft::{Config, Detail, FailureKind, RunReport, Sim, Source};

// ---------------------------------------------------------------------------------------------
// A key/value store. Planted bug: a delete pops only the newest version, so after two puts and
// a delete, a get returns the first value again (a tombstone bug). Minimal counterexample:
// put, put, delete, get: exactly 4 commands.

#[derive(Clone, Debug, PartialEq, Eq)]
enum KvOp {
    Put(u8, u8),
    Get(u8),
    Delete(u8),
}

async fn kv_server(buggy: bool) {
    let endpoint = Endpoint::<Request<KvOp, Option<u8>>>::bind(1).unwrap();
    let mut versions: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
    loop {
        let (_, request) = endpoint.recv().await;
        let reply = match request.body {
            KvOp::Put(k, v) => {
                versions.entry(k).or_default().push(v);
                None
            }
            KvOp::Get(k) => versions.get(&k).and_then(|vs| vs.last().copied()),
            KvOp::Delete(k) => {
                if buggy {
                    versions.get_mut(&k).map(|vs| vs.pop());
                } else {
                    versions.remove(&k);
                }
                None
            }
        };
        request.reply(reply);
    }
}

struct Kv {
    buggy: bool,
}

impl StateMachine for Kv {
    type State = BTreeMap<u8, u8>;
    type Command = KvOp;
    type Result = Option<u8>;
    type System = Addr;

    fn setup(&self, sim: &mut Sim) -> Addr {
        let buggy = self.buggy;
        Addr::new(sim.add_node("kv", move || kv_server(buggy)), 1)
    }

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn command(&self, _: &Self::State, gen: &mut Gen) -> KvOp {
        let key = gen.below(3) as u8;
        match gen.below(3) {
            0 => KvOp::Get(key),
            1 => KvOp::Put(key, gen.below(10) as u8),
            _ => KvOp::Delete(key),
        }
    }

    fn next_state(&self, state: &Self::State, command: &KvOp, _: Var) -> Self::State {
        let mut s = state.clone();
        match command {
            KvOp::Put(k, v) => {
                s.insert(*k, *v);
            }
            KvOp::Delete(k) => {
                s.remove(k);
            }
            KvOp::Get(_) => {}
        }
        s
    }

    fn postcondition(
        &self,
        state: &Self::State,
        command: &KvOp,
        result: &Option<u8>,
        _: &Vars<Option<u8>>,
    ) -> Result<(), String> {
        match command {
            KvOp::Get(k) if state.get(k) != result.as_ref() => {
                Err(format!("expected {:?}, got {result:?}", state.get(k)))
            }
            _ => Ok(()),
        }
    }

    async fn run(&self, server: &Addr, command: &KvOp, _: &Vars<Option<u8>>) -> Option<u8> {
        call(*server, command.clone(), Duration::from_secs(1))
            .await
            .expect("no faults here")
    }
}

fn fuzz_config(name: &str, seed: u64, cases: u64) -> FuzzConfig {
    FuzzConfig::new(name, seed, cases)
}
fn assert_local_minimum(run: &dyn Fn(Source) -> Run, shrunk: &Run) {
    if let Err(why) = weft::internals::shrink::check_local_minimum(run, shrunk) {
        panic!("not a local minimum: {why}");
    }
}

#[test]
fn a_sequential_bug_shrinks_to_its_minimal_command_count() {
    let model = Rc::new(Kv { buggy: true });
    let shape = Shape::sequential();
    let run = |source: Source, detail: Detail| run_case(&model, &shape, source, detail);
    for seed in 0..5 {
        let result = fuzz(&run, &fuzz_config("kv", seed, 2000));
        let found = result.found.expect("the tombstone bug is found");
        // The explained counterexample carries the commands as text.
        let case = found.counterexample.case.as_ref().unwrap();
        assert_eq!(case.commands, 4, "seed {seed}:\n{}", found.counterexample);
        let ops: Vec<&str> = case.clients[0]
            .ops
            .iter()
            .map(|o| o.command.as_str())
            .collect();
        // Keys and values shrink to the smallest that still fail.
        assert_eq!(
            ops,
            ["Put(0, 0)", "Put(0, 0)", "Delete(0)", "Get(0)"],
            "seed {seed}"
        );
        assert!(found.shrink.as_ref().unwrap().cut_short.is_none());
        assert_local_minimum(&|s| run(s, Detail::Quiet), &found.run);
        // Replaying the shrunk counterexample reproduces it.
        let again = run(Source::replay(found.run.report.log.clone()), Detail::Quiet).report;
        assert_eq!(again.outcome, found.run.report.outcome);
        assert_eq!(again.trace_hash, found.run.report.trace_hash);
    }
}

#[test]
fn shrinking_is_deterministic() {
    let model = Rc::new(Kv { buggy: true });
    let shape = Shape::sequential();
    let run = |source: Source, detail: Detail| run_case(&model, &shape, source, detail);
    let a = fuzz(&run, &fuzz_config("kv", 11, 2000)).found.unwrap();
    let b = fuzz(&run, &fuzz_config("kv", 11, 2000)).found.unwrap();
    assert_eq!(a.run.report.log, b.run.report.log);
    assert_eq!(
        a.shrink.as_ref().unwrap().candidates,
        b.shrink.as_ref().unwrap().candidates
    );
    assert_eq!(a.counterexample.to_string(), b.counterexample.to_string());
}

#[test]
fn a_correct_system_passes_2000_sequential_and_2000_parallel_cases() {
    let model = Rc::new(Kv { buggy: false });
    for shape in [Shape::sequential(), Shape::parallel()] {
        let run = |source: Source, detail: Detail| run_case(&model, &shape, source, detail);
        let result = fuzz(&run, &fuzz_config("kv-correct", 5, 2000));
        if let Some(found) = &result.found {
            panic!("false alarm:\n{}", found.counterexample);
        }
        assert_eq!(result.cases_run, 2000);
    }
}

#[test]
fn parallel_mode_finds_and_shrinks_the_same_bug() {
    // In parallel mode the bug can show in the prefix (a postcondition) or across clients (no
    // linearization explains the results); either way it is found and shrunk to a local
    // minimum of at most the 4 commands it needs.
    let model = Rc::new(Kv { buggy: true });
    let shape = Shape::parallel();
    let run = |source: Source, detail: Detail| run_case(&model, &shape, source, detail);
    let found = fuzz(&run, &fuzz_config("kv-parallel", 3, 5000))
        .found
        .expect("found in parallel mode too");
    assert_eq!(found.counterexample.failure.kind, FailureKind::Check);
    assert!(
        found.run.case.as_ref().unwrap().commands <= 4,
        "{}",
        found.counterexample
    );
    assert_local_minimum(&|s| run(s, Detail::Quiet), &found.run);
}

// ---------------------------------------------------------------------------------------------
// A planted bug that needs one specific order of three messages: a file server that reuses a
// stale handle when Close, then Open, then Write arrive in that order (and only then). The
// sender sends Open, Write, Close in that order, each from its own endpoint (three links).

#[derive(Clone, Debug, PartialEq, Eq)]
enum FileOp {
    Open,
    Write,
    Close,
}

async fn file_server() {
    let endpoint = Endpoint::<FileOp>::bind(1).unwrap();
    let mut seen = Vec::new();
    loop {
        let (_, op) = endpoint.recv().await;
        seen.push(op);
        if seen == [FileOp::Close, FileOp::Open, FileOp::Write] {
            panic!("write through a handle reused after close");
        }
    }
}

fn three_messages(source: Source) -> RunReport {
    let cfg = Config {
        net: weft::NetConfig {
            latency_min_ns: 0,
            latency_max_ns: 3_000_000,
            latency_buckets: 4,
            ..Default::default()
        },
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, source);
    let server = Addr::new(sim.add_node("files", file_server), 1);
    sim.run(async move {
        let endpoints: Vec<Endpoint<FileOp>> = (0..3).map(|_| Endpoint::ephemeral()).collect();
        for (endpoint, op) in endpoints
            .iter()
            .zip([FileOp::Open, FileOp::Write, FileOp::Close])
        {
            endpoint.send(server, op);
        }
        weft::time::sleep(Duration::from_millis(10)).await;
    })
    .0
}

#[test]
fn a_bug_needing_one_specific_reordering_of_three_messages_is_found_and_shrunk() {
    assert!(
        three_messages(Source::zeros()).outcome.failure().is_none(),
        "FIFO order is fine"
    );
    let run = |source: Source, _: Detail| Run::plain(three_messages(source));
    let mut cases = Vec::new();
    for seed in 0..10 {
        let found = fuzz(&run, &fuzz_config("files", seed, 1000))
            .found
            .expect("found within 1,000 cases");
        assert_eq!(found.counterexample.failure.kind, FailureKind::Panic);
        let decisions = nondefault_execution(&found.run.report.log);
        // Close must overtake both others (one decision at least), Open must still beat Write.
        assert!(
            !decisions.is_empty() && decisions.len() <= 2,
            "{decisions:?}"
        );
        assert_local_minimum(&|s| Run::plain(three_messages(s)), &found.run);
        cases.push(found.cases_to_failure);
    }
    assert!(cases.iter().all(|&c| c <= 1000));
}

// ---------------------------------------------------------------------------------------------
// Interop: proptest strategies and quickcheck Arbitrary types as argument generators.

#[cfg(all(feature = "proptest", feature = "quickcheck"))]
struct Interop;

#[cfg(all(feature = "proptest", feature = "quickcheck"))]
impl StateMachine for Interop {
    type State = u8;
    type Command = (String, u16);
    type Result = ();
    type System = ();

    fn setup(&self, _: &mut Sim) {}
    fn init(&self) -> u8 {
        0
    }
    fn command(&self, _: &u8, gen: &mut Gen) -> (String, u16) {
        (gen.proptest(&"[a-z]{1,5}"), gen.arbitrary::<u16>(100))
    }
    fn next_state(&self, s: &u8, _: &(String, u16), _: Var) -> u8 {
        *s
    }
    fn postcondition(&self, _: &u8, _: &(String, u16), _: &(), _: &Vars<()>) -> Result<(), String> {
        Ok(())
    }
    async fn run(&self, _: &(), _: &(String, u16), _: &Vars<()>) {}
}

#[cfg(all(feature = "proptest", feature = "quickcheck"))]
#[test]
fn proptest_and_quickcheck_generators_draw_deterministically_from_the_stream() {
    let model = Rc::new(Interop);
    let shape = Shape::sequential();
    let generate = |seed: u64| {
        let report = run_case(
            &model,
            &shape,
            Source::generate(StrategyKind::Random.build(seed, Rates::default(), 3, 100)),
            Detail::Explain,
        );
        let ops: Vec<String> = report.case.unwrap().clients[0]
            .ops
            .iter()
            .map(|o| o.command.clone())
            .collect();
        (ops, report.report.log)
    };
    let (a, log) = generate(1);
    assert!(!a.is_empty());
    assert_eq!(generate(1).0, a, "same seed, same values");
    assert_ne!(generate(2).0, a);
    for op in &a {
        let word = op.trim_start_matches("(\"").split('"').next().unwrap();
        assert!(
            (1..=5).contains(&word.len()) && word.chars().all(|c| c.is_ascii_lowercase()),
            "{op}"
        );
    }
    // And replaying the decisions regenerates the same values.
    let replayed = run_case(&model, &shape, Source::replay(log), Detail::Explain);
    let b: Vec<String> = replayed.case.unwrap().clients[0]
        .ops
        .iter()
        .map(|o| o.command.clone())
        .collect();
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------------------------
// weft::check in a test: regressions are saved before shrinking ends and replayed first.

#[test]
fn check_saves_failures_as_regressions_and_replays_them_first() {
    let dir = std::env::temp_dir().join(format!("weft-regressions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report = weft::check(Kv { buggy: true })
        .name("kv")
        .cases(2000)
        .seed(4)
        .regressions(Some(dir.clone()))
        .report();
    let found = report.found.expect("found");
    let file = dir.join("kv").join("seed-4.weft-replay.json");
    assert_eq!(found.replay_file.as_deref(), Some(file.as_path()));
    let saved = weft::internals::replay::ReplayFile::load(&file).unwrap();
    assert_eq!(saved.strategy, "shrunk");
    assert_eq!(saved.log().unwrap(), found.run.report.log);

    // Next run, with a seed that would not even get there in 1 case: the regression is first.
    let again = weft::check(Kv { buggy: true })
        .name("kv")
        .cases(1)
        .seed(999)
        .regressions(Some(dir.clone()))
        .report();
    let found_again = again.found.expect("the regression replays first");
    assert_eq!(found_again.run.report.log, found.run.report.log);
    assert_eq!(again.cases_run, 0);

    // With the bug fixed, the regression passes and the search goes on.
    let fixed = weft::check(Kv { buggy: false })
        .name("kv")
        .cases(50)
        .seed(1)
        .regressions(Some(dir.clone()))
        .report();
    assert!(fixed.found.is_none());
    assert_eq!(fixed.cases_run, 50);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_panics_with_the_counterexample() {
    let result = std::panic::catch_unwind(|| {
        weft::check(Kv { buggy: true })
            .name("kv-panic")
            .cases(2000)
            .seed(4)
            .regressions(None)
            .run();
    });
    let payload = result.expect_err("the check fails");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("weft: kv-panic failed after"),
        "{message}"
    );
    assert!(
        message.contains("Violation: postcondition of Get(0)"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Faults as commands: a durable store whose planted bug is a missing fsync. The model has a
// `Crash` command (crash and restart the node), which shrinks like any other command. Minimal
// counterexample: put, crash, get.

#[derive(Clone, Debug, PartialEq, Eq)]
enum DurableOp {
    Put(u8),
    Get,
    Crash,
}

async fn durable_server(fsync: bool) {
    // Bind before anything that yields: clients may start as soon as start-up code first waits.
    let endpoint = Endpoint::<Request<DurableOp, Option<u8>>>::bind(1).unwrap();
    let mut value = match weft::disk::read("value").await {
        Ok(bytes) => bytes.last().copied(),
        Err(_) => None,
    };
    loop {
        let (_, request) = endpoint.recv().await;
        match request.body {
            DurableOp::Put(v) => {
                weft::disk::append("value", &[v]).await.unwrap();
                if fsync {
                    weft::disk::fsync("value").await.unwrap();
                }
                value = Some(v);
                request.reply(None);
            }
            DurableOp::Get => request.reply(value),
            DurableOp::Crash => unreachable!("crashes are done by the test driver"),
        }
    }
}

struct Durable {
    fsync: bool,
}

impl StateMachine for Durable {
    type State = Option<u8>;
    type Command = DurableOp;
    type Result = Option<u8>;
    type System = Addr;

    fn setup(&self, sim: &mut Sim) -> Addr {
        let fsync = self.fsync;
        Addr::new(sim.add_node("store", move || durable_server(fsync)), 1)
    }
    fn init(&self) -> Option<u8> {
        None
    }
    fn command(&self, _: &Option<u8>, gen: &mut Gen) -> DurableOp {
        match gen.below(3) {
            0 => DurableOp::Get,
            1 => DurableOp::Put(gen.below(5) as u8),
            _ => DurableOp::Crash,
        }
    }
    fn next_state(&self, state: &Option<u8>, op: &DurableOp, _: Var) -> Option<u8> {
        match op {
            DurableOp::Put(v) => Some(*v),
            _ => *state,
        }
    }
    fn postcondition(
        &self,
        state: &Option<u8>,
        op: &DurableOp,
        result: &Option<u8>,
        _: &Vars<Option<u8>>,
    ) -> Result<(), String> {
        match op {
            DurableOp::Get if result != state => Err(format!("expected {state:?}, got {result:?}")),
            _ => Ok(()),
        }
    }
    async fn run(&self, server: &Addr, op: &DurableOp, _: &Vars<Option<u8>>) -> Option<u8> {
        if *op == DurableOp::Crash {
            weft::node::crash(server.node);
            weft::time::sleep(Duration::from_millis(1)).await;
            weft::node::restart(server.node);
            weft::time::sleep(Duration::from_millis(1)).await;
            return None;
        }
        call(*server, op.clone(), Duration::from_secs(1))
            .await
            .expect("the store is up")
    }
}

#[test]
fn fault_commands_shrink_like_any_other_command() {
    let correct = weft::check(Durable { fsync: true })
        .name("durable")
        .cases(1000)
        .regressions(None)
        .report();
    if let Some(f) = &correct.found {
        panic!("synced writes must survive crashes:\n{}", f.counterexample);
    }
    let report = weft::check(Durable { fsync: false })
        .name("durable")
        .cases(1000)
        .regressions(None)
        .report();
    let found = report.found.expect("the missing fsync is found");
    let ops: Vec<&str> = found.counterexample.case.as_ref().unwrap().clients[0]
        .ops
        .iter()
        .map(|o| o.command.as_str())
        .collect();
    assert_eq!(ops, ["Put(0)", "Crash", "Get"]);
}

#[test]
fn the_shrink_time_bound_is_reported_when_it_cuts_shrinking_short() {
    let model = Rc::new(Kv { buggy: true });
    let shape = Shape::sequential();
    let run = |source: Source, detail: Detail| run_case(&model, &shape, source, detail);
    let mut cfg = fuzz_config("kv", 0, 2000);
    cfg.shrink.time_max = Duration::ZERO;
    let found = fuzz(&run, &cfg).found.expect("found");
    let why = found
        .shrink
        .as_ref()
        .unwrap()
        .cut_short
        .clone()
        .expect("cut short");
    assert!(why.contains("time bound"), "{why}");
    let message = weft::internals::failure_message("kv", 0, &found);
    assert!(
        message.contains("shrinking stopped early") && message.contains("may not be minimal"),
        "{message}"
    );
}

#[test]
fn parallel_fuzzing_finds_the_same_failure_whatever_the_thread_count() {
    use weft::internals::fuzz::{fuzz_parallel, Shard};
    let shape = Shape::sequential();
    // A model per run: the closure must be shareable across threads.
    let run = |source: Source, detail: Detail| {
        run_case(&Rc::new(Kv { buggy: true }), &shape, source, detail)
    };
    let whole = fuzz(&run, &fuzz_config("kv", 9, 3000))
        .found
        .expect("found");
    for jobs in [1, 2, 3] {
        let found = fuzz_parallel(&run, &fuzz_config("kv", 9, 3000), jobs, Shard::ALL)
            .found
            .expect("found");
        assert_eq!(
            found.cases_to_failure, whole.cases_to_failure,
            "jobs {jobs}"
        );
        assert_eq!(found.run.report.log, whole.run.report.log, "jobs {jobs}");
    }
    // Two shards split the same search: the earlier of their first failures is the whole
    // search's first failure.
    let first = |index| {
        let shard = Shard { index, count: 2 };
        let found = fuzz_parallel(&run, &fuzz_config("kv", 9, 3000), 2, shard)
            .found
            .expect("found");
        index + (found.cases_to_failure - 1) * 2
    };
    assert_eq!(first(0).min(first(1)), whole.cases_to_failure - 1);
}

/// Mean commands per case over `cases` correct cases of `shape` (random strategy, seeds 0..).
fn mean_commands(shape: &Shape, cases: u64) -> f64 {
    let model = Rc::new(Kv { buggy: false });
    let total: usize = (0..cases)
        .map(|seed| {
            let source =
                Source::generate(StrategyKind::Random.build(seed, Rates::default(), 3, 200));
            let run = run_case(&model, shape, source, Detail::Quiet);
            assert!(run.report.outcome.failure().is_none(), "seed {seed}");
            run.case.expect("a model case").commands
        })
        .sum();
    total as f64 / cases as f64
}

#[test]
fn length_mean_sets_the_expected_number_of_commands() {
    // Unset, the flag stops with probability 1/10 (sections of at most 20 commands): the mean
    // of a geometric length cut at 20, 9 * (1 - 0.9^20) = 7.9.
    let default = mean_commands(&Shape::sequential(), 2_000);
    assert!((7.4..8.4).contains(&default), "default shape: {default}");
    // Set to 20 with room to spare, the mean is 20 (standard error about 0.45 here).
    let long = Shape {
        prefix_max: 1_000,
        length_mean: Some(20),
        ..Shape::sequential()
    };
    let mean = mean_commands(&long, 2_000);
    assert!((18.5..21.5).contains(&mean), "length_mean 20: {mean}");
    // The section's maximum still cuts it.
    let capped = Shape {
        prefix_max: 5,
        length_mean: Some(20),
        ..Shape::sequential()
    };
    let mean = mean_commands(&capped, 500);
    assert!((4.0..=5.0).contains(&mean), "capped at 5: {mean}");
}

/// A shape's `length_mean` is left out of its JSON when unset, so replay files of the
/// default shapes do not change, and read back as unset when absent.
#[test]
fn length_mean_is_optional_in_json() {
    let json = serde_json::to_value(Shape::sequential()).unwrap();
    assert!(json.get("length_mean").is_none(), "{json}");
    let back: Shape = serde_json::from_value(json).unwrap();
    assert_eq!(back, Shape::sequential());
    let set = Shape {
        length_mean: Some(33),
        ..Shape::sequential()
    };
    let back: Shape = serde_json::from_value(serde_json::to_value(&set).unwrap()).unwrap();
    assert_eq!(back, set);
}

#[test]
fn a_bound_on_commands_holds_and_its_log_replays_without_it() {
    let model = Rc::new(Kv { buggy: false });
    for shape in [Shape::sequential(), Shape::parallel()] {
        for max in 0..4 {
            let mut reached = false;
            for seed in 0..30 {
                let strategy = StrategyKind::Random.build(seed, Rates::default(), 3, 200);
                let source = Source::generate(strategy).with_commands_max(max);
                let bounded = run_case(&model, &shape, source, Detail::Quiet);
                let commands = bounded.case.as_ref().expect("a model case").commands;
                assert!(
                    commands <= max,
                    "{:?} seed {seed}: {commands} > {max}",
                    shape.mode
                );
                reached |= commands == max;
                // The stopping flags are recorded as 0: a strict replay, without the bound,
                // runs the same case.
                let replay = Source::replay(bounded.report.log.clone());
                let again = run_case(&model, &shape, replay, Detail::Quiet);
                assert_eq!(again.report.divergence, None, "seed {seed}");
                assert_eq!(again.report.trace_hash, bounded.report.trace_hash);
                assert_eq!(again.case.unwrap().commands, commands);
            }
            assert!(reached, "{:?}: no case reached the bound {max}", shape.mode);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Commands that draw different numbers of values: a ping and a check draw none after their
// kind, a sleep its duration. Planted bug: the server answers a check wrong when it is the
// third request. Minimal counterexample: ping, ping, check. Lowering a sleep before the check
// to a ping in place hands the sleep's duration to the check as its "one more command" flag,
// and the check's own flag becomes its kind (a sleep): only a replacement that draws the new
// command's values afresh reaches the minimum.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Ping,
    Sleep(u64),
    Check,
}

async fn counting_server() {
    let endpoint = Endpoint::<Request<bool, u64>>::bind(1).unwrap();
    let mut count = 0;
    loop {
        let (_, request) = endpoint.recv().await;
        count += 1;
        let check = request.body;
        request.reply(if check && count == 3 { 0 } else { count });
    }
}

struct Steps;

impl StateMachine for Steps {
    type State = u64;
    type Command = Step;
    type Result = u64;
    type System = Addr;

    fn setup(&self, sim: &mut Sim) -> Addr {
        Addr::new(sim.add_node("counter", counting_server), 1)
    }

    fn init(&self) -> u64 {
        0
    }

    fn command(&self, _: &u64, gen: &mut Gen) -> Step {
        // Pings are rare: a fresh case of three commands is almost never ping, ping, check.
        match gen.weighted(&[(1, 0), (30, 1), (3, 2)]) {
            0 => Step::Ping,
            1 => Step::Sleep(*gen.choose(&[10, 20, 30, 40])),
            _ => Step::Check,
        }
    }

    fn next_state(&self, state: &u64, _: &Step, _: Var) -> u64 {
        state + 1
    }

    fn postcondition(
        &self,
        state: &u64,
        _: &Step,
        result: &u64,
        _: &Vars<u64>,
    ) -> Result<(), String> {
        if *result == state + 1 {
            Ok(())
        } else {
            Err(format!("request {} answered {result}", state + 1))
        }
    }

    async fn run(&self, server: &Addr, command: &Step, _: &Vars<u64>) -> u64 {
        if let Step::Sleep(ms) = command {
            weft::time::sleep(Duration::from_millis(*ms)).await;
        }
        let check = *command == Step::Check;
        call(*server, check, Duration::from_secs(1))
            .await
            .expect("no faults here")
    }
}

#[test]
fn a_command_is_replaced_by_a_simpler_one_that_draws_fewer_values() {
    let model = Rc::new(Steps);
    let shape = Shape::sequential();
    let run = |source: Source, detail: Detail| run_case(&model, &shape, source, detail);
    for seed in 0..5 {
        let result = fuzz(&run, &fuzz_config("steps", seed, 2000));
        let found = result.found.expect("the third request's bug is found");
        let case = found.counterexample.case.as_ref().unwrap();
        let ops: Vec<&str> = case.clients[0]
            .ops
            .iter()
            .map(|o| o.command.as_str())
            .collect();
        assert_eq!(
            ops,
            ["Ping", "Ping", "Check"],
            "seed {seed}:\n{}",
            found.counterexample
        );
        assert_local_minimum(&|s| run(s, Detail::Quiet), &found.run);
    }
}
