//! Fuzzing by property test: valid histories in every format, mutated (bytes replaced by
//! syntax characters, runs of thousands of nesting characters inserted, ranges deleted,
//! duplicated or cut off), are read by format detection and by every format's reader, and
//! those that parse are checked against every model. Never a panic or an abort (a stack
//! overflow would kill this test binary); every error is one line, and a parse error names a
//! line of the input.
//!
//! `WEFT_FUZZ_CASES=N` sets the number of mutated inputs (default 256).

use proptest::prelude::*;
use std::time::Duration;
use weft_lincheck::{CheckConfig, Format, Value};
use weft_models::catalog::{check_history, Params, MODELS};

const SEEDS: &[&str] = &[
    // Jepsen log (Porcupine's etcd logs).
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
     INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
     INFO  jepsen.util - 0\t:ok\t:read\t1\n\
     INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n\
     INFO  jepsen.util - 2 :invoke :write 3\n\
     INFO  jepsen.util - 2 :info :write :timed-out\n",
    // Jepsen EDN, one map per line (kv).
    "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
     {:process 3, :type :invoke, :f :get, :key \"4\", :value nil}\n\
     {:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
     {:process 3, :type :ok, :f :get, :key \"4\", :value \"x 0 1 y\"}\n",
    // Jepsen EDN vector (Knossos's multi-register and a mutex-like nemesis line).
    "[{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:read :y nil]], :time 10}\n\
      {:process :nemesis, :type :info, :f :start, :value #{:n1 :n2}, :time 11}\n\
      {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:read :y 2]], :time 12}\n\
      {:process 1, :type :invoke, :f :acquire, :value nil, :time 13}\n\
      {:process 1, :type :info, :f :acquire, :value nil, :time 14}]\n",
    // weft JSON Lines.
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":null,\"value\":3,\"time\":120}\n\
     {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":null,\"value\":null,\"time\":130}\n\
     {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":null,\"value\":3,\"time\":180}\n\
     {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":null,\"value_unknown\":true,\"time\":190}\n\
     {\"process\":2,\"type\":\"invoke\",\"f\":\"add\",\"value\":[1,\"\\u00e9\"],\"time\":200}\n",
];

/// Characters that matter to the readers.
const SYNTAX: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "\"",
    "\\",
    "\\u",
    ":",
    "#",
    "#_",
    "#{",
    "\n",
    ",",
    " ",
    ";",
    "0",
    "-",
    "nil",
    "null",
    "é",
    "\u{0}",
    "\u{7f}",
    "\t",
    "jepsen.util",
    ":ok",
    ":invoke",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the character at (a fraction of) the length by a syntax token.
    Replace(f64, usize),
    /// Insert a token repeated many times (deep nesting, long runs).
    Repeat(f64, usize, usize),
    /// Delete a range.
    Delete(f64, f64),
    /// Insert a copy of a range elsewhere.
    Duplicate(f64, f64, f64),
    /// Cut the text off.
    Truncate(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    let token = 0..SYNTAX.len();
    prop_oneof![
        4 => (at.clone(), token.clone()).prop_map(|(a, t)| Mutation::Replace(a, t)),
        2 => (at.clone(), token, prop_oneof![1..200usize, 10_000..30_000usize])
            .prop_map(|(a, t, n)| Mutation::Repeat(a, t, n)),
        2 => (at.clone(), 0.0..0.3f64).prop_map(|(a, l)| Mutation::Delete(a, l)),
        1 => (at.clone(), 0.0..0.5f64, at.clone()).prop_map(|(a, l, b)| Mutation::Duplicate(a, l, b)),
        1 => at.prop_map(Mutation::Truncate),
    ]
}

/// The char boundary nearest below `fraction` of the text.
fn boundary(text: &str, fraction: f64) -> usize {
    let mut i = ((text.len() as f64) * fraction.clamp(0.0, 1.0)) as usize;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut out = text.to_string();
    match *m {
        Mutation::Replace(a, t) => {
            let i = boundary(&out, a);
            let end = out[i..].chars().next().map_or(i, |c| i + c.len_utf8());
            out.replace_range(i..end, SYNTAX[t]);
        }
        Mutation::Repeat(a, t, n) => {
            let i = boundary(&out, a);
            out.insert_str(i, &SYNTAX[t].repeat(n));
        }
        Mutation::Delete(a, l) => {
            let i = boundary(&out, a);
            let j = boundary(&out, (a + l).min(1.0)).max(i);
            out.replace_range(i..j, "");
        }
        Mutation::Duplicate(a, l, b) => {
            let i = boundary(&out, a);
            let j = boundary(&out, (a + l).min(1.0)).max(i);
            let piece = out[i..j].to_string();
            let k = boundary(&out, b);
            out.insert_str(k, &piece);
        }
        Mutation::Truncate(a) => {
            let i = boundary(&out, a);
            out.truncate(i);
        }
    }
    out
}

/// Reads `text` every way and checks what parses against every model: no panic, one-line
/// errors, parse errors within the input's lines.
fn read_and_check(text: &str) {
    let lines = text.lines().count().max(1);
    let config = CheckConfig {
        timeout: Some(Duration::from_millis(20)),
        max_memory_bytes: 16 << 20,
        threads: 1,
        stop_on_violation: true,
    };
    let detected = Format::detect(text);
    for format in Format::ALL.map(|(f, _)| f) {
        match format.parse(text) {
            Err(e) => {
                assert!(
                    e.line >= 1 && e.line <= lines + 1,
                    "{format}: line {} of {lines}: {e}",
                    e.line
                );
                assert!(!e.message.contains('\n'), "{format}: {e:?}");
            }
            Ok(history) if format == detected => {
                for model in MODELS {
                    if let Err(e) = check_history(model.name, &history, &Params::default(), &config)
                    {
                        assert!(!e.to_string().contains('\n'), "{}: {e}", model.name);
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if let Err(e) = Value::parse_arg(text) {
        assert!(!e.contains('\n'), "--init: {e}");
    }
}

fn cases() -> u32 {
    std::env::var("WEFT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_histories_are_read_without_panic_and_errors_are_one_line(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut text = SEEDS[seed].to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        read_and_check(&text);
    }
}

#[test]
fn the_seeds_are_valid_histories() {
    for seed in SEEDS {
        let format = Format::detect(seed);
        assert!(format.parse(seed).is_ok(), "{format}: {seed}");
    }
}
