//! Helpers shared by the `weft` binary's integration tests.
#![allow(dead_code)] // each test binary uses a part

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `weft` binary built for these tests.
pub fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

/// Standard output parsed as one JSON object.
pub fn json_of(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}"))
}

/// A fresh temporary directory, unique per call.
pub fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "weft-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `weft replay FILE --json` of a failing run: asserts exit 1 and returns the JSON object.
pub fn replay_json(file: &std::path::Path) -> serde_json::Value {
    let out = weft()
        .arg("replay")
        .arg(file)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

/// `weft fuzz ARGS --replay-out REPLAY` of a search that must find its failure: asserts exit 1
/// and returns the output.
pub fn fuzz_finding(args: &[&str], replay: &std::path::Path) -> Output {
    let out = weft()
        .arg("fuzz")
        .args(args)
        .arg("--replay-out")
        .arg(replay)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
