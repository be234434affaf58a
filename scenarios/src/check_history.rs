//! `weft check-history`: linearizability check of a recorded history.
//!
//! Exit codes: 0 linearizable, 1 not linearizable, 3 unknown (a time or memory bound was
//! reached, said on stderr), 2 bad usage or bad input (one line on stderr).
//!
//! Every resource is bounded: the input's size (`--max-input`) and the time to read it (a FIFO
//! without a writer), the search's time (`--timeout`, 60 s by default) and memory
//! (`--max-memory`), and the parsers' nesting depth (128).

use serde_json::{json, Value as Json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use weft_lincheck::{html, CheckConfig, Format, History, Report, Value};
use weft_models::catalog::{self, CatalogError, Params};

/// Arguments of `weft check-history`.
#[derive(clap::Args)]
#[command(after_help = models_help())]
pub struct Args {
    /// The history file.
    pub file: PathBuf,
    /// The model to check against (see the list below).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// The file's format; detected from its content when absent.
    #[arg(long, value_name = "FORMAT", value_parser = ["jepsen-log", "edn", "jsonl"])]
    pub format: Option<String>,
    /// The model's initial value (register, cas-register: a value; set: a list), in EDN or
    /// JSON syntax, e.g. `--init 0`, `--init '"a"'`, `--init '[1 2]'`. Default nil / empty.
    #[arg(long, value_name = "VALUE")]
    pub init: Option<String>,
    /// Give up after this many seconds, reading the input included (verdict unknown, exit 3).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: f64,
    /// Refuse inputs larger than this many MiB (exit 2).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub max_input: u64,
    /// Give up when the search's caches would pass this many MiB (verdict unknown, exit 3).
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    pub max_memory: u64,
    /// Threads checking independent parts (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML page drawing the history and the (partial) linearization.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
}

/// The time bound when `--timeout` is not given.
pub const DEFAULT_TIMEOUT_SECS: f64 = 60.0;

fn models_help() -> String {
    let mut s = String::from("Models:\n");
    for m in catalog::MODELS {
        s.push_str(&format!("  {:<15} {}\n", m.name, m.about));
    }
    s.push_str(
        "\nExit status: 0 linearizable, 1 not linearizable, 3 unknown, 2 bad usage or input.",
    );
    s
}

/// Reports bad usage or input on one line (control characters escaped); exit code 2.
fn fail(message: impl std::fmt::Display) -> u8 {
    let message: String = message
        .to_string()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    eprintln!("weft check-history: {message}");
    2
}

/// Reads the whole file as text, refusing more than `max_bytes`, NUL bytes (binary data, such
/// as `/dev/zero`), and input that does not end within `wait` (a FIFO nobody writes to: the
/// reading thread is left blocked and dies with the process).
fn read_input(path: &Path, max_bytes: u64, wait: Duration) -> Result<String, String> {
    // A regular file cannot block: read it on this thread (a thread of its own costs more
    // than reading a small history, and under load it waits to be scheduled).
    if let Ok(meta) = std::fs::metadata(path).map(|m| (m.is_file(), m.len())) {
        if meta.0 && meta.1 <= max_bytes {
            return read_file(path, meta.1, max_bytes);
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(read_limited(&owned, max_bytes));
    });
    match rx.recv_timeout(wait) {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the input did not end within {:.0} s (--timeout); a FIFO without a writer?",
            wait.as_secs_f64()
        )),
    }
}

