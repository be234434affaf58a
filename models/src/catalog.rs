//! Models chosen by name at run time (`weft check-history --model NAME`), applied to recorded
//! [`History`]s of Jepsen-like operations.
//!
//! Operations that failed (`:fail`) did not happen and are left out (except, in Porcupine's
//! convention, a failed compare-and-set: it found another value); operations with an unknown
//! outcome (`:info`, or no completion) may take effect at any time after their call, or never.
//! A read whose value is unknown (JSON Lines `value_unknown`; in Knossos's convention, a nil
//! read of a register) is consistent with any state. The history's [`Convention`] (set by its
//! format) decides; `FORMATS.md` lists the rules.

use crate::cas_register::CasRegister;
use crate::kv::{Kv, KvOp, KvResult};
use crate::multi_register::{Micro, MultiRegister};
use crate::mutex::{Mutex, MutexOp};
use crate::pool_history::{PoolAnswer, PoolOp, PoolSpec};
use crate::register::{Register, RegisterOp, RegisterResult};
use crate::set::{Set, SetOp, SetResult};
use std::collections::BTreeSet;
use std::fmt;
use weft_lincheck::{
    check, CheckConfig, CheckError, Convention, History, HistoryOp, Model, Operation, ParseError,
    Report, Status, Value,
};

/// A model the catalog knows.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    /// Its name, for `--model`.
    pub name: &'static str,
    /// What it models and which operations (`f`) it knows.
    pub about: &'static str,
}

/// Every model the catalog knows.
pub const MODELS: &[ModelInfo] = &[
    ModelInfo {
        name: "register",
        about: "read/write register: read, write; --init VALUE (default nil)",
    },
    ModelInfo {
        name: "cas-register",
        about: "compare-and-set register (the etcd model): read, write, cas [from to]; --init VALUE (default nil)",
    },
    ModelInfo {
        name: "kv",
        about: "key/value map: get, put, append (a missing key reads \"\"), checked per key",
    },
    ModelInfo {
        name: "kv-whole",
        about: "the same key/value map checked as one state, without splitting by key",
    },
    ModelInfo {
        name: "set",
        about: "set: add, remove, read (all elements); --init [ELEMENTS] (default empty)",
    },
    ModelInfo {
        name: "multi-register",
        about: "Knossos's registers by key: txn [[read K V] [write K V] ...]; --init [[K V] ...] (default all nil)",
    },
    ModelInfo {
        name: "mutex",
        about: "Knossos's mutex: acquire (must be free), release (must be held); no --init",
    },
    ModelInfo {
        name: "pool",
        about: "worker pool (poolboy): checkout (result: a worker, or \"full\"), checkin (value: the worker; result \"ok\" or \"refused\"); --init [SIZE MAX_OVERFLOW] (default [1 0])",
    },
];

/// The names of [`MODELS`], comma-separated.
pub fn model_names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// Parameters of a model, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// The initial value (`--init`), for the models that take one.
    pub init: Option<Value>,
}

