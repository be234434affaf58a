//! Replay files: everything needed to reproduce a run, as JSON.
//!
//! A replay file holds the format version, the weft version, the scenario and its
//! configuration, the seed, the compact decision sequence, the failure and the trace hash.
//! Loading never panics: a damaged or foreign file is a [`ReplayError`] that says what is wrong.

use crate::decision::DecisionLog;
use crate::sim::Failure;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// The `format` field of every replay file.
pub const FORMAT: &str = "weft-replay";
/// The current format version.
pub const FORMAT_VERSION: u32 = 1;
/// Longest decision sequence a replay file may expand to.
pub const DECISIONS_MAX: usize = 50_000_000;

/// A replay file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The weft version that wrote it.
    pub weft_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario configuration (planted bugs, sizes...).
    pub config: serde_json::Value,
    /// Seed the run was generated from, if any.
    pub seed: Option<u64>,
    /// Strategy that generated the decisions ("random", "pct", "shrunk"...).
    pub strategy: String,
    /// Number of decisions (a check against damage).
    pub decision_count: usize,
    /// The compact decision sequence ([`DecisionLog::encode`]).
    pub decisions: String,
    /// The failure the run ended with, if any.
    pub failure: Option<Failure>,
    /// Stable trace hash of the run, hex.
    pub trace_hash: String,
    /// Scheduling steps.
    pub steps: u64,
    /// Simulated time at the end.
    pub sim_time_ns: u64,
}

/// Why a replay file could not be used.
#[derive(Debug)]
pub enum ReplayError {
    /// The file could not be read or written.
    Io(String, std::io::Error),
    /// Not JSON, or JSON of another shape.
    Malformed(String),
    /// A JSON file, but not a weft replay file.
    Foreign(String),
    /// Written by a newer format.
    Version(u32),
    /// The decision sequence is damaged.
    Decisions(String),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(path, e) => write!(f, "cannot access replay file {path}: {e}"),
            ReplayError::Malformed(why) => write!(f, "not a valid replay file: {why}"),
            ReplayError::Foreign(what) => write!(f, "not a weft replay file (format {what:?}, expected {FORMAT:?})"),
            ReplayError::Version(v) => write!(
                f,
                "replay file format version {v} is newer than this weft understands ({FORMAT_VERSION})"
            ),
            ReplayError::Decisions(why) => write!(f, "replay file's decision sequence is damaged: {why}"),
        }
    }
}

impl std::error::Error for ReplayError {}

impl ReplayFile {
    /// Builds a replay file for a run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &str,
        config: serde_json::Value,
        seed: Option<u64>,
        strategy: &str,
        log: &DecisionLog,
        failure: Option<Failure>,
        trace_hash: u64,
        steps: u64,
        sim_time_ns: u64,
    ) -> ReplayFile {
        ReplayFile {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            weft_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.to_string(),
            config,
            seed,
            strategy: strategy.to_string(),
            decision_count: log.len(),
            decisions: log.encode(),
            failure,
            trace_hash: format!("{trace_hash:016x}"),
            steps,
            sim_time_ns,
        }
    }

    /// The replay file of `report`, a run of `scenario` configured by `config`.
    pub fn of_report(
        scenario: &str,
        config: serde_json::Value,
        seed: Option<u64>,
        strategy: &str,
        report: &crate::sim::RunReport,
    ) -> ReplayFile {
        ReplayFile::new(
            scenario,
            config,
            seed,
            strategy,
            &report.log,
            report.outcome.failure().cloned(),
            report.trace_hash,
            report.steps,
            report.sim_time_ns,
        )
    }

    /// Parses and validates a replay file's text.
    pub fn parse(text: &str) -> Result<ReplayFile, ReplayError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ReplayError::Malformed(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(ReplayError::Foreign(other.to_string())),
            None => return Err(ReplayError::Foreign("<missing>".to_string())),
        }
        if let Some(v) = value.get("format_version").and_then(|v| v.as_u64()) {
            if v > u64::from(FORMAT_VERSION) {
                return Err(ReplayError::Version(v as u32));
            }
        }
        let file: ReplayFile =
            serde_json::from_value(value).map_err(|e| ReplayError::Malformed(e.to_string()))?;
        let log = file.log()?;
        if log.len() != file.decision_count {
            return Err(ReplayError::Decisions(format!(
                "{} decisions found, {} recorded",
                log.len(),
                file.decision_count
            )));
        }
        Ok(file)
    }

    /// The decision sequence.
    pub fn log(&self) -> Result<DecisionLog, ReplayError> {
        DecisionLog::decode(&self.decisions, DECISIONS_MAX)
            .map_err(|e| ReplayError::Decisions(e.to_string()))
    }

    /// Reads and validates a replay file.
    pub fn load(path: &Path) -> Result<ReplayFile, ReplayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReplayError::Io(path.display().to_string(), e))?;
        ReplayFile::parse(&text)
    }

    /// Writes the file atomically (a temporary file renamed into place), creating parent
    /// directories.
    pub fn save(&self, path: &Path) -> Result<(), ReplayError> {
        let io = |e| ReplayError::Io(path.display().to_string(), e);
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
        }
        let text = serde_json::to_string_pretty(self).expect("replay file serializes");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Decision, DecisionKind};

    fn sample() -> ReplayFile {
        let log = DecisionLog {
            decisions: vec![
                Decision {
                    kind: DecisionKind::Schedule,
                    bound: 3,
                    value: 1,
                };
                4
            ],
        };
        ReplayFile::new(
            "canary",
            serde_json::json!({}),
            Some(3),
            "random",
            &log,
            None,
            0xabc,
            10,
            20,
        )
    }

    #[test]
    fn round_trip() {
        let file = sample();
        let text = serde_json::to_string(&file).unwrap();
        assert_eq!(ReplayFile::parse(&text).unwrap(), file);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let good = serde_json::to_string(&sample()).unwrap();
        let cases = [
            ("", "not a valid"),
            ("{", "not a valid"),
            ("[1,2]", "not a weft replay"),
            (r#"{"format":"other"}"#, "not a weft replay"),
            (
                &good.replace("\"format_version\":1", "\"format_version\":99"),
                "newer",
            ),
            (
                &good.replace("s1/3*4", "s1/3*5"),
                "5 decisions found, 4 recorded",
            ),
            (&good.replace("s1/3*4", "s9/3*4"), "damaged"),
            (
                &good.replace("\"steps\":10", "\"steps\":\"x\""),
                "not a valid",
            ),
            (&good[..good.len() / 2], "not a valid"),
        ];
        for (text, expect) in cases {
            let err = ReplayFile::parse(text).unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
    }
}
