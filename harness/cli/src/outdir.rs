//! The output folder of `weft fuzz --out DIR`, and what `weft merge` reads back.
//!
//! ```text
//! DIR/summary.json                          cases, simulated and wall time, failure groups
//! DIR/progress.json                         the cases done (for --resume), rewritten as it goes
//! DIR/failures/<scenario>-case<K>.weft-replay.json          a failure as found (before shrinking)
//! DIR/failures/<scenario>-case<K>.shrunk.weft-replay.json   the same failure shrunk, and beside
//! DIR/failures/<scenario>-case<K>.shrunk.html               it its report and history
//! DIR/failures/<scenario>-case<K>.json                      the record the groups are made of
//! ```
//!
//! `K` is the case's index in the whole search (not in its shard), so the folders of the shards
//! of one search never name two cases alike. Groups are computed from the records, so a
//! resumed search and a merge of shards group the same way.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `format` field of a summary.
pub const SUMMARY_FORMAT: &str = "weft-fuzz-summary";

/// One failure, as recorded once it is shrunk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Scenario name.
    pub scenario: String,
    /// Index of the case in the whole search (0-based).
    pub case: u64,
    /// Seed of the case's strategy.
    pub case_seed: u64,
    /// Failure kind.
    pub kind: String,
    /// The shrunk counterexample with worker and task numbers replaced (the grouping key).
    pub form: String,
    /// The shrunk counterexample as printed.
    pub counterexample: String,
    /// The replay file as found, relative to the output folder.
    pub replay: String,
    /// The shrunk replay file, relative to the output folder.
    pub shrunk: String,
    /// The HTML report, relative to the output folder, if one was written.
    pub html: Option<String>,
    /// Why shrinking stopped early, if it did.
    pub cut_short: Option<String>,
}

/// Failures with the same scenario, kind and shrunk counterexample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Scenario name.
    pub scenario: String,
    /// Failure kind.
    pub kind: String,
    /// Failures in the group.
    pub count: u64,
    /// The lowest case index of the group.
    pub first_case: u64,
    /// Its strategy seed.
    pub first_seed: u64,
    /// Its shrunk replay file (with the folder it is in, for merged summaries).
    pub shrunk: String,
    /// Its replay file as found.
    pub replay: String,
    /// Its HTML report, if any.
    pub html: Option<String>,
    /// The shrunk counterexample (of the first case).
    pub counterexample: String,
}

/// What `summary.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`SUMMARY_FORMAT`].
    pub format: String,
    /// Scenario names (one for a search, several for a merge of several searches).
    pub scenarios: Vec<String>,
    /// Planted bugs switched on.
    pub bugs: Vec<String>,
    /// The strategy.
    pub strategy: String,
    /// The search's seed.
    pub seed: u64,
    /// The shards this summary covers, as `K/N`.
    pub shards: Vec<String>,
    /// Cases run.
    pub cases: u64,
    /// Simulated time covered by them.
    pub sim_time_ns: u64,
    /// Wall-clock time spent (summed over shards).
    pub wall_time_ms: u64,
    /// Why the search ended (for a merge: every shard's reason).
    pub ended: Vec<String>,
    /// Failures found.
    pub failures: u64,
    /// Failures found but not shrunk yet (their replay files as found).
    pub unshrunk: Vec<String>,
    /// The failure groups, by first case.
    pub groups: Vec<Group>,
}

/// The progress file: what a resumed search starts from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgressFile {
    /// Scenario, bugs, strategy, seed and shard of the search, as `weft fuzz` describes it:
    /// a resume must be the same search.
    pub search: serde_json::Value,
    /// Cases done.
    pub ledger: weft::internals::campaign::Ledger,
    /// Cases run, simulated and wall time, summed over the runs of this search so far.
    pub cases: u64,
    /// Simulated time covered.
    pub sim_time_ns: u64,
    /// Wall-clock time spent.
    pub wall_time_ms: u64,
}

/// The failures folder of `dir`.
pub fn failures_dir(dir: &Path) -> PathBuf {
    dir.join("failures")
}

/// The file stem of case `case` of `scenario`.
pub fn stem(scenario: &str, case: u64) -> String {
    format!("{scenario}-case{case}")
}

