//! `weft check-history --html`: the page renders in headless Chromium without script errors.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`); `.ci/run` installs it. Without
//! it the test fails when `CI` is set, and otherwise says loudly that it was skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn data_dir() -> PathBuf {
    weft_models::testdata::porcupine_dir().unwrap_or_else(|e| panic!("{e}"))
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WEFT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs headless Chromium on `page` and returns the DOM after the load event.
fn dump_dom(chromium: &Path, page: &Path, work: &Path) -> String {
    let profile = work.join(format!(
        "profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let url = format!("file://{}", page.display());
    // Into a file, not a pipe: a full pipe would block Chromium while we wait for it to exit.
    let dom_path = work.join(format!(
        "{}.dom",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let dom_file = std::fs::File::create(&dom_path).expect("create the DOM file");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .stdout(Stdio::from(dom_file))
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish rendering {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(&dom_path).expect("read the DOM")
}

#[test]
fn html_report_renders_without_script_errors() {
    let Some(chromium) = find_chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run this test (apt-get install -y chromium)");
        }
        eprintln!("\n*** SKIPPED html_report_renders_without_script_errors: chromium is not installed ***\n*** (apt-get install -y chromium, or set WEFT_CHROMIUM) ***\n");
        return;
    };
    let work = std::env::temp_dir().join(format!("weft-html-test-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let data = data_dir();
    let cases = [
        ("jepsen-etcd/etcd_000.log", "cas-register", 1),
        ("jepsen-etcd/etcd_002.log", "cas-register", 0),
        ("kv/c10-bad.txt", "kv", 1),
        ("kv/c01-ok.txt", "kv-whole", 0),
    ];
    for (file, model, expected) in cases {
        let page = work.join(format!("{}-{model}.html", file.replace('/', "-")));
        let history = data.join(file);
        let out = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args([
                "check-history",
                history.to_str().unwrap(),
                "--model",
                model,
                "--html",
                page.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{file}: the page is not self-contained"
        );
        let dom = dump_dom(&chromium, &page, &work);
        // The markers are attributes of <html>, set by the page's script.
        let root = dom.lines().find(|l| l.contains("<html")).unwrap_or("");
        assert!(
            !dom.contains("data-weft-error=\""),
            "{file}: script error in the page: {root}"
        );
        assert!(
            root.contains("data-weft-rendered=\"ok\""),
            "{file}: the page did not finish rendering: {root}"
        );
        assert!(dom.contains("<svg"), "{file}: no timeline drawn");
        assert!(dom.contains("<circle"), "{file}: no linearization drawn");
        if expected == 1 {
            assert!(
                dom.contains("<tr class=\"unplaced\">"),
                "{file}: unplaced operations are not marked"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// The HTML report of a shrunk counterexample (`weft fuzz` writes it beside the replay file,
/// `weft report --format html` renders any replay file): it leads with the failure, draws one
/// lifeline per node, and renders without script errors.
#[test]
fn counterexample_report_renders_without_script_errors() {
    let Some(chromium) = find_chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run this test (apt-get install -y chromium)");
        }
        eprintln!("\n*** SKIPPED counterexample_report_renders_without_script_errors: chromium is not installed ***\n");
        return;
    };
    let work = std::env::temp_dir().join(format!("weft-cx-html-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    // The canary (a linearizability failure), a pool bug (found as an invariant failure or as
    // a pool that never comes to rest; the shrinker reaches the smaller, the second), and a
    // deadlock of the work queue.
    let searches = [
        ("canary", vec!["--seed", "2"], "check", 2),
        ("pool", vec!["--bug", "serve-expired-waiter"], "liveness", 2),
        (
            "pool-queue",
            vec!["--bug", "queue-restart-stuck"],
            "deadlock",
            3,
        ),
    ];
    for (scenario, args, kind, nodes) in searches {
        let replay = work.join(format!("{scenario}.weft-replay.json"));
        let out = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["fuzz", scenario, "--json", "--progress", "none"])
            .args(&args)
            .arg("--replay-out")
            .arg(&replay)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let page = work.join(format!("{scenario}.html"));
        assert_eq!(v["html_file"], page.display().to_string());
        let rendered = work.join(format!("{scenario}-report.html"));
        let report = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["report", "--format", "html", "--out"])
            .arg(&rendered)
            .arg(&replay)
            .output()
            .unwrap();
        assert_eq!(
            report.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&report.stderr)
        );
        for page in [&page, &rendered] {
            check_report_page(&chromium, page, &work, kind, nodes);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// The page leads with the failure, is self-contained, renders without script errors, and
/// draws one lifeline per node.
fn check_report_page(chromium: &Path, page: &Path, work: &Path, kind: &str, nodes: usize) {
    let html = std::fs::read_to_string(page).unwrap();
    let first_heading = html.split("<h1>").nth(1).unwrap_or("");
    assert!(
        first_heading.contains(&format!("failed: {kind}")),
        "{}: the page does not lead with the failure",
        page.display()
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "not self-contained"
    );
    assert!(
        html.contains("Interleaving: the default"),
        "the counterexample text is on the page"
    );
    let dom = dump_dom(chromium, page, work);
    let root = dom.lines().find(|l| l.contains("<html")).unwrap_or("");
    assert!(!dom.contains("data-weft-error=\""), "script error: {root}");
    assert!(
        root.contains("data-weft-rendered=\"ok\""),
        "not rendered: {root}"
    );
    assert!(
        root.contains(&format!("data-weft-lifelines=\"{nodes}\"")),
        "{}: not one lifeline per node: {root}",
        page.display()
    );
    assert!(dom.contains("<g class=\"msg\""), "no message drawn");
}
