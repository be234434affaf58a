//! `weft merge DIR...`: one summary of the output folders of several `weft fuzz --out` runs
//! (the shards of one search, or several searches), with their failure groups merged.

use crate::commands::usage_error;
use crate::outdir::{self, Summary, SUMMARY_FORMAT};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Output folders of `weft fuzz --out`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Also write the merged summary (JSON) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the merged summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Every folder's summary and records, merged.
fn merge(dirs: &[PathBuf]) -> Result<Summary, String> {
    let mut merged = Summary {
        format: SUMMARY_FORMAT.to_string(),
        scenarios: Vec::new(),
        bugs: Vec::new(),
        strategy: String::new(),
        seed: 0,
        shards: Vec::new(),
        cases: 0,
        sim_time_ns: 0,
        wall_time_ms: 0,
        ended: Vec::new(),
        failures: 0,
        unshrunk: Vec::new(),
        groups: Vec::new(),
    };
    let (mut records, mut strategies) = (Vec::new(), BTreeSet::new());
    let (mut scenarios, mut bugs) = (BTreeSet::new(), BTreeSet::new());
    for (i, dir) in dirs.iter().enumerate() {
        let summary: Summary = outdir::read_json(&dir.join("summary.json"))?;
        if summary.format != SUMMARY_FORMAT {
            return Err(format!(
                "{}/summary.json is not a weft fuzz summary",
                dir.display()
            ));
        }
        if i == 0 {
            merged.seed = summary.seed;
        }
        scenarios.extend(summary.scenarios);
        bugs.extend(summary.bugs);
        strategies.insert(summary.strategy);
        merged.shards.extend(summary.shards);
        merged.ended.extend(summary.ended);
        merged.cases += summary.cases;
        merged.sim_time_ns += summary.sim_time_ns;
        merged.wall_time_ms += summary.wall_time_ms;
        let (found, unshrunk) = outdir::read_failures(dir, dir)?;
        records.extend(found);
        merged.unshrunk.extend(unshrunk);
    }
    merged.scenarios = scenarios.into_iter().collect();
    merged.bugs = bugs.into_iter().collect();
    merged.strategy = strategies.into_iter().collect::<Vec<_>>().join("+");
    merged.failures = (records.len() + merged.unshrunk.len()) as u64;
    merged.groups = outdir::groups(&records);
    Ok(merged)
}

pub fn run(args: Args) -> u8 {
    let merged = match merge(&args.dirs) {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    if let Some(path) = &args.out {
        if let Err(e) = outdir::write_json(path, &merged) {
            return usage_error(e);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&merged).expect("serializes"));
    } else {
        println!(
            "weft merge: {} folder{} ({}; shards {})\n{}",
            args.dirs.len(),
            if args.dirs.len() == 1 { "" } else { "s" },
            merged.scenarios.join(", "),
            merged.shards.join(", "),
            outdir::describe(&merged)
        );
    }
    u8::from(merged.failures > 0)
}