/// A counterexample's grouping form: worker and task numbers replaced, without the replay
/// line and the swarm profile (which differ between cases that tell the same story).
pub fn form_of(counterexample: &str) -> String {
    let text: Vec<&str> = counterexample
        .lines()
        .filter(|l| !l.starts_with("Swarm profile:"))
        .collect();
    crate::bug_table::shrunk_form(text.join("\n").trim_start())
}

/// Writes `value` as pretty JSON to `path` atomically (a temporary file renamed into place).
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).expect("serializes") + "\n";
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads a JSON file of type `T`, naming the file in the error.
pub fn read_json<T: for<'a> Deserialize<'a>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is damaged: {e}", path.display()))
}

/// The records and the replay files without a record (failures not shrunk) of `dir`, with
/// paths relative to `dir` made relative to `prefix` instead.
pub fn read_failures(dir: &Path, prefix: &Path) -> Result<(Vec<Record>, Vec<String>), String> {
    let folder = failures_dir(dir);
    let mut records = Vec::new();
    let mut raw = Vec::new();
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((records, raw)),
        Err(e) => return Err(format!("cannot read {}: {e}", folder.display())),
    };
    let join = |p: &str| prefix.join(p).display().to_string();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: {e}", folder.display()))?
            .path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if name.ends_with(".weft-replay.json") && !name.ends_with(".shrunk.weft-replay.json") {
            raw.push(name);
        } else if name.ends_with(".json") && !name.ends_with(".weft-replay.json") {
            let mut record: Record = read_json(&path)?;
            record.replay = join(&record.replay);
            record.shrunk = join(&record.shrunk);
            record.html = record.html.as_deref().map(join);
            records.push(record);
        }
    }
    let recorded: Vec<String> = records
        .iter()
        .map(|r| format!("{}.weft-replay.json", stem(&r.scenario, r.case)))
        .collect();
    raw.retain(|name| !recorded.contains(name));
    raw.sort();
    let unshrunk = raw
        .iter()
        .map(|name| join(&format!("failures/{name}")))
        .collect();
    Ok((records, unshrunk))
}

/// Groups records by scenario, kind and form, each group led by its lowest case.
pub fn groups(records: &[Record]) -> Vec<Group> {
    let mut by_key: BTreeMap<(&str, &str, &str), Vec<&Record>> = BTreeMap::new();
    for r in records {
        by_key
            .entry((r.scenario.as_str(), r.kind.as_str(), r.form.as_str()))
            .or_default()
            .push(r);
    }
    let mut groups: Vec<Group> = by_key
        .into_values()
        .map(|members| {
            let first = members.iter().min_by_key(|r| r.case).expect("a member");
            Group {
                scenario: first.scenario.clone(),
                kind: first.kind.clone(),
                count: members.len() as u64,
                first_case: first.case,
                first_seed: first.case_seed,
                shrunk: first.shrunk.clone(),
                replay: first.replay.clone(),
                html: first.html.clone(),
                counterexample: first.counterexample.clone(),
            }
        })
        .collect();
    groups.sort_by_key(|g| (g.scenario.clone(), g.first_case));
    groups
}

/// The summary's failure groups as a few lines of text.
pub fn describe(summary: &Summary) -> String {
    let mut text = format!(
        "{} cases, {} simulated, {:.1} s of wall time: {} failure{} in {} group{}",
        summary.cases,
        weft::internals::format_ns(summary.sim_time_ns),
        summary.wall_time_ms as f64 / 1000.0,
        summary.failures,
        if summary.failures == 1 { "" } else { "s" },
        summary.groups.len(),
        if summary.groups.len() == 1 { "" } else { "s" },
    );
    for g in &summary.groups {
        let first_line = g
            .counterexample
            .lines()
            .find(|l| l.starts_with("Violation:"))
            .unwrap_or("");
        text.push_str(&format!(
            "\n  {} x{}: {} (first case {}, seed {}): {}\n    {}",
            g.scenario, g.count, g.kind, g.first_case, g.first_seed, g.shrunk, first_line
        ));
    }
    for raw in &summary.unshrunk {
        text.push_str(&format!("\n  not shrunk yet: {raw}"));
    }
    text
}
