//! Recorded histories: [`Event`]s (invocations and completions, as in Jepsen) paired into
//! [`HistoryOp`]s.

use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// An error in a recorded history, naming the line (1-based) where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// An error at `line`. Control characters in `message` (a newline quoted from damaged
    /// input) are escaped, so the message is one line.
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.chars().any(char::is_control) {
            message = message
                .chars()
                .map(|c| match c {
                    c if c.is_control() => c.escape_default().to_string(),
                    c => c.to_string(),
                })
                .collect();
        }
        ParseError { line, message }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The kind of an event, as Jepsen's `:type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A client calls an operation.
    Invoke,
    /// The operation completed and took effect; `value` is its result.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// The outcome is unknown (timeout, crash): it may take effect at any later time, or never.
    Info,
}

impl EventType {
    /// `invoke`, `ok`, `fail` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    /// The type named `name` (with or without Jepsen's leading colon).
    pub fn from_name(name: &str) -> Option<EventType> {
        match name.strip_prefix(':').unwrap_or(name) {
            "invoke" => Some(EventType::Invoke),
            "ok" => Some(EventType::Ok),
            "fail" => Some(EventType::Fail),
            "info" => Some(EventType::Info),
            _ => None,
        }
    }
}

/// One event of a history: one line of weft's JSON Lines format (see `FORMATS.md`), e.g.
/// `{"process":0,"type":"invoke","f":"write","key":null,"value":3,"time":120}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The client that issued the operation.
    pub process: u64,
    /// Invocation or completion.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The operation's name (`read`, `write`, `cas`, `get`, `put`, `append`, `add`, ...).
    pub f: String,
    /// The key, for operations on a map (`null` otherwise).
    #[serde(default)]
    pub key: Value,
    /// The argument (on an invocation) or the result (on an `ok` completion).
    #[serde(default)]
    pub value: Value,
    /// When it happened, in nanoseconds (any monotonic clock). Either every event of a
    /// history has a time or none has; without times, line order is real-time order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// On an `ok` completion: the operation completed but its result was not recorded (for a
    /// read: it returned some value, which one is unknown). `value` must then be null. Absent
    /// (false) by default: in weft's JSON Lines a null `value` is a real nil.
    #[serde(default, skip_serializing_if = "is_false")]
    pub value_unknown: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Event {
    /// An event without a time.
    pub fn new(process: u64, kind: EventType, f: &str, key: Value, value: Value) -> Self {
        Event {
            process,
            kind,
            f: f.to_string(),
            key,
            value,
            time: None,
            value_unknown: false,
        }
    }
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Completed with `ok`: it took effect, with the completion's value as result.
    Ok,
    /// Completed with `fail`: it did not take effect.
    Fail,
    /// Completed with `info`: unknown outcome.
    Info,
    /// Never completed in the history: unknown outcome.
    Pending,
}

/// An operation: an invocation paired with its completion, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryOp {
    /// The client.
    pub process: u64,
    /// The operation's name.
    pub f: String,
    /// The key (nil when none).
    pub key: Value,
    /// The invocation's value (the argument).
    pub value: Value,
    /// How it ended.
    pub status: Status,
    /// The `ok` completion's value (the result); nil otherwise.
    pub result: Value,
    /// The operation completed `ok` but its result is unknown (JSON Lines: `value_unknown`).
    /// Formats whose nil results mean "unknown" say so by their [`Convention`] instead.
    pub result_unknown: bool,
    /// The invocation's time (its index among the events when the history has no times).
    pub call: u64,
    /// The completion's time, if it completed.
    pub ret: Option<u64>,
    /// The invocation's line.
    pub call_line: usize,
    /// The completion's line.
    pub ret_line: Option<usize>,
}

impl HistoryOp {
    /// Whether the outcome is unknown (`info`, or no completion).
    pub fn is_unknown(&self) -> bool {
        matches!(self.status, Status::Info | Status::Pending)
    }
}

