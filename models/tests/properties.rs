//! Property tests: histories produced by a real sequential execution (each operation taking
//! effect at a point inside its interval) are always linearizable; with one read result
//! altered, the checker's verdict must equal that of an independent brute-force search over
//! every order allowed by real time.

use proptest::prelude::*;
use std::collections::HashMap;
use weft_lincheck::{check, CheckConfig, Model, Operation, Verdict};
use weft_models::cas_register::CasRegister;
use weft_models::kv::{Kv, KvOp, KvResult};
use weft_models::register::{RegisterOp, RegisterResult};

/// One planned operation: who, what, timing (gap before the call, call to effect, effect to
/// return), and whether its outcome is reported unknown and, if so, whether it took effect.
#[derive(Clone, Debug)]
struct Plan<C> {
    client: u64,
    cmd: C,
    gap: u64,
    to_effect: u64,
    to_return: u64,
    unknown: bool,
    effect: bool,
}

fn plans<C: std::fmt::Debug + Clone>(
    cmd: impl Strategy<Value = C>,
    max: usize,
) -> impl Strategy<Value = Vec<Plan<C>>> {
    let plan = (
        0..4u64,
        cmd,
        0..4u64,
        1..4u64,
        1..4u64,
        prop::bool::weighted(0.15),
        any::<bool>(),
    )
        .prop_map(
            |(client, cmd, gap, to_effect, to_return, unknown, effect)| Plan {
                client,
                cmd,
                gap,
                to_effect,
                to_return,
                unknown,
                effect,
            },
        );
    prop::collection::vec(plan, 1..=max)
}

/// Runs the plans: each client's operations are sequential; every operation takes effect at
/// a distinct instant inside its interval (or never, for some unknown outcomes), in the order
/// of those instants, on the real sequential object `apply`.
fn execute<C: Clone, O, S>(
    plans: &[Plan<C>],
    mut state: S,
    apply: impl Fn(&mut S, &C) -> O,
) -> Vec<Operation<C, O>> {
    let mut cursor: HashMap<u64, u64> = HashMap::new();
    let mut timed = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let start = cursor.entry(p.client).or_insert(0);
        let call = (*start + p.gap) * 100;
        let effect = (*start + p.gap + p.to_effect) * 100 + i as u64;
        let ret = (*start + p.gap + p.to_effect + p.to_return) * 100;
        *start += p.gap + p.to_effect + p.to_return + 1;
        timed.push((effect, i, call, ret));
    }
    timed.sort();
    let mut outputs: Vec<Option<O>> = plans.iter().map(|_| None).collect();
    for &(_, i, _, _) in &timed {
        let p = &plans[i];
        if !p.unknown || p.effect {
            let out = apply(&mut state, &p.cmd);
            if !p.unknown {
                outputs[i] = Some(out);
            }
        }
    }
    let mut times: Vec<(u64, u64)> = vec![(0, 0); plans.len()];
    for &(_, i, call, ret) in &timed {
        times[i] = (call, ret);
    }
    plans
        .iter()
        .zip(outputs)
        .zip(times)
        .map(|((p, output), (call, ret))| match output {
            Some(out) => Operation::new(p.client, p.cmd.clone(), out, call, ret),
            None => Operation::unknown(p.client, p.cmd.clone(), call),
        })
        .collect()
}

/// Independent oracle: tries every order allowed by real time (operations with an unknown
/// outcome may also be left out), applying the sequential object directly.
fn brute_force<C, O: PartialEq, S: Clone>(
    ops: &[Operation<C, O>],
    state: S,
    apply: &impl Fn(&mut S, &C) -> O,
) -> bool {
    fn go<C, O: PartialEq, S: Clone>(
        ops: &[Operation<C, O>],
        done: &mut Vec<bool>,
        state: S,
        apply: &impl Fn(&mut S, &C) -> O,
    ) -> bool {
        let required_left = ops
            .iter()
            .zip(done.iter())
            .any(|(o, d)| !d && o.output.is_some());
        if !required_left {
            return true;
        }
        for i in 0..ops.len() {
            if done[i] {
                continue;
            }
            // `i` may go next unless a pending known-outcome operation returned before its call.
            let blocked = ops
                .iter()
                .zip(done.iter())
                .any(|(o, d)| !d && o.output.is_some() && o.ret < ops[i].call);
            if blocked {
                continue;
            }
            let mut next = state.clone();
            let out = apply(&mut next, &ops[i].input);
            if ops[i].output.as_ref().is_some_and(|o| *o != out) {
                continue;
            }
            done[i] = true;
            let ok = go(ops, done, next, apply);
            done[i] = false;
            if ok {
                return true;
            }
        }
        false
    }
    go(ops, &mut vec![false; ops.len()], state, apply)
}

fn verdict<M>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> Verdict
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    check(model, ops, &CheckConfig::default())
        .expect("valid operations")
        .verdict
}

// ---- key/value map ----

