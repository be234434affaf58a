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
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the memory bound was reached (8 MiB, --max-memory)"),
        "{err}"
    );
}

#[test]
fn a_reached_time_bound_is_said_on_stderr() {
    let hard = data_dir().join("kv/c50-ok.txt");
    let out = weft(&[
        "check-history",
        hard.to_str().unwrap(),
        "--model",
        "kv-whole",
        "--timeout",
        "0.2",
    ]);
    assert_eq!(code(&out), 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the time bound was reached (0 s, --timeout): verdict unknown"),
        "{err}"
    );
    // Without --timeout the bound is 60 s: said in --help.
    let help = weft(&["check-history", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 60]"));
}

/// One line on stderr, exit 2, naming the file (and the line when given).
fn bad_input(out: &Output, expected: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out), 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
}

#[test]
fn damaged_input_is_one_line_and_exit_2() {
    let deep = |open: &str, close: &str, n: usize| open.repeat(n) + &close.repeat(n);
    let edn = format!(
        "{{:process 0, :type :invoke, :f :read, :value nil}}\n{{:process 0, :type :ok, :f :read, :value {}}}\n",
        deep("[", "]", 15_000)
    );
    let log = format!(
        "INFO  jepsen.util - 0 :invoke :write {}1\n",
        "#tag ".repeat(20_000)
    );
    let jsonl = format!(
        "{{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":{}}}\n",
        deep("[", "]", 200)
    );
    let escape = "{:process 0, :type :invoke, :f :write, :value \"a\\u\n12\"}\n";
    let cases = [
        (
            "deep.edn",
            edn.as_str(),
            "deep.edn:2: forms nested deeper than 128 (format edn)",
        ),
        (
            "deep.log",
            log.as_str(),
            "deep.log:1: forms nested deeper than 128 (format jepsen-log)",
        ),
        (
            "deep.jsonl",
            jsonl.as_str(),
            "deep.jsonl:1: bad event: recursion limit exceeded",
        ),
        ("escape.edn", escape, "escape.edn:1: bad escape \\u\\n12"),
        ("empty.jsonl", "", "empty.jsonl: no operations"),
        ("blank.log", "\n \n", "blank.log: no operations"),
        (
            "nemesis.edn",
            "{:process :nemesis, :type :info, :f :start}\n",
            "nemesis.edn: no operations",
        ),
    ];
    for (name, text, expected) in cases {
        let file = temp_file(name, text);
        let out = weft(&[
            "check-history",
            file.to_str().unwrap(),
            "--model",
            "register",
        ]);
        bad_input(&out, expected);
    }
    let file = temp_file(
        "one.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n",
    );
    let f = file.to_str().unwrap();
    let init = "[".repeat(20_000);
    let out = weft(&["check-history", f, "--model", "register", "--init", &init]);
    bad_input(&out, "--init: line 1: forms nested deeper than 128");
    let out = weft(&["check-history", "/dev/null", "--model", "register"]);
    bad_input(&out, "/dev/null: no operations");
    let out = weft(&["check-history", "/dev/zero", "--model", "register"]);
    bad_input(&out, "/dev/zero: binary data");
    let big = temp_file("big.log", &"x".repeat(3 << 20));
    let out = weft(&[
        "check-history",
        big.to_str().unwrap(),
        "--model",
        "register",
        "--max-input",
        "2",
    ]);
    bad_input(&out, "larger than 2 MiB (--max-input)");
}

#[cfg(unix)]
#[test]
fn a_fifo_without_a_writer_does_not_hang() {
    let dir = std::env::temp_dir().join(format!("weft-cli-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let out = weft(&[
        "check-history",
        fifo.to_str().unwrap(),
        "--model",
        "register",
        "--timeout",
        "0.5",
    ]);
    bad_input(&out, "did not end within");
}