/// Why a history could not be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogError {
    /// No model has this name.
    UnknownModel(String),
    /// A parameter does not suit the model.
    BadParameter(String),
    /// An operation does not suit the model (naming its line).
    BadOperation(ParseError),
    /// The checker refused the operations.
    Check(CheckError),
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::UnknownModel(name) => {
                write!(
                    f,
                    "unknown model {name:?} (known models: {})",
                    model_names()
                )
            }
            CatalogError::BadParameter(m) => f.write_str(m),
            CatalogError::BadOperation(e) => write!(f, "{e}"),
            CatalogError::Check(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CatalogError {}

/// Checks `history` against the model named `name`.
pub fn check_history(
    name: &str,
    history: &History,
    params: &Params,
    config: &CheckConfig,
) -> Result<Report, CatalogError> {
    match name {
        "register" => {
            let (ops, origin) = convert(history, register_op(false, history.convention))?;
            let model = Register::new(params.init.clone().unwrap_or_default());
            run(name, &model, &ops, &origin, history, config)
        }
        "cas-register" => {
            let (ops, origin) = convert(history, register_op(true, history.convention))?;
            let model = CasRegister::new(params.init.clone().unwrap_or_default());
            run(name, &model, &ops, &origin, history, config)
        }
        "kv" | "kv-whole" => check_kv(name, history, params, config),
        "set" => {
            let init = set_init(params)?;
            let (ops, origin) = convert(history, skip_failed(set_op))?;
            run(name, &Set::new(init), &ops, &origin, history, config)
        }
        "multi-register" => {
            let init = multi_register_init(params.init.as_ref())?;
            let (ops, origin) = convert(history, txn_op(history.convention))?;
            run(
                name,
                &MultiRegister::new(init),
                &ops,
                &origin,
                history,
                config,
            )
        }
        "mutex" => {
            if params.init.is_some() {
                let msg = "model mutex takes no --init (the mutex starts free)".to_string();
                return Err(CatalogError::BadParameter(msg));
            }
            let (ops, origin) = convert(history, mutex_op)?;
            run(name, &Mutex, &ops, &origin, history, config)
        }
        "pool" => {
            let capacity = pool_capacity(params)?;
            let (ops, origin) = convert(history, skip_failed(pool_op))?;
            run(name, &PoolSpec { capacity }, &ops, &origin, history, config)
        }
        _ => Err(CatalogError::UnknownModel(name.to_string())),
    }
}

/// The key/value map, per key (`kv`) or whole (`kv-whole`).
fn check_kv(
    name: &str,
    history: &History,
    params: &Params,
    config: &CheckConfig,
) -> Result<Report, CatalogError> {
    if params.init.is_some() {
        let msg = format!("model {name} takes no --init (every key starts empty)");
        return Err(CatalogError::BadParameter(msg));
    }
    let (ops, origin) = convert(history, skip_failed(kv_op))?;
    let (model, compiled) = Kv::compile(&ops, name == "kv");
    let mut report = run(name, &model, &compiled, &origin, history, config)?;
    for part in &mut report.parts {
        if let Some(&first) = part.ops.first() {
            if name == "kv" {
                part.label = format!("key {:?}", model.key_of(&compiled[first].input));
            } else {
                part.label = "whole map".to_string();
            }
        }
    }
    Ok(report)
}

/// The set's initial elements (`--init [ELEMENTS]`).
fn set_init(params: &Params) -> Result<Vec<Value>, CatalogError> {
    match &params.init {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(items)) => Ok(items.clone()),
        Some(other) => {
            let msg = format!("--init for model set must be a list of elements, not {other}");
            Err(CatalogError::BadParameter(msg))
        }
    }
}

/// The pool's capacity, size plus overflow (`--init [SIZE MAX_OVERFLOW]`, default `[1 0]`).
fn pool_capacity(params: &Params) -> Result<usize, CatalogError> {
    let bad = |what: String| {
        let msg = format!("--init for model pool must be [SIZE MAX_OVERFLOW]{what}");
        Err(CatalogError::BadParameter(msg))
    };
    match &params.init {
        None | Some(Value::Nil) => Ok(1),
        Some(Value::List(items)) => match items.as_slice() {
            [Value::Int(size), Value::Int(overflow)] if *size >= 0 && *overflow >= 0 => {
                Ok((size + overflow) as usize)
            }
            _ => bad(String::new()),
        },
        Some(other) => bad(format!(", not {other}")),
    }
}

fn pool_op(h: &HistoryOp) -> Result<Mapped<PoolOp, PoolAnswer>, String> {
    let is = |v: &Value, word: &str| matches!(v, Value::Str(s) if s == word);
    Ok(match h.f.as_str() {
        "checkout" => {
            let answer = match &h.result {
                r if is(r, "full") => PoolAnswer::Full,
                Value::Nil if h.is_unknown() => PoolAnswer::Full, // ignored: unknown outcome
                Value::Nil => {
                    return Err("a checkout's result must be a worker or \"full\"".to_string())
                }
                worker => PoolAnswer::Worker(worker.clone()),
            };
            (PoolOp::Checkout, Some(answer))
        }
        "checkin" => {
            if h.value.is_nil() {
                return Err("a checkin's value must be the worker".to_string());
            }
            let answer = match &h.result {
                r if is(r, "refused") => PoolAnswer::Refused,
                r if is(r, "ok") || r.is_nil() => PoolAnswer::CheckedIn,
                other => {
                    return Err(format!(
                        "a checkin's result must be \"ok\" or \"refused\", not {other}"
                    ))
                }
            };
            (PoolOp::Checkin(h.value.clone()), Some(answer))
        }
        _ => return Err(unknown_f(h, "pool", "checkout, checkin")),
    })
}

