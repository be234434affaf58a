//! The line protocol.

use std::fmt;

/// An operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Sets a key.
    Set(String, String),
    /// Reads a key.
    Get(String),
    /// Adds to an integer key (missing counts as 0); not idempotent.
    Incr(String, i64),
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `SET` done.
    Ok,
    /// `GET`'s value (`None`: no such key).
    Value(Option<String>),
    /// `INCR`'s new value.
    Int(i64),
    /// A refused request.
    Err(String),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Set(k, v) => write!(f, "SET {k} {v}"),
            Op::Get(k) => write!(f, "GET {k}"),
            Op::Incr(k, d) => write!(f, "INCR {k} {d}"),
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => f.write_str("OK"),
            Reply::Value(Some(v)) => write!(f, "VALUE {v}"),
            Reply::Value(None) => f.write_str("NONE"),
            Reply::Int(n) => write!(f, "INT {n}"),
            Reply::Err(e) => write!(f, "ERR {e}"),
        }
    }
}

fn word(s: &str) -> Result<String, String> {
    if s.is_empty() || s.contains(char::is_whitespace) {
        Err(format!("bad word {s:?}"))
    } else {
        Ok(s.to_string())
    }
}

impl Op {
    /// Parses `SET k v`, `GET k` or `INCR k d`.
    pub fn parse(words: &[&str]) -> Result<Op, String> {
        match words {
            ["SET", k, v] => Ok(Op::Set(word(k)?, word(v)?)),
            ["GET", k] => Ok(Op::Get(word(k)?)),
            ["INCR", k, d] => Ok(Op::Incr(
                word(k)?,
                d.parse().map_err(|_| format!("bad delta {d:?}"))?,
            )),
            _ => Err(format!("unknown request {:?}", words.join(" "))),
        }
    }

    /// Whether `k` and `v` can travel in a line.
    pub fn valid_word(s: &str) -> bool {
        word(s).is_ok()
    }
}

impl Reply {
    /// Parses a reply line.
    pub fn parse(line: &str) -> Result<Reply, String> {
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        match head {
            "OK" => Ok(Reply::Ok),
            "NONE" => Ok(Reply::Value(None)),
            "VALUE" => Ok(Reply::Value(Some(rest.to_string()))),
            "INT" => rest
                .parse()
                .map(Reply::Int)
                .map_err(|_| format!("bad reply {line:?}")),
            "ERR" => Ok(Reply::Err(rest.to_string())),
            _ => Err(format!("bad reply {line:?}")),
        }
    }
}
