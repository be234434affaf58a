//! Readers (and a writer) of recorded histories. See `FORMATS.md` for the formats.

pub mod edn;
pub mod jepsen_log;
pub mod jsonl;

use crate::history::{History, ParseError};
use std::fmt;
use std::str::FromStr;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Jepsen's log lines (`INFO  jepsen.util - 3 :invoke :read nil`).
    JepsenLog,
    /// Jepsen EDN: one map per line, or a vector or list of maps.
    Edn,
    /// weft's JSON Lines.
    Jsonl,
}

impl Format {
    /// Every format, with its name.
    pub const ALL: [(Format, &'static str); 3] = [
        (Format::JepsenLog, "jepsen-log"),
        (Format::Edn, "edn"),
        (Format::Jsonl, "jsonl"),
    ];

    /// The format's name: `jepsen-log`, `edn` or `jsonl`.
    pub fn name(self) -> &'static str {
        Format::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n)
    }

    /// Guesses the format from the first line that is neither blank nor an EDN comment: a JSON
    /// object (or a line starting `{"`, as JSON Lines do and Jepsen's EDN maps, keyed by
    /// keywords, do not) is `jsonl`; another `{`, `[` or `(` is `edn`; anything else
    /// `jepsen-log`. A damaged JSON line is thus still read, and reported, as JSON.
    pub fn detect(text: &str) -> Format {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';'))
            .unwrap_or("");
        if let Some(inside) = first.strip_prefix('{') {
            let quoted_key = inside.trim_start().starts_with('"');
            if quoted_key || serde_json::from_str::<serde_json::Value>(first).is_ok() {
                Format::Jsonl
            } else {
                Format::Edn
            }
        } else if first.starts_with('[') || first.starts_with('(') {
            Format::Edn
        } else {
            Format::JepsenLog
        }
    }

    /// Reads `text` in this format.
    pub fn parse(self, text: &str) -> Result<History, ParseError> {
        match self {
            Format::JepsenLog => jepsen_log::parse(text),
            Format::Edn => edn::parse(text),
            Format::Jsonl => jsonl::parse(text),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(f, _)| *f)
            .ok_or_else(|| format!("unknown format {s:?} (known: jepsen-log, edn, jsonl)"))
    }
}