fn run<M>(
    name: &str,
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    origin: &[usize],
    history: &History,
    config: &CheckConfig,
) -> Result<Report, CatalogError>
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    let result = check(model, ops, config).map_err(CatalogError::Check)?;
    let mut report = Report::new(name, model, ops, &result);
    for (op, &h) in report.ops.iter_mut().zip(origin) {
        op.line = history.ops.get(h).map(|o| o.call_line);
    }
    Ok(report)
}

/// An input and, for a known outcome, its output.
type Mapped<I, O> = (I, Option<O>);

/// Operations, and for each the index of the history operation it comes from.
type Converted<I, O> = (Vec<Operation<I, O>>, Vec<usize>);

/// Maps the history's operations with `map`, which returns `Ok(None)` for an operation to
/// leave out (a failed one, usually) and `Err(message)` for one it cannot take. Returns the
/// operations and, for each, the index of its history operation.
fn convert<I, O>(
    history: &History,
    mut map: impl FnMut(&HistoryOp) -> Result<Option<Mapped<I, O>>, String>,
) -> Result<Converted<I, O>, CatalogError> {
    let mut ops = Vec::with_capacity(history.ops.len());
    let mut origin = Vec::with_capacity(history.ops.len());
    for (i, h) in history.ops.iter().enumerate() {
        let mapped =
            map(h).map_err(|m| CatalogError::BadOperation(ParseError::new(h.call_line, m)))?;
        let Some((input, output)) = mapped else {
            continue;
        };
        let op = match output {
            Some(out) if !h.is_unknown() => {
                Operation::new(h.process, input, out, h.call, h.ret.unwrap_or(u64::MAX))
            }
            _ => Operation::unknown(h.process, input, h.call),
        };
        ops.push(op);
        origin.push(i);
    }
    Ok((ops, origin))
}

/// Leaves out failed operations: they did not take effect.
fn skip_failed<I, O>(
    mut map: impl FnMut(&HistoryOp) -> Result<Mapped<I, O>, String>,
) -> impl FnMut(&HistoryOp) -> Result<Option<Mapped<I, O>>, String> {
    move |h| match h.status {
        Status::Fail => Ok(None),
        _ => map(h).map(Some),
    }
}

/// Whether an ok read's `value` read an unknown value: marked so (JSON Lines), or nil under
/// Knossos's convention.
fn read_is_unknown(h: &HistoryOp, value: &Value, convention: Convention) -> bool {
    h.result_unknown || (value.is_nil() && convention.nil_read_is_unknown())
}

fn unknown_f(h: &HistoryOp, model: &str, known: &str) -> String {
    format!(
        "operation {:?} is not one the {model} model knows ({known})",
        h.f
    )
}

type RegisterMapped = Mapped<RegisterOp<Value>, RegisterResult<Value>>;

fn register_op(
    cas: bool,
    convention: Convention,
) -> impl FnMut(&HistoryOp) -> Result<Option<RegisterMapped>, String> {
    move |h| {
        let ok = Some(RegisterResult::Ok);
        let failed = h.status == Status::Fail;
        let is_cas = matches!(h.f.as_str(), "cas" | "compare-and-set") && cas;
        if failed && !(is_cas && convention.failed_cas_returned_false()) {
            return Ok(None);
        }
        Ok(Some(match h.f.as_str() {
            "read" | "r" | "get" if read_is_unknown(h, &h.result, convention) => {
                (RegisterOp::Read, None)
            }
            "read" | "r" | "get" => (
                RegisterOp::Read,
                Some(RegisterResult::Read(h.result.clone())),
            ),
            "write" | "w" | "put" => (RegisterOp::Write(h.value.clone()), ok),
            _ if is_cas => match h.value.as_list() {
                Some([from, to]) => {
                    let input = RegisterOp::Cas {
                        from: from.clone(),
                        to: to.clone(),
                    };
                    let output = if failed {
                        Some(RegisterResult::Failed)
                    } else {
                        ok
                    };
                    (input, output)
                }
                _ => return Err(format!("cas needs a value [from to], not {}", h.value)),
            },
            _ if cas => return Err(unknown_f(h, "cas-register", "read, write, cas")),
            _ => return Err(unknown_f(h, "register", "read, write")),
        }))
    }
}

