//! `--trace` with `--node NAME` and `--task TASK`: the event trace on stderr, only the lines of
//! one node and/or one task (given by index or by name).

use std::io::Write;
use tracing_subscriber::fmt::MakeWriter;
use weft::internals::SimTimer;

/// Which trace lines to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep the lines of this node (its name).
    pub node: Option<String>,
    /// Keep the lines of this task (its index or its name).
    pub task: Option<String>,
}

impl Filter {
    /// Whether a formatted trace line (`step N [node] T (name): what`) passes.
    fn keeps(&self, line: &str) -> bool {
        let node_ok = self
            .node
            .as_ref()
            .is_none_or(|n| line.contains(&format!(" [{n}]")));
        let task_ok = self.task.as_ref().is_none_or(|t| {
            line.contains(&format!("] {t}:"))
                || line.contains(&format!("] {t} ("))
                || line.contains(&format!("({t}):"))
        });
        node_ok && task_ok
    }
}

/// A writer that passes the lines its filter keeps to stderr.
pub struct Filtered(Filter);

impl Write for Filtered {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let kept: String = text
            .split_inclusive('\n')
            .filter(|line| self.0.keeps(line))
            .collect();
        std::io::stderr().write_all(kept.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Filter {
    type Writer = Filtered;

    fn make_writer(&'a self) -> Filtered {
        Filtered(self.clone())
    }
}

/// Prints the trace to stderr (with simulated time) when `on`, filtered by `filter`.
pub fn init(on: bool, filter: Filter) {
    if !on {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_timer(SimTimer)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_one_node_or_task() {
        let line = "0.000002s TRACE weft: step    12 [pool-node] 4 (pool): polled\n";
        let filter = |node: Option<&str>, task: Option<&str>| Filter {
            node: node.map(str::to_string),
            task: task.map(str::to_string),
        };
        assert!(filter(None, None).keeps(line));
        assert!(filter(Some("pool-node"), None).keeps(line));
        assert!(!filter(Some("driver"), None).keeps(line));
        assert!(filter(None, Some("4")).keeps(line));
        assert!(filter(Some("pool-node"), Some("pool")).keeps(line));
        assert!(!filter(None, Some("41")).keeps(line));
        assert!(!filter(None, Some("3")).keeps(line));
    }
}
