//! Per-file checking times on Porcupine's public histories (../shared/data/porcupine).
//!
//! `cargo bench -p weft-models --bench porcupine` prints a Markdown table: for each file, the
//! model, the verdict, the time to parse the file, and the median and minimum time of
//! `catalog::check_history` (mapping to the model, the search, and the report) over several
//! runs, and the median time of the search alone (`check`, as the report records it). Pass a
//! substring to run only the matching rows, e.g. `-- c10`.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use weft_lincheck::{CheckConfig, Format, History};
use weft_models::catalog::{check_history, Params};

fn data_dir() -> PathBuf {
    weft_models::testdata::porcupine_dir().unwrap_or_else(|e| panic!("{e}"))
}

fn load(path: &PathBuf, format: Format) -> (History, Duration) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let started = Instant::now();
    let history = format
        .parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (history, started.elapsed())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = data_dir();
    let mut rows: Vec<(String, PathBuf, Format, &str)> = Vec::new();
    for i in 0..50 {
        let name = format!("etcd_{i:03}.log");
        rows.push((
            name.clone(),
            dir.join("jepsen-etcd").join(name),
            Format::JepsenLog,
            "cas-register",
        ));
    }
    for model in ["kv", "kv-whole"] {
        for c in ["c01", "c10", "c50"] {
            for s in ["ok", "bad"] {
                let name = format!("{c}-{s}.txt");
                rows.push((name.clone(), dir.join("kv").join(name), Format::Edn, model));
            }
        }
    }
    let config = CheckConfig {
        timeout: Some(Duration::from_secs(60)),
        ..CheckConfig::default()
    };
    println!(
        "| file | model | ops | verdict | parse ms | check ms (median) | check ms (min) | search ms (median) | runs |"
    );
    println!("|---|---|---:|---|---:|---:|---:|---:|---:|");
    let mut etcd_total = Duration::ZERO;
    for (name, path, format, model) in &rows {
        let label = format!("{name} {model}");
        if filter.as_ref().is_some_and(|f| !label.contains(f.as_str())) {
            continue;
        }
        let (history, parse) = load(path, *format);
        let mut times = Vec::new();
        let mut searches = Vec::new();
        let mut verdict = String::new();
        let budget = Instant::now();
        while times.len() < 3 || (times.len() < 50 && budget.elapsed() < Duration::from_secs(1)) {
            let started = Instant::now();
            let report = check_history(model, &history, &Params::default(), &config)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            times.push(started.elapsed());
            searches.push(report.elapsed_ms);
            verdict = report.verdict.to_string();
            if report.verdict == "unknown" {
                break;
            }
        }
        times.sort();
        let median = times[times.len() / 2];
        searches.sort_by(f64::total_cmp);
        let search = searches[searches.len() / 2];
        if name.starts_with("etcd") {
            etcd_total += median;
        }
        println!(
            "| {name} | {model} | {} | {verdict} | {:.3} | {:.3} | {:.3} | {search:.3} | {} |",
            history.ops.len(),
            ms(parse),
            ms(median),
            ms(times[0]),
            times.len()
        );
    }
    if etcd_total > Duration::ZERO {
        println!("\netcd_000-049, sum of medians: {:.3} ms", ms(etcd_total));
    }
}
