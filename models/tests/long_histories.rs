//! Long histories: 10^5 operations from 5 processes (values 0-4, no unknown outcomes),
//! produced by a real sequential object (each operation takes effect at an instant inside its
//! interval), are decided within a 256 MiB memory bound: linearizable as produced, not
//! linearizable with one read altered to a value never written (at 90% of the history).
//! Register, compare-and-set register and the key/value map checked whole.
//!
//! The time is printed, not asserted (run with `--release -- --nocapture` to see it). An
//! unoptimized build checks histories of 10,000 operations unless `WEFT_SLOW=1` is set.

use std::time::{Duration, Instant};
use weft_lincheck::{check, CheckConfig, Model, Operation, Verdict};
use weft_models::cas_register::CasRegister;
use weft_models::kv::{Kv, KvOp, KvResult};
use weft_models::register::{Register, RegisterOp, RegisterResult};

/// Operations per history: 10^5 (10^4 in an unoptimized build, unless `WEFT_SLOW=1`).
fn op_count() -> usize {
    if cfg!(debug_assertions) && std::env::var_os("WEFT_SLOW").is_none() {
        10_000
    } else {
        100_000
    }
}
const PROCESSES: u64 = 5;

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    }
}

/// `count` operations by `PROCESSES` processes, each sequential, with random gaps and
/// durations; each takes effect at a distinct instant inside its interval, in which order
/// `apply` runs them on the real object.
fn execute<C: Clone, O, S>(
    seed: u64,
    count: usize,
    mut state: S,
    mut command: impl FnMut(&mut Rng) -> C,
    apply: impl Fn(&mut S, &C) -> O,
) -> Vec<Operation<C, O>> {
    let mut rng = Rng(seed);
    let mut free = [0u64; PROCESSES as usize];
    let mut planned = Vec::with_capacity(count);
    for i in 0..count {
        let p = rng.below(PROCESSES);
        let call = free[p as usize] + rng.below(3) * 10;
        let effect = call + 1 + rng.below(40) * 10 + (i as u64 % 10);
        let ret = effect + 1 + rng.below(40) * 10;
        free[p as usize] = ret + 10;
        planned.push((effect, p, command(&mut rng), call, ret));
    }
    let mut by_effect: Vec<usize> = (0..count).collect();
    by_effect.sort_by_key(|&i| (planned[i].0, i));
    let mut outputs: Vec<Option<O>> = (0..count).map(|_| None).collect();
    for i in by_effect {
        outputs[i] = Some(apply(&mut state, &planned[i].2));
    }
    let mut ops: Vec<Operation<C, O>> = planned
        .into_iter()
        .zip(outputs)
        .map(|((_, p, cmd, call, ret), out)| Operation::new(p, cmd, out.unwrap(), call, ret))
        .collect();
    ops.sort_by_key(|o| o.call);
    ops
}

fn decide<M>(name: &str, model: &M, ops: &[Operation<M::Input, M::Output>]) -> Verdict
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    let config = CheckConfig {
        timeout: Some(Duration::from_secs(300)),
        max_memory_bytes: 256 << 20,
        ..CheckConfig::default()
    };
    let started = Instant::now();
    let result = check(model, ops, &config).unwrap();
    let stats = &result.parts[0].stats;
    eprintln!(
        "{name}: {} operations, {} in {:.2} s, {} memo entries, {:.1} MiB of tables",
        ops.len(),
        result.verdict,
        started.elapsed().as_secs_f64(),
        stats.cache_entries,
        stats.cache_bytes as f64 / (1 << 20) as f64
    );
    result.verdict
}

/// Index of the first read at or after 90% of the history, found by `is_read`.
fn late_read<C, O>(ops: &[Operation<C, O>], is_read: impl Fn(&C) -> bool) -> usize {
    (ops.len() * 9 / 10..ops.len())
        .find(|&i| is_read(&ops[i].input))
        .expect("a read late in the history")
}

fn register_command(cas: bool) -> impl FnMut(&mut Rng) -> RegisterOp<i64> {
    move |rng| match rng.below(if cas { 3 } else { 2 }) {
        0 => RegisterOp::Read,
        1 => RegisterOp::Write(rng.below(5) as i64),
        _ => RegisterOp::Cas {
            from: rng.below(5) as i64,
            to: rng.below(5) as i64,
        },
    }
}

fn register_apply(state: &mut i64, cmd: &RegisterOp<i64>) -> RegisterResult<i64> {
    match cmd {
        RegisterOp::Read => RegisterResult::Read(*state),
        RegisterOp::Write(v) => {
            *state = *v;
            RegisterResult::Ok
        }
        RegisterOp::Cas { from, to } if from == state => {
            *state = *to;
            RegisterResult::Ok
        }
        RegisterOp::Cas { .. } => RegisterResult::Failed,
    }
}

#[test]
fn a_long_register_history_is_decided_both_ways() {
    let mut ops = execute(1, op_count(), 0i64, register_command(false), register_apply);
    assert_eq!(
        decide("register", &Register::new(0), &ops),
        Verdict::Linearizable
    );
    let bad = late_read(&ops, |c| matches!(c, RegisterOp::Read));
    ops[bad].output = Some(RegisterResult::Read(7));
    assert_eq!(
        decide("register, one bad read", &Register::new(0), &ops),
        Verdict::NotLinearizable
    );
}

#[test]
fn a_long_cas_register_history_is_decided_both_ways() {
    let mut ops = execute(2, op_count(), 0i64, register_command(true), register_apply);
    assert_eq!(
        decide("cas-register", &CasRegister::new(0), &ops),
        Verdict::Linearizable
    );
    let bad = late_read(&ops, |c| matches!(c, RegisterOp::Read));
    ops[bad].output = Some(RegisterResult::Read(7));
    assert_eq!(
        decide("cas-register, one bad read", &CasRegister::new(0), &ops),
        Verdict::NotLinearizable
    );
}

#[test]
fn a_long_kv_history_checked_whole_is_decided_both_ways() {
    let command = |rng: &mut Rng| {
        let key = rng.below(5).to_string();
        match rng.below(4) {
            0 | 1 => KvOp::Get(key),
            2 => KvOp::Put(key, rng.below(5).to_string()),
            _ => KvOp::Append(key, rng.below(5).to_string()),
        }
    };
    let apply = |map: &mut Vec<String>, cmd: &KvOp| match cmd {
        KvOp::Get(k) => KvResult::Value(map[k.parse::<usize>().unwrap()].clone()),
        KvOp::Put(k, v) => {
            map[k.parse::<usize>().unwrap()] = v.clone();
            KvResult::Ok
        }
        KvOp::Append(k, v) => {
            map[k.parse::<usize>().unwrap()].push_str(v);
            KvResult::Ok
        }
    };
    let mut ops = execute(3, op_count(), vec![String::new(); 5], command, apply);
    let (model, compiled) = Kv::compile(&ops, false);
    assert_eq!(decide("kv-whole", &model, &compiled), Verdict::Linearizable);
    let bad = late_read(&ops, |c| matches!(c, KvOp::Get(_)));
    ops[bad].output = Some(KvResult::Value("never written".to_string()));
    let (model, compiled) = Kv::compile(&ops, false);
    assert_eq!(
        decide("kv-whole, one bad read", &model, &compiled),
        Verdict::NotLinearizable
    );
}
