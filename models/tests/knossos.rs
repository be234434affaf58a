//! Knossos's rules on EDN histories: nil reads are of unknown value (register, cas-register,
//! multi-register), `:fail` operations never happened, `:info` (and never completed)
//! operations may take effect at any time after their invocation, or never; an `:ok`
//! operation's value is its completion's. Hand-written histories and random ones are checked
//! by `weft check-history`'s catalog and by a brute-force oracle written to those rules
//! (every order allowed by real time), which must agree.

use proptest::prelude::*;
use weft_lincheck::{CheckConfig, Format, Value};
use weft_models::catalog::{check_history, Params};

/// A value of these tests: nil or a small integer.
type V = Option<i64>;

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Read(V),
    Write(V),
    Cas(V, V),
    /// `(is_write, key, value)`; a read's value is what it returned (nil: unknown).
    Txn(Vec<(bool, u8, V)>),
    Acquire,
    Release,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Ok,
    Fail,
    Info,
    Never,
}

/// One operation of a history: its process, invocation and completion (by event position).
#[derive(Clone, Debug)]
struct HOp {
    process: u64,
    /// The invocation's value (a read's is nil; a txn's reads are nil).
    invoke: Op,
    /// The completion's value (for ok: what the reads returned).
    complete: Op,
    end: End,
    call: usize,
    ret: usize,
}

fn edn_value(v: V) -> String {
    v.map_or("nil".to_string(), |i| i.to_string())
}

fn edn_op(op: &Op) -> (&'static str, String) {
    match op {
        Op::Read(v) => ("read", edn_value(*v)),
        Op::Write(v) => ("write", edn_value(*v)),
        Op::Cas(a, b) => ("cas", format!("[{} {}]", edn_value(*a), edn_value(*b))),
        Op::Txn(micros) => {
            let items: Vec<String> = micros
                .iter()
                .map(|(w, k, v)| {
                    let f = if *w { "write" } else { "read" };
                    format!("[:{f} :k{k} {}]", edn_value(*v))
                })
                .collect();
            ("txn", format!("[{}]", items.join(" ")))
        }
        Op::Acquire => ("acquire", "nil".to_string()),
        Op::Release => ("release", "nil".to_string()),
    }
}

/// The history as Jepsen EDN, one map per line, events in position order.
fn to_edn(ops: &[HOp]) -> String {
    let mut events: Vec<(usize, String)> = Vec::new();
    for o in ops {
        let (f, v) = edn_op(&o.invoke);
        let line = format!(
            "{{:process {}, :type :invoke, :f :{f}, :value {v}}}",
            o.process
        );
        events.push((o.call, line));
        let kind = match o.end {
            End::Ok => "ok",
            End::Fail => "fail",
            End::Info => "info",
            End::Never => continue,
        };
        let (f, v) = edn_op(&o.complete);
        let line = format!(
            "{{:process {}, :type :{kind}, :f :{f}, :value {v}}}",
            o.process
        );
        events.push((o.ret, line));
    }
    events.sort_by_key(|(at, _)| *at);
    let lines: Vec<String> = events.into_iter().map(|(_, l)| l).collect();
    lines.join("\n") + "\n"
}

/// The model's state in the oracle.
#[derive(Clone, Debug, PartialEq)]
enum State {
    Register(V),
    Registers(Vec<(u8, V)>),
    Mutex(bool),
}

/// Knossos's `step`: the next state, or `None` when inconsistent. `op` is the operation's
/// value as Knossos sees it (the completion's for ok, else the invocation's).
fn knossos_step(state: &State, op: &Op) -> Option<State> {
    match (state, op) {
        (State::Register(_), Op::Write(v)) => Some(State::Register(*v)),
        (State::Register(cur), Op::Read(v)) => (v.is_none() || v == cur).then(|| state.clone()),
        (State::Register(cur), Op::Cas(from, to)) => (cur == from).then_some(State::Register(*to)),
        (State::Registers(map), Op::Txn(micros)) => {
            let mut map = map.clone();
            for &(write, k, v) in micros {
                let slot = map.iter().position(|(key, _)| *key == k);
                let cur = slot.and_then(|i| map[i].1);
                if write {
                    match slot {
                        Some(i) => map[i].1 = v,
                        None => map.push((k, v)),
                    }
                } else if v.is_some() && v != cur {
                    return None;
                }
            }
            Some(State::Registers(map))
        }
        (State::Mutex(held), Op::Acquire) => (!held).then_some(State::Mutex(true)),
        (State::Mutex(held), Op::Release) => held.then_some(State::Mutex(false)),
        _ => None,
    }
}

