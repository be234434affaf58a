//! `weft check-history`: exit codes, JSON output and errors.

use serde_json::Value as Json;
use std::path::PathBuf;
use std::process::{Command, Output};

fn data_dir() -> PathBuf {
    weft_models::testdata::porcupine_dir().unwrap_or_else(|e| panic!("{e}"))
}

fn weft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .expect("run weft")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn json_of(out: &Output) -> Json {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn verdicts_set_the_exit_code_and_json_fields() {
    let etcd = data_dir().join("jepsen-etcd");
    let bad = etcd.join("etcd_000.log");
    let out = weft(&[
        "check-history",
        bad.to_str().unwrap(),
        "--model",
        "cas-register",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let j = json_of(&out);
    assert_eq!(j["verdict"], "not-linearizable");
    assert_eq!(j["format"], "jepsen-log");
    assert_eq!(j["parts"], 1);
    assert!(j["operations"].as_u64().unwrap() > 50);
    assert!(j["elapsed_ms"].as_f64().unwrap() >= 0.0);
    let part = &j["part_results"][0];
    assert!(!part["unplaced"].as_array().unwrap().is_empty());
    assert!(part["unplaced"][0]["line"].as_u64().unwrap() > 0);

    let good = etcd.join("etcd_002.log");
    let out = weft(&[
        "check-history",
        good.to_str().unwrap(),
        "--model",
        "cas-register",
    ]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": linearizable"));

    let kv = data_dir().join("kv/c10-ok.txt");
    let out = weft(&[
        "check-history",
        kv.to_str().unwrap(),
        "--model",
        "kv",
        "--format",
        "edn",
        "--json",
    ]);
    assert_eq!(code(&out), 0);
    let j = json_of(&out);
    assert_eq!(
        (j["verdict"].as_str(), j["parts"].as_u64()),
        (Some("linearizable"), Some(10))
    );
}

#[test]
fn a_reached_bound_exits_3() {
    let hard = data_dir().join("kv/c50-ok.txt");
    let out = weft(&[
        "check-history",
        hard.to_str().unwrap(),
        "--model",
        "kv-whole",
        "--timeout",
        "0.3",
        "--json",
    ]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    let j = json_of(&out);
    assert_eq!(
        (j["verdict"].as_str(), j["unknown_reason"].as_str()),
        (Some("unknown"), Some("timeout"))
    );
    let out = weft(&[
        "check-history",
        hard.to_str().unwrap(),
        "--model",
        "kv-whole",
        "--max-memory",
        "8",
    ]);
    assert_eq!(code(&out), 3);
    assert!(String::from_utf8_lossy(&out.stdout).contains("memory-limit"));
}

#[test]
fn init_sets_the_register() {
    let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":null,\"value\":null}\n\
                {\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":null,\"value\":5}\n";
    let file = temp_file("read5.jsonl", text);
    let f = file.to_str().unwrap();
    assert_eq!(code(&weft(&["check-history", f, "--model", "register"])), 1);
    assert_eq!(
        code(&weft(&[
            "check-history",
            f,
            "--model",
            "register",
            "--init",
            "5"
        ])),
        0
    );
    assert_eq!(
        code(&weft(&[
            "check-history",
            f,
            "--model",
            "cas-register",
            "--init",
            "5"
        ])),
        0
    );
    let out = weft(&["check-history", f, "--model", "kv", "--init", "5"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn bad_usage_and_bad_input_exit_2() {
    let file = data_dir().join("jepsen-etcd/etcd_000.log");
    let f = file.to_str().unwrap();
    let out = weft(&["check-history", f, "--model", "nope"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("register, cas-register, kv, kv-whole, set"),
        "{err}"
    );

    assert_eq!(code(&weft(&["check-history", f])), 2, "--model is required");
    assert_eq!(
        code(&weft(&[
            "check-history",
            "/nonexistent/history.log",
            "--model",
            "kv"
        ])),
        2
    );
    assert_eq!(
        code(&weft(&["check-history", f, "--model", "register"])),
        2,
        "cas is not a register operation"
    );
    assert_eq!(
        code(&weft(&[
            "check-history",
            f,
            "--model",
            "kv",
            "--format",
            "jsonl"
        ])),
        2
    );
    assert_eq!(
        code(&weft(&[
            "check-history",
            f,
            "--model",
            "kv",
            "--timeout",
            "-1"
        ])),
        2
    );

    let orphan = temp_file("orphan.edn", "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 3}\n");
    let out = weft(&[
        "check-history",
        orphan.to_str().unwrap(),
        "--model",
        "register",
    ]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("orphan.edn:3:") && err.contains("without an invocation"),
        "{err}"
    );

    let truncated = temp_file("truncated.edn", "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read, :value nil}\n {:process 1, :type :invoke, :f :wr");
    let out = weft(&[
        "check-history",
        truncated.to_str().unwrap(),
        "--model",
        "register",
    ]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated.edn:3:") && err.contains("not closed"),
        "{err}"
    );
}

#[test]
fn the_pool_model_checks_pool_histories() {
    // serve-expired-waiter's symptom: a checkin, then the pool of one still answers full,
    // while the only other checkout definitely failed (it timed out and was cancelled).
    let lines = [
        r#"{"process":0,"type":"invoke","f":"checkout","value":null}"#,
        r#"{"process":0,"type":"ok","f":"checkout","value":1}"#,
        r#"{"process":1,"type":"invoke","f":"checkout","value":null}"#,
        r#"{"process":1,"type":"fail","f":"checkout","value":null}"#,
        r#"{"process":0,"type":"invoke","f":"checkin","value":1}"#,
        r#"{"process":0,"type":"ok","f":"checkin","value":"ok"}"#,
        r#"{"process":0,"type":"invoke","f":"checkout","value":null}"#,
        r#"{"process":0,"type":"ok","f":"checkout","value":"full"}"#,
    ];
    let bad = temp_file("pool-bad.jsonl", &(lines.join("\n") + "\n"));
    let out = weft(&[
        "check-history",
        bad.to_str().unwrap(),
        "--model",
        "pool",
        "--init",
        "[1 0]",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["verdict"], "not-linearizable");
    // If that checkout's outcome is unknown (info), it may have taken the worker late: fine.
    let unknown = temp_file(
        "pool-unknown.jsonl",
        &(lines
            .join("\n")
            .replace(r#""type":"fail""#, r#""type":"info""#)
            + "\n"),
    );
    let out = weft(&[
        "check-history",
        unknown.to_str().unwrap(),
        "--model",
        "pool",
        "--init",
        "[1 0]",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    // Bad parameters are usage errors.
    let out = weft(&[
        "check-history",
        bad.to_str().unwrap(),
        "--model",
        "pool",
        "--init",
        "3",
    ]);
    assert_eq!(code(&out), 2);
}
