//! Where `weft fuzz` writes: one replay file (without `--out`, as before), or the output folder
//! of [`crate::outdir`] with its records, progress and summary.

use crate::fuzz_cmd::FuzzArgs;
use crate::outdir::{self, ProgressFile, Record, Summary, SUMMARY_FORMAT};
use serde_json::json;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant}; // hygiene: allowed (the CLI paces its progress file, outside any simulation)
use weft::internals::campaign::{CampaignResult, Progress};
use weft::internals::fuzz::{strategy_name, Found, FuzzConfig};

/// Time between two writes of the progress file.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The files of one `weft fuzz`.
pub struct Output {
    /// `--out`.
    dir: Option<PathBuf>,
    /// The replay file without `--out`.
    replay_file: PathBuf,
    /// What the search is (a resume must be the same search).
    search: serde_json::Value,
    /// The progress file of the runs before this one (`--resume`).
    pub resumed: Option<ProgressFile>,
    last_write: Cell<Option<Instant>>,
}

impl Output {
    /// Checks that the files can be written (and, with `--resume`, reads the progress file),
    /// before any case runs.
    pub fn prepare(args: &FuzzArgs, cfg: &FuzzConfig) -> Result<Output, String> {
        let search = json!({
            "scenario": cfg.name,
            "bugs": args.bugs,
            "strategy": strategy_name(cfg),
            "seed": cfg.seed,
            "shard": format!("{}/{}", args.shard.index, args.shard.count),
        });
        let replay_file = cfg
            .replay_file
            .clone()
            .expect("weft fuzz sets a replay file");
        let mut output = Output {
            dir: args.out.clone(),
            replay_file,
            search,
            resumed: None,
            last_write: Cell::new(None),
        };
        match &args.out {
            Some(dir) => output.prepare_dir(dir, args.resume)?,
            None => {
                let parent = output.replay_file.parent().unwrap_or(Path::new(""));
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        format!(
                            "cannot create the folder {} for the replay file: {e}",
                            parent.display()
                        )
                    })?;
                }
                probe(parent)?;
            }
        }
        Ok(output)
    }

    fn prepare_dir(&mut self, dir: &Path, resume: bool) -> Result<(), String> {
        let progress = dir.join("progress.json");
        if resume {
            let earlier: ProgressFile = outdir::read_json(&progress)?;
            if earlier.search != self.search {
                return Err(format!(
                    "{} records another search ({}), not this one ({})",
                    progress.display(),
                    earlier.search,
                    self.search
                ));
            }
            self.resumed = Some(earlier);
        } else if progress.exists() || dir.join("summary.json").exists() {
            return Err(format!(
                "{} holds an earlier search: resume it with --resume, or use an empty folder",
                dir.display()
            ));
        }
        let failures = outdir::failures_dir(dir);
        std::fs::create_dir_all(&failures).map_err(|e| {
            format!(
                "cannot create the output folder {}: {e}",
                failures.display()
            )
        })?;
        probe(&failures)?;
        if !resume {
            // From the start, so that a search killed at once can be resumed.
            let start = ProgressFile {
                search: self.search.clone(),
                ..ProgressFile::default()
            };
            outdir::write_json(&progress, &start)?;
        }
        Ok(())
    }

    /// Whether the files go to an output folder (`--out`).
    pub fn has_dir(&self) -> bool {
        self.dir.is_some()
    }

    /// Where the replay files of case `case` of `scenario` go: as found, and shrunk.
    pub fn paths(&self, scenario: &str, case: u64) -> (PathBuf, PathBuf) {
        match &self.dir {
            Some(dir) => {
                let stem = outdir::stem(scenario, case);
                let failures = outdir::failures_dir(dir);
                (
                    failures.join(format!("{stem}.weft-replay.json")),
                    failures.join(format!("{stem}.shrunk.weft-replay.json")),
                )
            }
            None => (self.replay_file.clone(), self.replay_file.clone()),
        }
    }

    /// Writes the record of a shrunk failure (with `--out`).
    pub fn record(&self, scenario: &str, case: u64, found: &Found) -> Result<(), String> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let stem = outdir::stem(scenario, case);
        let text = found.counterexample.to_string();
        let record = Record {
            scenario: scenario.to_string(),
            case,
            case_seed: found.case_seed,
            kind: found.counterexample.failure.kind.name().to_string(),
            form: outdir::form_of(&text),
            counterexample: text,
            replay: format!("failures/{stem}.weft-replay.json"),
            shrunk: format!("failures/{stem}.shrunk.weft-replay.json"),
            html: found
                .html_file
                .as_ref()
                .map(|_| format!("failures/{stem}.shrunk.html")),
            cut_short: found.shrink.as_ref().and_then(|s| s.cut_short.clone()),
        };
        let path = outdir::failures_dir(dir).join(format!("{stem}.json"));
        outdir::write_json(&path, &record)
    }

    /// The progress so far, counting the runs before a resume.
    fn total(&self, progress: &Progress) -> ProgressFile {
        let before = self.resumed.clone().unwrap_or_default();
        ProgressFile {
            search: self.search.clone(),
            ledger: progress.ledger.clone(),
            // Every case done in the search, this run's and the earlier runs'.
            cases: progress.ledger.count(),
            sim_time_ns: before.sim_time_ns + progress.sim_time_ns,
            wall_time_ms: before.wall_time_ms + progress.elapsed.as_millis() as u64,
        }
    }

    /// Rewrites the progress file (with `--out`), at most every two seconds.
    pub fn save_progress(&self, progress: &Progress) -> Result<(), String> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        if self
            .last_write
            .get()
            .is_some_and(|t| t.elapsed() < PROGRESS_EVERY)
        {
            return Ok(());
        }
        self.last_write.set(Some(Instant::now()));
        outdir::write_json(&dir.join("progress.json"), &self.total(progress))
    }

    /// Writes the final progress and `summary.json` (with `--out`) and returns the summary.
    pub fn finish(
        &self,
        args: &FuzzArgs,
        cfg: &FuzzConfig,
        result: &CampaignResult,
    ) -> Result<Option<Summary>, String> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let total = self.total(&result.progress);
        outdir::write_json(&dir.join("progress.json"), &total)?;
        let (records, unshrunk) = outdir::read_failures(dir, Path::new(""))?;
        let ended = serde_json::to_value(result.ended).expect("serializes");
        let summary = Summary {
            format: SUMMARY_FORMAT.to_string(),
            scenarios: vec![cfg.name.clone()],
            bugs: args.bugs.clone(),
            strategy: strategy_name(cfg).to_string(),
            seed: cfg.seed,
            shards: vec![format!("{}/{}", args.shard.index, args.shard.count)],
            cases: total.cases,
            sim_time_ns: total.sim_time_ns,
            wall_time_ms: total.wall_time_ms,
            ended: vec![ended.as_str().unwrap_or("?").to_string()],
            failures: (records.len() + unshrunk.len()) as u64,
            unshrunk,
            groups: outdir::groups(&records),
        };
        outdir::write_json(&dir.join("summary.json"), &summary)?;
        Ok(Some(summary))
    }
}

/// Checks that files can be created in `folder`.
fn probe(folder: &Path) -> Result<(), String> {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let probe = folder.join(format!(".weft-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| format!("cannot write in {}: {e}", folder.display()))
}