/// A regular file of `size` bytes: read at once into a buffer of its size (no zeroed chunk,
/// no copy), with the same checks as [`read_limited`].
fn read_file(path: &Path, size: u64, max_bytes: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    let mut limited = file.take(max_bytes.saturating_add(1));
    loop {
        match limited.read_to_end(&mut bytes) {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    if bytes.contains(&0) {
        return Err("binary data (a NUL byte), not a history".to_string());
    }
    if bytes.len() as u64 > max_bytes {
        return Err(format!("larger than {} MiB (--max-input)", max_bytes >> 20));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))
}

fn read_limited(path: &Path, max_bytes: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let mut limited = file.take(max_bytes.saturating_add(1));
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match limited.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        if chunk[..n].contains(&0) {
            return Err("binary data (a NUL byte), not a history".to_string());
        }
        bytes.extend_from_slice(&chunk[..n]);
        if bytes.len() as u64 > max_bytes {
            return Err(format!("larger than {} MiB (--max-input)", max_bytes >> 20));
        }
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: Args) -> u8 {
    let started = Instant::now();
    let file = args.file.display().to_string();
    if !catalog::MODELS.iter().any(|m| m.name == args.model) {
        return fail(CatalogError::UnknownModel(args.model.clone()));
    }
    let timeout = match args.timeout {
        s if s.is_finite() && s > 0.0 && s < 1e9 => Duration::from_secs_f64(s),
        s => {
            return fail(format!(
                "--timeout must be a positive number of seconds, not {s}"
            ))
        }
    };
    let init = match args.init.as_deref().map(Value::parse_arg).transpose() {
        Ok(v) => v,
        Err(e) => return fail(format!("--init: {e}")),
    };
    let (format, history) = match read_history(&args, &file, timeout) {
        Ok(read) => read,
        Err(message) => return fail(message),
    };
    let config = CheckConfig {
        timeout: Some(timeout.saturating_sub(started.elapsed())),
        max_memory_bytes: usize::try_from(args.max_memory.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX),
        threads: args.threads,
        stop_on_violation: true,
    };
    let report = match catalog::check_history(&args.model, &history, &Params { init }, &config) {
        Ok(r) => r,
        Err(CatalogError::BadOperation(e)) => {
            return fail(format!("{file}:{}: {}", e.line, e.message))
        }
        Err(e) => return fail(e),
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    if let Some(out) = &args.html {
        let name = args
            .file
            .file_name()
            .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
        if let Err(e) = std::fs::write(out, html::render(&report, &name)) {
            return fail(format!("{}: {e}", out.display()));
        }
    }
    if args.json {
        println!("{}", to_json(&report, &file, format, elapsed_ms));
    } else {
        print_text(&report, &file, elapsed_ms);
    }
    say_bound(&report, timeout, args.max_memory);
    match report.verdict {
        "linearizable" => 0,
        "not-linearizable" => 1,
        _ => 3,
    }
}

/// Reads and parses the history (an error is the message for [`fail`]); refuses an empty one.
fn read_history(args: &Args, file: &str, timeout: Duration) -> Result<(Format, History), String> {
    let max_input = args.max_input.saturating_mul(1 << 20);
    let text = read_input(&args.file, max_input, timeout).map_err(|e| format!("{file}: {e}"))?;
    let format = match args.format.as_deref() {
        Some(name) => name.parse::<Format>()?,
        None => Format::detect(&text),
    };
    let history = format
        .parse(&text)
        .map_err(|e| format!("{file}:{}: {} (format {format})", e.line, e.message))?;
    if history.ops.is_empty() {
        return Err(format!(
            "{file}: no operations (format {format}): an empty history is not checked"
        ));
    }
    Ok((format, history))
}

/// Says on stderr which bound was reached, if one was.
fn say_bound(report: &Report, timeout: Duration, max_memory_mib: u64) {
    match report.unknown_reason {
        Some("timeout") => eprintln!(
            "weft check-history: the time bound was reached ({:.0} s, --timeout): verdict unknown",
            timeout.as_secs_f64()
        ),
        Some("memory-limit") => eprintln!(
            "weft check-history: the memory bound was reached ({max_memory_mib} MiB, --max-memory): verdict unknown"
        ),
        _ => {}
    }
}

fn op_json(report: &Report, i: usize, state: Option<&str>) -> Json {
    let op = &report.ops[i];
    let mut o = json!({
        "line": op.line,
        "client": op.client,
        "op": op.description,
    });
    if let Some(s) = state {
        o["state"] = json!(s);
    }
    o
}

fn to_json(report: &Report, file: &str, format: Format, elapsed_ms: f64) -> Json {
    let parts: Vec<Json> = report
        .parts
        .iter()
        .map(|p| {
            json!({
                "label": p.label,
                "verdict": p.verdict,
                "unknown_reason": p.unknown_reason,
                "operations": p.ops.len(),
                "linearized": p.linearization.len(),
                "linearization": p.linearization.iter().map(|s| op_json(report, s.op, Some(&s.state))).collect::<Vec<_>>(),
                "unplaced": p.unplaced.iter().map(|&i| op_json(report, i, None)).collect::<Vec<_>>(),
                "steps": p.steps,
                "cache_entries": p.cache_entries,
                "elapsed_ms": p.elapsed_ms,
            })
        })
        .collect();
    json!({
        "file": file,
        "format": format.name(),
        "model": report.model,
        "verdict": report.verdict,
        "unknown_reason": report.unknown_reason,
        "operations": report.ops.len(),
        "parts": report.parts.len(),
        "elapsed_ms": elapsed_ms,
        "check_ms": report.elapsed_ms,
        "part_results": parts,
    })
}

fn print_text(report: &Report, file: &str, elapsed_ms: f64) {
    // One write for the whole verdict, not one per line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let verdict = report.verdict.replace('-', " ");
    let reason = report
        .unknown_reason
        .map_or(String::new(), |r| format!(" ({r})"));
    let _ = writeln!(
        out,
        "{file}: {verdict}{reason} — model {}, {} operations, {} part{}, {elapsed_ms:.1} ms",
        report.model,
        report.ops.len(),
        report.parts.len(),
        if report.parts.len() == 1 { "" } else { "s" }
    );
    let describe = |i: usize| {
        let op = &report.ops[i];
        let line = op.line.map_or(String::new(), |l| format!("line {l}, "));
        format!("[{line}client {}] {}", op.client, op.description)
    };
    for part in report
        .parts
        .iter()
        .filter(|p| p.verdict == "not-linearizable")
    {
        let _ = writeln!(
            out,
            "  {}: not linearizable; the longest partial linearization places {} of {} operations",
            part.label,
            part.linearization.len(),
            part.ops.len()
        );
        let skip = part.linearization.len().saturating_sub(5);
        if skip > 0 {
            let _ = writeln!(out, "    ... {skip} earlier steps");
        }
        for (k, s) in part.linearization.iter().enumerate().skip(skip) {
            let _ = writeln!(out, "    {:>4}. {}  => {}", k + 1, describe(s.op), s.state);
        }
        let _ = writeln!(out, "    none of these can go next:");
        for &i in &part.unplaced {
            let _ = writeln!(out, "       ✗ {}", describe(i));
        }
    }
    let _ = out.flush();
}