fn multi_register_init(init: Option<&Value>) -> Result<Vec<(Value, Value)>, CatalogError> {
    let bad = || {
        CatalogError::BadParameter(
            "--init for model multi-register must be a list of [KEY VALUE] pairs".to_string(),
        )
    };
    match init {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(pairs)) => pairs
            .iter()
            .map(|p| match p.as_list() {
                Some([k, v]) => Ok((k.clone(), v.clone())),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

type TxnMapped = Mapped<Vec<Micro<Value, Value>>, ()>;

/// A transaction `[[f k v] ...]` (`f`: read/r or write/w). An ok transaction's micro-operations
/// are the completion's (they carry what the reads returned), others the invocation's.
fn txn_op(convention: Convention) -> impl FnMut(&HistoryOp) -> Result<Option<TxnMapped>, String> {
    move |h| {
        if h.status == Status::Fail {
            return Ok(None);
        }
        if h.f != "txn" {
            return Err(unknown_f(h, "multi-register", "txn"));
        }
        let known = h.status == Status::Ok && !h.result.is_nil();
        let txn = if known { &h.result } else { &h.value };
        let Some(items) = txn.as_list() else {
            return Err(format!(
                "a txn's value must be a list of [f k v], not {txn}"
            ));
        };
        let mut micros = Vec::with_capacity(items.len());
        for item in items {
            let micro = match item.as_list() {
                Some([f, k, v]) => match f.as_str() {
                    Some("read" | "r") if known && !read_is_unknown(h, v, convention) => {
                        Micro::Read(k.clone(), Some(v.clone()))
                    }
                    Some("read" | "r") => Micro::Read(k.clone(), None),
                    Some("write" | "w") => Micro::Write(k.clone(), v.clone()),
                    _ => {
                        return Err(format!(
                            "a txn's micro-operation must be read or write, not {f}"
                        ))
                    }
                },
                _ => {
                    return Err(format!(
                        "a txn's micro-operation must be [f k v], not {item}"
                    ))
                }
            };
            micros.push(micro);
        }
        Ok(Some((micros, Some(()))))
    }
}

fn mutex_op(h: &HistoryOp) -> Result<Option<Mapped<MutexOp, ()>>, String> {
    let op = match h.f.as_str() {
        "acquire" | "lock" => MutexOp::Acquire,
        "release" | "unlock" => MutexOp::Release,
        _ => return Err(unknown_f(h, "mutex", "acquire, release")),
    };
    Ok((h.status != Status::Fail).then_some((op, Some(()))))
}

fn kv_string(v: &Value, what: &str) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Nil => Ok(String::new()),
        other => Err(format!("{what} must be a string, not {other}")),
    }
}

fn kv_op(h: &HistoryOp) -> Result<Mapped<KvOp, KvResult>, String> {
    let key = match &h.key {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        other => return Err(format!("the key must be a string, not {other}")),
    };
    Ok(match h.f.as_str() {
        "get" | "read" if h.result_unknown => (KvOp::Get(key), None),
        "get" | "read" => {
            let value = kv_string(&h.result, "a get's result")?;
            (KvOp::Get(key), Some(KvResult::Value(value)))
        }
        "put" | "write" => {
            let value = kv_string(&h.value, "a put's value")?;
            (KvOp::Put(key, value), Some(KvResult::Ok))
        }
        "append" => {
            let value = kv_string(&h.value, "an append's value")?;
            (KvOp::Append(key, value), Some(KvResult::Ok))
        }
        _ => return Err(unknown_f(h, "kv", "get, put, append")),
    })
}

fn set_op(h: &HistoryOp) -> Result<Mapped<SetOp<Value>, SetResult<Value>>, String> {
    Ok(match h.f.as_str() {
        "add" => (SetOp::Add(h.value.clone()), Some(SetResult::Ok)),
        "remove" | "delete" => (SetOp::Remove(h.value.clone()), Some(SetResult::Ok)),
        "read" if h.result_unknown => (SetOp::Read, None),
        "read" => {
            let items: BTreeSet<Value> = match &h.result {
                Value::List(items) => items.iter().cloned().collect(),
                Value::Nil => BTreeSet::new(),
                other => {
                    return Err(format!(
                        "a read's result must be a list or set, not {other}"
                    ))
                }
            };
            (SetOp::Read, Some(SetResult::Read(items)))
        }
        _ => return Err(unknown_f(h, "set", "add, remove, read")),
    })
}