#[test]
fn knossos_models_check_edn_histories() {
    // Knossos's multi-register: T1 writes x and y atomically; T2 reads x=1 and y unknown (nil).
    let txn = "{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]]}\n\
               {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]]}\n\
               {:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}\n\
               {:process 1, :type :ok, :f :txn, :value [[:read :x 1] [:read :y nil]]}\n";
    let file = temp_file("txn.edn", txn);
    let f = file.to_str().unwrap();
    assert_eq!(
        code(&weft(&["check-history", f, "--model", "multi-register"])),
        0
    );
    let bad = temp_file(
        "txn-bad.edn",
        &txn.replace("[:read :y nil]]}\n", "[:read :y 0]]}\n"),
    );
    let b = bad.to_str().unwrap();
    let out = weft(&[
        "check-history",
        b,
        "--model",
        "multi-register",
        "--init",
        "[[:y 0]]",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        code(&weft(&["check-history", b, "--model", "multi-register"])),
        1
    );
    // Knossos's mutex: two acquires without a release between.
    let mutex = "{:process 0, :type :invoke, :f :acquire}\n{:process 0, :type :ok, :f :acquire}\n\
                 {:process 1, :type :invoke, :f :acquire}\n{:process 1, :type :ok, :f :acquire}\n";
    let file = temp_file("mutex.edn", mutex);
    let out = weft(&[
        "check-history",
        file.to_str().unwrap(),
        "--model",
        "mutex",
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    assert_eq!(json_of(&out)["model"], "mutex");
    let released = mutex.replace(
        "{:process 1, :type :invoke",
        "{:process 0, :type :invoke, :f :release}\n{:process 0, :type :info, :f :release}\n{:process 1, :type :invoke",
    );
    let file = temp_file("mutex-ok.edn", &released);
    assert_eq!(
        code(&weft(&[
            "check-history",
            file.to_str().unwrap(),
            "--model",
            "mutex"
        ])),
        0
    );
    // A nil read in EDN is of unknown value (Knossos), in JSON Lines a real nil.
    let edn = temp_file(
        "nil.edn",
        "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value nil}\n",
    );
    let out = weft(&[
        "check-history",
        edn.to_str().unwrap(),
        "--model",
        "cas-register",
        "--init",
        "0",
    ]);
    assert_eq!(code(&out), 0);
    let jsonl = temp_file("nil.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n");
    let out = weft(&[
        "check-history",
        jsonl.to_str().unwrap(),
        "--model",
        "cas-register",
        "--init",
        "0",
    ]);
    assert_eq!(code(&out), 1);
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
        err.contains("register, cas-register, kv, kv-whole, set, multi-register, mutex"),
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

/// Mutated histories in every format through the binary: exit 0, 1, 2 or 3, never a signal
/// (abort, stack overflow); exit 2 with exactly one line on stderr. (Many more mutated
/// inputs go through the library in `models/tests/damaged.rs`.)
#[test]
fn mutated_histories_exit_cleanly() {
    let seeds = [
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:fail\t:cas\t[1 2]\nINFO  jepsen.util - 1 :invoke :read nil\nINFO  jepsen.util - 1 :ok :read 3\n",
        "{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:read :y nil]]}\n{:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:read :y 2]]}\n",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":3}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":3}\n",
    ];
    let tokens = [
        "[", "{", "(", "\"", "\\u", "#_", "#a ", ":", "\n", "é", "\u{0}", "}", "]",
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    for case in 0..60 {
        let mut text = seeds[case % seeds.len()].to_string();
        for _ in 0..1 + next(3) {
            let mut at = next(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let token = tokens[next(tokens.len())];
            let times = if next(4) == 0 {
                5_000 + next(20_000)
            } else {
                1
            };
            text.insert_str(at, &token.repeat(times));
        }
        let file = temp_file(&format!("mutated-{case}"), &text);
        let model = ["cas-register", "multi-register", "register"][case % 3];
        let out = weft(&[
            "check-history",
            file.to_str().unwrap(),
            "--model",
            model,
            "--timeout",
            "2",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {err}"));
        assert!((0..=3).contains(&code), "exit {code}: {err}");
        if code == 2 {
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
