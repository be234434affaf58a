//! How `weft fuzz` shows where a search stands: a progress bar on a terminal, one JSON line
//! every few seconds otherwise (both on stderr, so stdout keeps the result), or nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::time::Duration;
use weft::internals::campaign::Progress;
use weft::internals::format_ns;

/// `--progress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A bar when stderr is a terminal, JSON lines otherwise.
    Auto,
    /// A progress bar.
    Bar,
    /// One JSON line every few seconds.
    Json,
    /// Nothing.
    None,
}

/// Time between JSON lines.
const JSON_EVERY: Duration = Duration::from_secs(5);

/// The progress display of one search.
pub struct Display {
    bar: Option<ProgressBar>,
    json: bool,
    cases_max: u64,
    time_max: Option<Duration>,
}

impl Display {
    /// The display `mode` asks for, for a search of at most `cases_max` cases and `time_max`.
    pub fn new(mode: Mode, cases_max: u64, time_max: Option<Duration>) -> Display {
        let mode = match mode {
            Mode::Auto if std::io::stderr().is_terminal() => Mode::Bar,
            Mode::Auto => Mode::Json,
            other => other,
        };
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(cases_max), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} cases {msg}",
            )
            .expect("a valid template");
            bar.set_style(style.progress_chars("=> "));
            bar
        });
        Display {
            bar,
            json: mode == Mode::Json,
            cases_max,
            time_max,
        }
    }

    /// How often the search should report.
    pub fn every(&self) -> Duration {
        if self.json {
            JSON_EVERY
        } else {
            Duration::from_millis(200)
        }
    }

    /// Shows `p`.
    pub fn show(&self, p: &Progress) {
        let seconds = p.elapsed.as_secs_f64().max(1e-9);
        let rate = p.cases as f64 / seconds;
        if let Some(bar) = &self.bar {
            bar.set_position(p.ledger.count().min(self.cases_max));
            let budget = self
                .time_max
                .map(|t| format!(" of {}s", t.as_secs()))
                .unwrap_or_default();
            bar.set_message(format!(
                "| {} failure{} | {rate:.0} cases/s | {} simulated | {:.0}s{budget}",
                p.failures,
                if p.failures == 1 { "" } else { "s" },
                format_ns(p.sim_time_ns),
                seconds,
            ));
        } else if self.json {
            let line = json!({
                "elapsed_s": (seconds * 10.0).round() / 10.0,
                "cases": p.cases,
                "cases_done": p.ledger.count(),
                "failures": p.failures,
                "cases_per_s": rate.round(),
                "sim_time_ns": p.sim_time_ns,
            });
            eprintln!("{line}");
        }
    }

    /// Says that case `case` failed with `kind` and was saved to `file` (above the bar, or as
    /// a JSON line).
    pub fn found(&self, case: u64, kind: &str, file: &std::path::Path) {
        let file = file.display().to_string();
        match &self.bar {
            Some(bar) => bar.suspend(|| {
                eprintln!("weft: case {case} failed ({kind}); saved {file} before shrinking")
            }),
            None if self.json => {
                eprintln!(
                    "{}",
                    json!({"failure": {"case": case, "kind": kind, "file": file}})
                )
            }
            None => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
