//! Models chosen by name at run time (`weft check-history --model NAME`), applied to recorded
//! [`History`]s of Jepsen-like operations.
//!
//! Operations that failed (`:fail`) did not happen and are left out; operations with an
//! unknown outcome (`:info`, or no completion) may take effect at any time after their call, or
//! never.

use crate::cas_register::CasRegister;
use crate::kv::{Kv, KvOp, KvResult};
use crate::pool_history::{PoolAnswer, PoolOp, PoolSpec};
use crate::register::{Register, RegisterOp, RegisterResult};
use crate::set::{Set, SetOp, SetResult};
use std::collections::BTreeSet;
use std::fmt;
use weft_lincheck::{
    check, CheckConfig, CheckError, History, HistoryOp, Model, Operation, ParseError, Report,
    Status, Value,
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
            let (ops, origin) = convert(history, register_op(false))?;
            let model = Register::new(params.init.clone().unwrap_or_default());
            run(name, &model, &ops, &origin, history, config)
        }
        "cas-register" => {
            let (ops, origin) = convert(history, register_op(true))?;
            let model = CasRegister::new(params.init.clone().unwrap_or_default());
            run(name, &model, &ops, &origin, history, config)
        }
        "kv" | "kv-whole" => {
            if params.init.is_some() {
                let msg = format!("model {name} takes no --init (every key starts empty)");
                return Err(CatalogError::BadParameter(msg));
            }
            let (ops, origin) = convert(history, kv_op)?;
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
        "set" => {
            let init = match &params.init {
                None | Some(Value::Nil) => Vec::new(),
                Some(Value::List(items)) => items.clone(),
                Some(other) => {
                    let msg =
                        format!("--init for model set must be a list of elements, not {other}");
                    return Err(CatalogError::BadParameter(msg));
                }
            };
            let (ops, origin) = convert(history, set_op)?;
            run(name, &Set::new(init), &ops, &origin, history, config)
        }
        "pool" => {
            let capacity = match &params.init {
                None | Some(Value::Nil) => 1,
                Some(Value::List(items)) => match items.as_slice() {
                    [Value::Int(size), Value::Int(overflow)] if *size >= 0 && *overflow >= 0 => {
                        (size + overflow) as usize
                    }
                    _ => {
                        return Err(CatalogError::BadParameter(
                            "--init for model pool must be [SIZE MAX_OVERFLOW]".to_string(),
                        ))
                    }
                },
                Some(other) => {
                    let msg =
                        format!("--init for model pool must be [SIZE MAX_OVERFLOW], not {other}");
                    return Err(CatalogError::BadParameter(msg));
                }
            };
            let (ops, origin) = convert(history, pool_op)?;
            run(name, &PoolSpec { capacity }, &ops, &origin, history, config)
        }
        _ => Err(CatalogError::UnknownModel(name.to_string())),
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

/// Maps the history's operations (leaving out failed ones) with `map`, which sees only
/// operations with status ok, info or pending and returns `Err(message)` for one it cannot
/// take. Returns the operations and, for each, the index of its history operation.
fn convert<I, O>(
    history: &History,
    mut map: impl FnMut(&HistoryOp) -> Result<Mapped<I, O>, String>,
) -> Result<Converted<I, O>, CatalogError> {
    let mut ops = Vec::with_capacity(history.ops.len());
    let mut origin = Vec::with_capacity(history.ops.len());
    for (i, h) in history.ops.iter().enumerate() {
        if h.status == Status::Fail {
            continue;
        }
        let (input, output) =
            map(h).map_err(|m| CatalogError::BadOperation(ParseError::new(h.call_line, m)))?;
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

fn unknown_f(h: &HistoryOp, model: &str, known: &str) -> String {
    format!(
        "operation {:?} is not one the {model} model knows ({known})",
        h.f
    )
}

fn register_op(
    cas: bool,
) -> impl FnMut(&HistoryOp) -> Result<Mapped<RegisterOp<Value>, RegisterResult<Value>>, String> {
    move |h| {
        let ok = Some(RegisterResult::Ok);
        Ok(match h.f.as_str() {
            "read" | "r" | "get" => (
                RegisterOp::Read,
                Some(RegisterResult::Read(h.result.clone())),
            ),
            "write" | "w" | "put" => (RegisterOp::Write(h.value.clone()), ok),
            "cas" | "compare-and-set" if cas => match h.value.as_list() {
                Some([from, to]) => {
                    let input = RegisterOp::Cas {
                        from: from.clone(),
                        to: to.clone(),
                    };
                    (input, ok)
                }
                _ => return Err(format!("cas needs a value [from to], not {}", h.value)),
            },
            _ if cas => return Err(unknown_f(h, "cas-register", "read, write, cas")),
            _ => return Err(unknown_f(h, "register", "read, write")),
        })
    }
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