/// How a history's format reads nil results and failed compare-and-sets: the rules of the
/// tool the format comes from (see `FORMATS.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Convention {
    /// weft's JSON Lines: a nil result is a real nil (unknown results are marked
    /// `value_unknown`); failed operations are left out.
    #[default]
    Weft,
    /// Knossos (Jepsen EDN): an `ok` read whose value is nil read an unknown value, consistent
    /// with any state (register, cas-register and multi-register models); failed operations
    /// are left out.
    Knossos,
    /// Porcupine's Jepsen etcd logs: a nil read is a real nil (the key is absent); a failed
    /// compare-and-set is one that returned false: its expected value was not there.
    Porcupine,
}

impl Convention {
    /// Whether a nil read value means "unknown" (Knossos's register models).
    pub fn nil_read_is_unknown(self) -> bool {
        self == Convention::Knossos
    }

    /// Whether a failed compare-and-set is kept as one that found another value.
    pub fn failed_cas_returned_false(self) -> bool {
        self == Convention::Porcupine
    }
}

/// A history of operations, in invocation order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The operations, in invocation order.
    pub ops: Vec<HistoryOp>,
    /// How the format this history was read from reads nil results and failures.
    pub convention: Convention,
}

impl History {
    /// Pairs `(line, event)`s, given in real-time order, into operations: each process's
    /// completion closes its last invocation. An operation without completion is pending
    /// (unknown outcome). Errors name the offending line.
    pub fn from_events<I>(events: I) -> Result<History, ParseError>
    where
        I: IntoIterator<Item = (usize, Event)>,
    {
        let mut ops: Vec<HistoryOp> = Vec::new();
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut timed: Option<bool> = None;
        for (index, (line, ev)) in events.into_iter().enumerate() {
            let has_time = ev.time.is_some();
            match timed {
                None => timed = Some(has_time),
                Some(t) if t != has_time => {
                    let msg = if t {
                        "this event has no time but earlier ones have"
                    } else {
                        "this event has a time but earlier ones have none"
                    };
                    return Err(ParseError::new(line, msg));
                }
                Some(_) => {}
            }
            let time = ev.time.unwrap_or(index as u64);
            if ev.kind == EventType::Invoke {
                if let Some(&prev) = open.get(&ev.process) {
                    let msg = format!(
                        "process {} invokes {} while its {} invoked at line {} has not completed",
                        ev.process, ev.f, ops[prev].f, ops[prev].call_line
                    );
                    return Err(ParseError::new(line, msg));
                }
                open.insert(ev.process, ops.len());
                ops.push(HistoryOp {
                    process: ev.process,
                    f: ev.f,
                    key: ev.key,
                    value: ev.value,
                    status: Status::Pending,
                    result: Value::Nil,
                    result_unknown: false,
                    call: time,
                    ret: None,
                    call_line: line,
                    ret_line: None,
                });
                continue;
            }
            let Some(i) = open.remove(&ev.process) else {
                let msg = format!(
                    "{} completion of {} by process {} without an invocation",
                    ev.kind.as_str(),
                    ev.f,
                    ev.process
                );
                return Err(ParseError::new(line, msg));
            };
            complete(&mut ops[i], ev, line, time)?;
        }
        if timed == Some(true) {
            ops.sort_by_key(|op| op.call);
        }
        Ok(History {
            ops,
            convention: Convention::Weft,
        })
    }
}

/// Closes the pending operation `op` with its completion `ev`, read at `line` at `time`.
fn complete(op: &mut HistoryOp, ev: Event, line: usize, time: u64) -> Result<(), ParseError> {
    if op.f != ev.f {
        let msg = format!(
            "completion of {} by process {} does not match its invocation of {} at line {}",
            ev.f, ev.process, op.f, op.call_line
        );
        return Err(ParseError::new(line, msg));
    }
    if time < op.call {
        let msg = format!(
            "completion at time {time} precedes its invocation at line {} (time {})",
            op.call_line, op.call
        );
        return Err(ParseError::new(line, msg));
    }
    op.status = match ev.kind {
        EventType::Ok => Status::Ok,
        EventType::Fail => Status::Fail,
        _ => Status::Info,
    };
    if ev.value_unknown && (ev.kind != EventType::Ok || !ev.value.is_nil()) {
        let msg = "value_unknown is only for an ok completion whose value is null";
        return Err(ParseError::new(line, msg));
    }
    if op.status == Status::Ok {
        op.result = ev.value;
        op.result_unknown = ev.value_unknown;
    }
    op.ret = Some(time);
    op.ret_line = Some(line);
    Ok(())
}
