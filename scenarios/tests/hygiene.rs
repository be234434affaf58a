//! Code that runs inside the simulation must not read the wall clock or OS randomness, start
//! OS threads, or iterate a randomly seeded hash map: any of these breaks replay. This test
//! scans the simulated code (the harness's runtime, the systems under test and the scenarios)
//! and names the replacement for each forbidden call.

use std::path::{Path, PathBuf};

const FORBIDDEN: &[(&str, &str)] = &[
    (
        "std::time::Instant",
        "weft::time::Instant (simulated monotonic time)",
    ),
    (
        "std::time::SystemTime",
        "weft::time::wall_clock_ns() (the node's skewed wall clock)",
    ),
    (
        "SystemTime::now",
        "weft::time::wall_clock_ns() (the node's skewed wall clock)",
    ),
    ("thread_rng", "weft::rand (every value a recorded decision)"),
    ("OsRng", "weft::rand::SimRng"),
    ("getrandom", "weft::rand"),
    ("thread::spawn", "weft::spawn (a simulated task)"),
    (
        "RandomState",
        "BTreeMap/BTreeSet, or a HashMap with a fixed hasher",
    ),
    (
        "HashMap",
        "BTreeMap (std's HashMap is seeded randomly per process)",
    ),
    (
        "HashSet",
        "BTreeSet (std's HashSet is seeded randomly per process)",
    ),
];

/// Files that run inside a simulation (the models' `run` methods do). The checker
/// (`harness/lincheck`) and the command-line front end run outside it and are not scanned.
fn simulated_sources(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![
        root.join("harness/src"),
        root.join("systems-under-test"),
        root.join("scenarios/src"),
        root.join("models/src"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                // The bundled tool's own subcommands (the demo, the benchmarks, the history
                // checker) measure elapsed wall time, outside any simulation; the generic front
                // end (`harness/cli`, crate `weft-cli`) is not scanned at all.
                let outside = ["main.rs", "check_history.rs", "bench.rs"];
                if path.starts_with(root.join("scenarios/src")) && outside.contains(&name.as_str())
                {
                    continue;
                }
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Lines that legitimately name a forbidden item: the scan's own table, doc comments that
/// explain the rule, and lines marked `// hygiene: allowed (<reason>)`.
fn exempt(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("//") || line.contains("// hygiene: allowed")
}

fn violations(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in simulated_sources(root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if exempt(line) {
                continue;
            }
            // `use std::time::{Duration, Instant};` imports the wall clock under a short name.
            if line.trim_start().starts_with("use std::time::")
                && (line.contains("Instant") || line.contains("SystemTime"))
            {
                found.push(format!(
                    "{}:{}: std's clock imported in simulated code; use weft::time::Instant or weft::time::wall_clock_ns()",
                    file.strip_prefix(root).unwrap().display(),
                    number + 1
                ));
                continue;
            }
            for (pattern, replacement) in FORBIDDEN {
                if line.contains(pattern) {
                    found.push(format!(
                        "{}:{}: `{pattern}` in simulated code; use {replacement}",
                        file.strip_prefix(root).unwrap().display(),
                        number + 1
                    ));
                }
            }
        }
    }
    found
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn simulated_code_has_no_hidden_nondeterminism() {
    let found = violations(&repo_root());
    assert!(
        found.is_empty(),
        "nondeterminism in simulated code:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_catches_each_forbidden_call() {
    let dir = std::env::temp_dir().join(format!("weft-hygiene-{}", std::process::id()));
    let src = dir.join("systems-under-test/x/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(dir.join("harness/src")).unwrap();
    std::fs::create_dir_all(dir.join("scenarios/src")).unwrap();
    std::fs::create_dir_all(dir.join("models/src")).unwrap();
    let body: String = FORBIDDEN
        .iter()
        .map(|(p, _)| format!("let x = {p}();\n"))
        .collect();
    let extra = "use std::time::{Duration, Instant};\n// HashMap in a comment is fine\nlet t = weft::time::Instant::now();\n";
    std::fs::write(src.join("lib.rs"), body + extra).unwrap();
    let found = violations(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), FORBIDDEN.len() + 1, "{found:#?}");
    for (i, (pattern, replacement)) in FORBIDDEN.iter().enumerate() {
        assert!(
            found[i].contains(&format!("lib.rs:{}: `{pattern}`", i + 1)),
            "{}",
            found[i]
        );
        assert!(found[i].ends_with(replacement), "{}", found[i]);
    }
    assert!(found[FORBIDDEN.len()].contains("std's clock imported"));
}
