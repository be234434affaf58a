//! A user's crate outside the workspace (`tests/fixtures/user-crate`: a primary/backup register,
//! its model and a planted bug, written against weft's public API) gets the `weft` tool for its
//! own system through the documented entry point, `weft_cli::main(registry)`. The crate is
//! built here with cargo, as its user would, into the workspace's target folder so that the
//! dependencies already built are reused; then its bin is run as a nightly job would.

mod common;

use common::tempdir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/user-crate")
}

/// Builds the fixture's bin once per test binary (`--locked --offline`: the fixture's lock file
/// holds the workspace's versions, so nothing is resolved or fetched) and returns its path.
fn binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // CARGO_TARGET_TMPDIR is `<target>/tmp`, CARGO_TARGET_DIR respected.
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let manifest = fixture().join("Cargo.toml");
        let built = Command::new(cargo)
            .args(["build", "--release", "--locked", "--offline", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", target)
            .output()
            .expect("cargo runs");
        assert!(
            built.status.success(),
            "the user's crate does not build (if its Cargo.lock is stale, copy the workspace's Cargo.lock over it and run `cargo tree --offline` in {}):\n{}",
            fixture().display(),
            String::from_utf8_lossy(&built.stderr)
        );
        target.join("release/register-weft")
    })
}

/// Runs the user's tool in `dir` with `args`.
fn tool(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the user's tool runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn list_shows_the_users_scenario_and_no_bundled_one() {
    let out = tool(&tempdir(), &["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "register     a register on a primary and a backup; reads from the backup [bugs: ack-before-replicate]\n"
    );
    // The bundled tool's own subcommands are not there.
    let demo = tool(&tempdir(), &["demo"]);
    assert_eq!(demo.status.code(), Some(2));
    assert_eq!(
        stderr(&demo),
        "weft: unrecognized subcommand 'demo' (see register-weft --help)\n"
    );
}

#[test]
fn fuzz_finds_nothing_in_the_correct_system() {
    let out = tool(&tempdir(), &["fuzz", "register", "--cases", "300"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "register: no failure in 300 cases (seed 0; every case of the budget ran)\n"
    );
}

#[test]
fn fuzz_finds_shrinks_and_saves_the_planted_bug_and_replay_reproduces_it() {
    let dir = tempdir();
    let fuzz = ["fuzz", "register", "--bug", "ack-before-replicate"];
    let out = tool(&dir, &[&fuzz[..], &["--json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = common::json_of(&out);
    assert_eq!(found["failure_kind"], "check");
    // Shrunk to a write and a read, with the one late copy to the backup between them.
    assert_eq!(found["shrunk"]["commands"], 2, "{found}");
    assert_eq!(found["shrunk"]["nondefault_decisions"], 1, "{found}");
    let text = found["counterexample"].as_str().unwrap();
    assert!(text.contains("#0 write 1 -> Ok(1)"), "{text}");
    assert!(text.contains("#1 read -> Ok(0)"), "{text}");
    let file = found["replay_file"].as_str().unwrap();
    assert_eq!(file, "weft-failures/register-seed0.weft-replay.json");
    assert!(text.contains(&format!("Replay: register-weft replay {file}")));
    assert!(dir.join(file).is_file());

    let replayed = tool(&dir, &["replay", file]);
    assert_eq!(replayed.status.code(), Some(1), "{}", stderr(&replayed));
    let replayed = stdout(&replayed);
    assert!(replayed.starts_with("register: FAIL\n"), "{replayed}");
    assert!(replayed.contains("#1 read -> Ok(0)"), "{replayed}");
}

#[test]
fn a_nightly_shard_with_jobs_keeps_and_groups_every_failure() {
    let dir = tempdir();
    let args = [
        "fuzz",
        "register",
        "--bug",
        "ack-before-replicate",
        "--cases",
        "40",
        "--jobs",
        "2",
        "--shard",
        "1/2",
        "--keep-going",
        "--out",
        "nightly",
        "--progress",
        "none",
    ];
    let out = tool(&dir, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = std::fs::read_to_string(dir.join("nightly/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["scenarios"], serde_json::json!(["register"]));
    let groups = summary["groups"].as_array().expect("failure groups");
    assert_eq!(groups.len(), 1, "one bug, one shrunk form: {summary}");
    let html = std::fs::read_dir(dir.join("nightly/failures"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "html")
        })
        .count();
    assert!(html > 0, "every shrunk failure has its HTML report");
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = tempdir();
    let cases = [
        (
            &["fuzz", "pool"][..],
            "weft: unknown scenario \"pool\"; known scenarios: register\n",
        ),
        (
            &["fuzz", "register", "--bug", "nope"][..],
            "weft: unknown bug \"nope\" for scenario register; known bugs: ack-before-replicate\n",
        ),
        (
            &["replay", "missing.weft-replay.json"][..],
            "weft: cannot access replay file missing.weft-replay.json: ",
        ),
    ];
    for (args, expected) in cases {
        let out = tool(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let message = stderr(&out);
        assert!(message.starts_with(expected), "{args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn bug_table_measures_the_users_planted_bug() {
    let out = tool(
        &tempdir(),
        &["bug-table", "--seeds", "2", "--cases", "2000", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let row = common::json_of(&out);
    assert_eq!(row["scenario"], "register");
    assert_eq!(row["bug"], "ack-before-replicate");
    assert_eq!(row["random"]["found"], 2, "{row}");
    assert_eq!(row["pct"]["found"], 2, "{row}");
}

/// README's "Your own system in the weft tool" shows the fixture's bin, as it is.
#[test]
fn the_readme_shows_the_fixtures_bin() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let bin = std::fs::read_to_string(fixture().join("src/bin/register-weft.rs")).unwrap();
    assert!(
        readme.contains(&format!("```text\n{bin}```")),
        "README's bin differs from {}",
        fixture().join("src/bin/register-weft.rs").display()
    );
}

/// The fixture's lock file pins the workspace's versions: a dependency at another version would
/// be compiled again (and fetched) on every run of this test.
#[test]
fn the_fixture_locks_the_workspace_versions() {
    let packages = |path: &Path| -> Vec<(String, String)> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut found = Vec::new();
        let mut name = None;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("name = ") {
                name = Some(n.trim_matches('"').to_string());
            } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
                found.push((n, v.trim_matches('"').to_string()));
            }
        }
        found
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let workspace = packages(&root.join("Cargo.lock"));
    let fixture = packages(&fixture().join("Cargo.lock"));
    assert!(fixture.len() > 20, "{fixture:?}");
    // weft-cli knows the engine only: a user's crate builds none of the bundled systems.
    for (name, _) in &fixture {
        let bundled = [
            "weft-models",
            "weft-scenarios",
            "weft-pool",
            "weft-kv",
            "weft-raft-kv",
        ];
        assert!(
            !bundled.contains(&name.as_str()) && name != "weft-lease" && name != "raft",
            "a user's crate depends on {name}"
        );
    }
    for package in fixture {
        if package.0 == "weft-user-fixture" {
            continue;
        }
        assert!(
            workspace.contains(&package),
            "{} {} is not in the workspace's Cargo.lock: copy the workspace's Cargo.lock over the fixture's and run `cargo tree --offline` there",
            package.0,
            package.1
        );
    }
}