/// Brute force: every order of the ok and indeterminate operations allowed by real time
/// (an ok operation that completed before another's invocation goes first); indeterminate
/// ones may be left out; failed ones are removed.
fn oracle(ops: &[HOp], init: State) -> bool {
    let ops: Vec<&HOp> = ops.iter().filter(|o| o.end != End::Fail).collect();
    fn go(ops: &[&HOp], done: &mut [bool], state: State) -> bool {
        let required = |i: usize| ops[i].end == End::Ok;
        if (0..ops.len()).all(|i| done[i] || !required(i)) {
            return true;
        }
        for i in 0..ops.len() {
            if done[i] {
                continue;
            }
            let blocked =
                (0..ops.len()).any(|j| !done[j] && required(j) && ops[j].ret < ops[i].call);
            if blocked {
                continue;
            }
            let value = if required(i) {
                &ops[i].complete
            } else {
                &ops[i].invoke
            };
            let Some(next) = knossos_step(&state, value) else {
                continue;
            };
            done[i] = true;
            let found = go(ops, done, next);
            done[i] = false;
            if found {
                return true;
            }
        }
        false
    }
    go(&ops, &mut vec![false; ops.len()], init)
}

fn weft_verdict(ops: &[HOp], model: &str, init: Option<Value>) -> String {
    let text = to_edn(ops);
    let history = Format::Edn
        .parse(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let report = check_history(model, &history, &Params { init }, &CheckConfig::default())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    report.verdict.to_string()
}

/// Checks one history both ways; returns the verdict they agree on.
fn agree(ops: &[HOp], model: &str, init: V) -> bool {
    let (state, param) = match model {
        "multi-register" => (State::Registers(Vec::new()), None),
        "mutex" => (State::Mutex(false), None),
        _ => (State::Register(init), init.map(Value::Int)),
    };
    let expected = oracle(ops, state);
    let got = weft_verdict(ops, model, param);
    let want = if expected {
        "linearizable"
    } else {
        "not-linearizable"
    };
    assert_eq!(got, want, "model {model}, init {init:?}\n{}", to_edn(ops));
    expected
}

/// Builds a history from `(process, invoke, complete, end)` in the order given: each
/// operation is invoked, then the next ones, and completions come where `closes` says.
/// `script` lists events: `Inv(i)` invokes operation `i`, `Ret(i)` completes it.
enum Ev {
    Inv(usize),
    Ret(usize),
}

fn history(ops: &[(u64, Op, Op, End)], script: &[Ev]) -> Vec<HOp> {
    let mut out: Vec<HOp> = ops
        .iter()
        .map(|(p, inv, comp, end)| HOp {
            process: *p,
            invoke: inv.clone(),
            complete: comp.clone(),
            end: *end,
            call: usize::MAX,
            ret: usize::MAX,
        })
        .collect();
    for (at, ev) in script.iter().enumerate() {
        match ev {
            Ev::Inv(i) => out[*i].call = at,
            Ev::Ret(i) => out[*i].ret = at,
        }
    }
    out
}

use Ev::{Inv, Ret};

#[test]
fn a_nil_read_is_of_unknown_value_in_edn() {
    // write 1 completes, then a read returns nil: in Knossos's rules the read's value is
    // unknown, so this is linearizable (weft's JSON Lines would read a real nil: not).
    let ops = [
        (0, Op::Write(Some(1)), Op::Write(Some(1)), End::Ok),
        (1, Op::Read(None), Op::Read(None), End::Ok),
    ];
    let h = history(&ops, &[Inv(0), Ret(0), Inv(1), Ret(1)]);
    assert!(agree(&h, "register", Some(0)));
    assert!(agree(&h, "cas-register", Some(0)));
    // Reading 0 after the write of 1 is not.
    let ops = [
        (0, Op::Write(Some(1)), Op::Write(Some(1)), End::Ok),
        (1, Op::Read(None), Op::Read(Some(0)), End::Ok),
    ];
    let h = history(&ops, &[Inv(0), Ret(0), Inv(1), Ret(1)]);
    assert!(!agree(&h, "register", Some(0)));
    assert!(!agree(&h, "cas-register", Some(0)));
}

#[test]
fn failed_operations_never_happened() {
    // cas [0 2] fails; a later read of 2 is impossible. A failed write of 3 does not explain
    // a read of 3 either.
    let ops = [
        (
            0,
            Op::Cas(Some(0), Some(2)),
            Op::Cas(Some(0), Some(2)),
            End::Fail,
        ),
        (1, Op::Read(None), Op::Read(Some(2)), End::Ok),
    ];
    let h = history(&ops, &[Inv(0), Ret(0), Inv(1), Ret(1)]);
    assert!(!agree(&h, "cas-register", Some(0)));
    let ops = [
        (0, Op::Write(Some(3)), Op::Write(Some(3)), End::Fail),
        (1, Op::Read(None), Op::Read(Some(3)), End::Ok),
    ];
    let h = history(&ops, &[Inv(0), Inv(1), Ret(1), Ret(0)]);
    assert!(!agree(&h, "register", Some(0)));
}

#[test]
fn indeterminate_operations_may_happen_late_or_never() {
    // cas [0 1] is :info; a read of 1 long after, then a read of 1 again: it took effect.
    let ops = [
        (
            0,
            Op::Cas(Some(0), Some(1)),
            Op::Cas(Some(0), Some(1)),
            End::Info,
        ),
        (1, Op::Read(None), Op::Read(Some(0)), End::Ok),
        (1, Op::Read(None), Op::Read(Some(1)), End::Ok),
        (2, Op::Read(None), Op::Read(Some(0)), End::Ok),
    ];
    let script = [
        Inv(0),
        Ret(0),
        Inv(1),
        Ret(1),
        Inv(2),
        Ret(2),
        Inv(3),
        Ret(3),
    ];
    let h = history(&ops, &script);
    // 0, then 1, then 0 again: the cas happened once, and nothing writes 0 back.
    assert!(!agree(&h, "cas-register", Some(0)));
    // Without the last read it is fine; with the write pending (never completed) as well.
    assert!(agree(&h[..3], "cas-register", Some(0)));
    let ops = [
        (0, Op::Write(Some(4)), Op::Write(Some(4)), End::Never),
        (1, Op::Read(None), Op::Read(Some(0)), End::Ok),
        (1, Op::Read(None), Op::Read(Some(4)), End::Ok),
    ];
    let h = history(&ops, &[Inv(0), Inv(1), Ret(1), Inv(2), Ret(2)]);
    assert!(agree(&h, "register", Some(0)));
}

#[test]
fn multi_register_transactions() {
    let txn = |m: &[(bool, u8, V)]| Op::Txn(m.to_vec());
    // T1 writes k0=1, k1=1 atomically; T2 (after) reads k0=1, k1=nil (unknown): fine.
    let ops = [
        (
            0,
            txn(&[(true, 0, Some(1)), (true, 1, Some(1))]),
            txn(&[(true, 0, Some(1)), (true, 1, Some(1))]),
            End::Ok,
        ),
        (
            1,
            txn(&[(false, 0, None), (false, 1, None)]),
            txn(&[(false, 0, Some(1)), (false, 1, None)]),
            End::Ok,
        ),
    ];
    let h = history(&ops, &[Inv(0), Ret(0), Inv(1), Ret(1)]);
    assert!(agree(&h, "multi-register", None));
    // T2 reads k0=1 but k1=0 (never written): not atomic.
    let mut bad = ops.clone();
    bad[1].2 = txn(&[(false, 0, Some(1)), (false, 1, Some(0))]);
    let h = history(&bad, &[Inv(0), Ret(0), Inv(1), Ret(1)]);
    assert!(!agree(&h, "multi-register", None));
    // With T1 indeterminate, reading k0=1 then k1=1 in T2 is fine, and reading k0=1 in one
    // transaction and k1 unwritten... in a later one is not.
    let ops = [
        (
            0,
            txn(&[(true, 0, Some(1)), (true, 1, Some(1))]),
            txn(&[(true, 0, Some(1)), (true, 1, Some(1))]),
            End::Info,
        ),
        (
            1,
            txn(&[(false, 0, None)]),
            txn(&[(false, 0, Some(1))]),
            End::Ok,
        ),
        (
            1,
            txn(&[(false, 1, None), (true, 2, Some(5))]),
            txn(&[(false, 1, Some(2)), (true, 2, Some(5))]),
            End::Ok,
        ),
    ];
    let h = history(&ops, &[Inv(0), Ret(0), Inv(1), Ret(1), Inv(2), Ret(2)]);
    assert!(!agree(&h, "multi-register", None));
    // A transaction reads its own write.
    let ops = [(
        0,
        txn(&[(true, 3, Some(2)), (false, 3, None)]),
        txn(&[(true, 3, Some(2)), (false, 3, Some(2))]),
        End::Ok,
    )];
    assert!(agree(
        &history(&ops, &[Inv(0), Ret(0)]),
        "multi-register",
        None
    ));
}

#[test]
fn mutex_histories() {
    let ops = [
        (0, Op::Acquire, Op::Acquire, End::Ok),
        (1, Op::Acquire, Op::Acquire, End::Fail),
        (0, Op::Release, Op::Release, End::Info),
        (1, Op::Acquire, Op::Acquire, End::Ok),
    ];
    let script = [
        Inv(0),
        Ret(0),
        Inv(1),
        Ret(1),
        Inv(2),
        Ret(2),
        Inv(3),
        Ret(3),
    ];
    assert!(agree(&history(&ops, &script), "mutex", None));
    let ops = [
        (0, Op::Acquire, Op::Acquire, End::Ok),
        (1, Op::Acquire, Op::Acquire, End::Ok),
    ];
    assert!(!agree(
        &history(&ops, &[Inv(0), Ret(0), Inv(1), Ret(1)]),
        "mutex",
        None
    ));
}

// ---- Random histories -------------------------------------------------------------------

fn value() -> impl Strategy<Value = V> {
    prop_oneof![1 => Just(None), 3 => (0..3i64).prop_map(Some)]
}

/// An operation for `model`: (invocation value, completion value).
fn op_for(model: &'static str) -> BoxedStrategy<(Op, Op)> {
    match model {
        "register" | "cas-register" => {
            let mut choices = vec![
                value().prop_map(|v| (Op::Read(None), Op::Read(v))).boxed(),
                (0..3i64)
                    .prop_map(|v| (Op::Write(Some(v)), Op::Write(Some(v))))
                    .boxed(),
            ];
            if model == "cas-register" {
                let cas = ((0..3i64), (0..3i64))
                    .prop_map(|(a, b)| (Op::Cas(Some(a), Some(b)), Op::Cas(Some(a), Some(b))));
                choices.push(cas.boxed());
            }
            proptest::strategy::Union::new(choices).boxed()
        }
        "multi-register" => {
            let micro = (any::<bool>(), 0..2u8, value());
            prop::collection::vec(micro, 1..=3)
                .prop_map(|micros| {
                    let invoke = micros
                        .iter()
                        .map(|&(w, k, v)| {
                            if w {
                                (w, k, v.or(Some(0)))
                            } else {
                                (w, k, None)
                            }
                        })
                        .collect::<Vec<_>>();
                    let complete = micros
                        .iter()
                        .zip(&invoke)
                        .map(|(&(w, k, v), &(_, _, iv))| (w, k, if w { iv } else { v }))
                        .collect();
                    (Op::Txn(invoke), Op::Txn(complete))
                })
                .boxed()
        }
        _ => prop_oneof![
            Just((Op::Acquire, Op::Acquire)),
            Just((Op::Release, Op::Release))
        ]
        .boxed(),
    }
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![6 => Just(End::Ok), 1 => Just(End::Fail), 1 => Just(End::Info), 1 => Just(End::Never)]
}

/// A random history: up to 7 operations by 3 processes, events interleaved by `order`
/// (each draw picks the process whose next event comes next).
fn random_history(model: &'static str) -> impl Strategy<Value = Vec<HOp>> {
    let op = (0..3u64, op_for(model), end());
    (
        prop::collection::vec(op, 1..=7),
        prop::collection::vec(0..3usize, 14),
    )
        .prop_map(|(planned, order)| interleave(planned, &order))
}

fn interleave(planned: Vec<(u64, (Op, Op), End)>, order: &[usize]) -> Vec<HOp> {
    // Each process's queue of operations; a process's events are sequential.
    let mut queues: Vec<Vec<usize>> = vec![Vec::new(); 3];
    for (i, (p, _, _)) in planned.iter().enumerate() {
        queues[*p as usize].push(i);
    }
    let mut ops: Vec<HOp> = planned
        .iter()
        .map(|(p, (inv, comp), end)| HOp {
            process: *p,
            invoke: inv.clone(),
            complete: comp.clone(),
            end: *end,
            call: usize::MAX,
            ret: usize::MAX,
        })
        .collect();
    // Process p's next event: invoke queues[p][0], or complete it (then pop). An operation
    // that never completes stays open, and its process invokes nothing more.
    let mut open = [false; 3];
    let mut at = 0;
    let mut draws = order.iter().copied().chain((0..).map(|i| i % 3));
    while queues.iter().any(|q| !q.is_empty()) {
        let p = draws.next().unwrap_or(0);
        let Some(&i) = queues[p].first() else {
            continue;
        };
        if !open[p] {
            ops[i].call = at;
            if ops[i].end == End::Never {
                queues[p].clear();
            } else {
                open[p] = true;
            }
        } else {
            ops[i].ret = at;
            open[p] = false;
            queues[p].remove(0);
        }
        at += 1;
    }
    ops.retain(|o| o.call != usize::MAX);
    ops
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn weft_agrees_with_the_oracle_on_registers(h in random_history("register"), init in value()) {
        agree(&h, "register", init);
    }

    #[test]
    fn weft_agrees_with_the_oracle_on_cas_registers(h in random_history("cas-register"), init in value()) {
        agree(&h, "cas-register", init);
    }

    #[test]
    fn weft_agrees_with_the_oracle_on_multi_registers(h in random_history("multi-register")) {
        agree(&h, "multi-register", None);
    }

    #[test]
    fn weft_agrees_with_the_oracle_on_mutexes(h in random_history("mutex")) {
        agree(&h, "mutex", None);
    }
}

/// Both verdicts occur among the random histories (the property tests are not vacuous).
#[test]
fn random_histories_have_both_verdicts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    for model in ["register", "cas-register", "multi-register", "mutex"] {
        let mut runner = TestRunner::deterministic();
        let strategy = random_history(model);
        let (mut yes, mut no) = (0, 0);
        for _ in 0..200 {
            let h = strategy.new_tree(&mut runner).unwrap().current();
            if agree(&h, model, Some(0)) {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(
            yes >= 20 && no >= 20,
            "{model}: {yes} linearizable, {no} not"
        );
    }
}

/// weft's JSON Lines keeps a null read a real nil; `value_unknown` marks an unknown one. The
/// same history in EDN follows Knossos (nil = unknown).
#[test]
fn jsonl_is_explicit_about_unknown_values() {
    let verdict = |text: &str, format: Format| {
        let history = format.parse(text).unwrap_or_else(|e| panic!("{e}"));
        let init = Some(Value::Int(0));
        let config = CheckConfig::default();
        check_history("register", &history, &Params { init }, &config)
            .unwrap()
            .verdict
    };
    let jsonl = r#"{"process":0,"type":"invoke","f":"read","value":null}
{"process":0,"type":"ok","f":"read","value":null}
"#;
    assert_eq!(verdict(jsonl, Format::Jsonl), "not-linearizable");
    let unknown = jsonl.replace(
        r#""ok","f":"read","value":null"#,
        r#""ok","f":"read","value":null,"value_unknown":true"#,
    );
    assert_eq!(verdict(&unknown, Format::Jsonl), "linearizable");
    let edn = "{:process 0, :type :invoke, :f :read, :value nil}\n\
               {:process 0, :type :ok, :f :read, :value nil}\n";
    assert_eq!(verdict(edn, Format::Edn), "linearizable");
    // value_unknown with a value, or on an invocation, is an error naming the line.
    let bad = unknown.replace(
        r#""value":null,"value_unknown""#,
        r#""value":3,"value_unknown""#,
    );
    let err = Format::Jsonl.parse(&bad).unwrap_err();
    assert_eq!(err.line, 2, "{err}");
}
