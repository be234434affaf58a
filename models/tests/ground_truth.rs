//! Every verdict on Porcupine's public histories (../shared/data/porcupine) must match.

use std::path::PathBuf;
use std::time::Duration;
use weft_lincheck::{CheckConfig, Convention, Format, History};
use weft_models::catalog::{check_history, Params};

fn data_dir() -> PathBuf {
    weft_models::testdata::porcupine_dir().unwrap_or_else(|e| panic!("{e}"))
}

fn verdict(file: &PathBuf, format: Format, model: &str) -> String {
    verdict_with(file, format, model, |_| {})
}

/// The verdict after `adjust` changes the parsed history (e.g. its convention).
fn verdict_with(
    file: &PathBuf,
    format: Format,
    model: &str,
    adjust: impl FnOnce(&mut History),
) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut history = format
        .parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    adjust(&mut history);
    let config = CheckConfig {
        timeout: Some(Duration::from_secs(120)),
        ..CheckConfig::default()
    };
    let report = check_history(model, &history, &Params::default(), &config)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    report.verdict.to_string()
}

#[test]
fn jepsen_etcd_verdicts_match() {
    etcd_verdicts_match(None);
}

/// Porcupine's convention reads `:fail :cas` as a compare-and-set that returned false; weft's
/// and Knossos's drop it, and Knossos's reads a nil read as one of unknown value. On this set
/// the verdicts are the same under all three.
#[test]
fn jepsen_etcd_verdicts_do_not_depend_on_the_convention() {
    etcd_verdicts_match(Some(Convention::Weft));
    etcd_verdicts_match(Some(Convention::Knossos));
}

fn etcd_verdicts_match(convention: Option<Convention>) {
    let dir = data_dir().join("jepsen-etcd");
    let verdicts = std::fs::read_to_string(dir.join("VERDICTS")).expect("VERDICTS");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in verdicts.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let (Some(file), Some(expected)) = (words.next(), words.next()) else {
            panic!("bad VERDICTS line {line:?}");
        };
        let got = verdict_with(&dir.join(file), Format::JepsenLog, "cas-register", |h| {
            assert_eq!(h.convention, Convention::Porcupine);
            if let Some(c) = convention {
                h.convention = c;
            }
        });
        if got != expected {
            wrong.push(format!("{file}: expected {expected}, got {got}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 50, "VERDICTS should list etcd_000 to etcd_049");
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn kv_verdicts_match_per_key() {
    let dir = data_dir().join("kv");
    for clients in ["c01", "c10", "c50"] {
        for (suffix, expected) in [("ok", "linearizable"), ("bad", "not-linearizable")] {
            let file = dir.join(format!("{clients}-{suffix}.txt"));
            assert_eq!(
                verdict(&file, Format::Edn, "kv"),
                expected,
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn kv_verdicts_match_unpartitioned() {
    let dir = data_dir().join("kv");
    for clients in ["c01", "c10"] {
        for (suffix, expected) in [("ok", "linearizable"), ("bad", "not-linearizable")] {
            let file = dir.join(format!("{clients}-{suffix}.txt"));
            assert_eq!(
                verdict(&file, Format::Edn, "kv-whole"),
                expected,
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn kv_histories_read_as_knossos_histories() {
    let text = std::fs::read_to_string(data_dir().join("kv/c01-ok.txt")).unwrap();
    assert_eq!(
        Format::Edn.parse(&text).unwrap().convention,
        Convention::Knossos
    );
}