fn kv_cmd() -> impl Strategy<Value = KvOp> {
    let key = prop::sample::select(vec!["a", "b"]);
    prop_oneof![
        3 => key.clone().prop_map(|k| KvOp::Get(k.to_string())),
        1 => (key.clone(), 0..3u8).prop_map(|(k, v)| KvOp::Put(k.to_string(), format!("p{v}"))),
        2 => (key, 0..3u8).prop_map(|(k, v)| KvOp::Append(k.to_string(), format!("x{v}"))),
    ]
}

fn kv_apply(map: &mut HashMap<String, String>, cmd: &KvOp) -> KvResult {
    match cmd {
        KvOp::Get(k) => KvResult::Value(map.get(k).cloned().unwrap_or_default()),
        KvOp::Put(k, v) => {
            map.insert(k.clone(), v.clone());
            KvResult::Ok
        }
        KvOp::Append(k, v) => {
            map.entry(k.clone()).or_default().push_str(v);
            KvResult::Ok
        }
    }
}

fn kv_verdicts(ops: &[Operation<KvOp, KvResult>]) -> (Verdict, Verdict) {
    let (per_key, compiled) = Kv::compile(ops, true);
    let (whole, compiled_whole) = Kv::compile(ops, false);
    (
        verdict(&per_key, &compiled),
        verdict(&whole, &compiled_whole),
    )
}

// ---- compare-and-set register ----

fn reg_cmd() -> impl Strategy<Value = RegisterOp<i64>> {
    prop_oneof![
        3 => Just(RegisterOp::Read),
        2 => (0..3i64).prop_map(RegisterOp::Write),
        2 => (0..3i64, 0..3i64).prop_map(|(from, to)| RegisterOp::Cas { from, to }),
    ]
}

fn reg_apply(v: &mut i64, cmd: &RegisterOp<i64>) -> RegisterResult<i64> {
    match cmd {
        RegisterOp::Read => RegisterResult::Read(*v),
        RegisterOp::Write(x) => {
            *v = *x;
            RegisterResult::Ok
        }
        RegisterOp::Cas { from, to } if from == v => {
            *v = *to;
            RegisterResult::Ok
        }
        RegisterOp::Cas { .. } => RegisterResult::Failed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn executed_kv_histories_are_linearizable(plans in plans(kv_cmd(), 40)) {
        let ops = execute(&plans, HashMap::new(), kv_apply);
        prop_assert_eq!(kv_verdicts(&ops), (Verdict::Linearizable, Verdict::Linearizable));
    }

    #[test]
    fn executed_register_histories_are_linearizable(plans in plans(reg_cmd(), 40)) {
        let ops = execute(&plans, 0, reg_apply);
        prop_assert_eq!(verdict(&CasRegister::new(0), &ops), Verdict::Linearizable);
    }

    #[test]
    fn altered_kv_reads_are_judged_like_brute_force(
        plans in plans(kv_cmd(), 7),
        pick in any::<prop::sample::Index>(),
        replacement in prop::sample::select(vec!["", "p0", "p1", "x0", "x1x2", "p0x1", "x0x0"]),
    ) {
        let mut ops = execute(&plans, HashMap::new(), kv_apply);
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!((&ops[i].input, &ops[i].output), (KvOp::Get(_), Some(_))))
            .collect();
        prop_assume!(!reads.is_empty());
        let i = reads[pick.index(reads.len())];
        prop_assume!(ops[i].output != Some(KvResult::Value(replacement.to_string())));
        ops[i].output = Some(KvResult::Value(replacement.to_string()));
        let expected = if brute_force(&ops, HashMap::new(), &kv_apply) {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        prop_assert_eq!(kv_verdicts(&ops), (expected, expected));
    }

    #[test]
    fn altered_register_reads_are_judged_like_brute_force(
        plans in plans(reg_cmd(), 7),
        pick in any::<prop::sample::Index>(),
        replacement in 0..4i64,
    ) {
        let mut ops = execute(&plans, 0, reg_apply);
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!(ops[i].output, Some(RegisterResult::Read(v)) if v != replacement))
            .collect();
        prop_assume!(!reads.is_empty());
        let i = reads[pick.index(reads.len())];
        ops[i].output = Some(RegisterResult::Read(replacement));
        let expected = if brute_force(&ops, 0, &reg_apply) {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        prop_assert_eq!(verdict(&CasRegister::new(0), &ops), expected);
    }
}

#[test]
fn an_alteration_can_be_caught_or_indistinguishable() {
    // Write 1 then (later) read 1; altering the read to 0 is caught...
    let mut ops = vec![
        Operation::new(0, RegisterOp::Write(1), RegisterResult::Ok, 0, 10),
        Operation::new(1, RegisterOp::Read, RegisterResult::Read(1), 20, 30),
    ];
    assert!(brute_force(&ops, 0, &reg_apply));
    ops[1].output = Some(RegisterResult::Read(0));
    assert!(!brute_force(&ops, 0, &reg_apply));
    assert_eq!(
        verdict(&CasRegister::new(0), &ops),
        Verdict::NotLinearizable
    );
    // ...but when the read overlaps the write, reading 0 is indistinguishable from a correct run.
    ops[1].call = 5;
    assert!(brute_force(&ops, 0, &reg_apply));
    assert_eq!(verdict(&CasRegister::new(0), &ops), Verdict::Linearizable);
}
