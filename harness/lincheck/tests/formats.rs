//! Readers of the three history formats: equivalent inputs give equal histories, and bad input
//! is an error naming its line.

use weft_lincheck::formats::jsonl::{self, JsonlWriter};
use weft_lincheck::{Event, EventType, Format, History, ParseError, Status, Value};

const LOG: &str = "\
2024-01-01 start-up chatter that is not an operation
INFO  jepsen.util - 0\t:invoke\t:write\t3
INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]
INFO  jepsen.util - 0\t:ok\t:write\t3
INFO  jepsen.util - 2\t:invoke\t:read\tnil
INFO  jepsen.util - :nemesis :info :start nil
INFO  jepsen.util - 1\t:info\t:cas\t:timed-out
INFO  jepsen.util - 2\t:fail\t:read\t:timed-out
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:ok\t:read\t4
";

const EDN_LINES: &str = r#"
{:process 0, :type :invoke, :f :write, :value 3}
{:process 1, :type :invoke, :f :cas, :value [3 4]}
{:process 0, :type :ok, :f :write, :value 3}
{:process 2, :type :invoke, :f :read, :value nil}
{:process :nemesis, :type :info, :f :start}
{:process 1, :type :info, :f :cas, :value :timed-out}
{:process 2, :type :fail, :f :read, :value :timed-out}
{:process 3, :type :invoke, :f :read, :value nil}
{:process 3, :type :ok, :f :read, :value 4, :index 9}
"#;

fn check_sample(h: &History) {
    assert_eq!(h.ops.len(), 4);
    let w = &h.ops[0];
    assert_eq!(
        (w.process, w.f.as_str(), &w.value, w.status),
        (0, "write", &Value::Int(3), Status::Ok)
    );
    let cas = &h.ops[1];
    assert_eq!(cas.value, Value::List(vec![Value::Int(3), Value::Int(4)]));
    assert_eq!(cas.status, Status::Info);
    assert!(cas.is_unknown());
    assert_eq!(h.ops[2].status, Status::Fail);
    assert_eq!(
        (h.ops[3].status, &h.ops[3].result),
        (Status::Ok, &Value::Int(4))
    );
    // Without times, the order of events gives real time.
    assert!(h.ops[0].call < h.ops[1].call && h.ops[1].call < h.ops[0].ret.unwrap());
}

#[test]
fn jepsen_log_lines_are_read() {
    let h = Format::JepsenLog.parse(LOG).unwrap();
    check_sample(&h);
    assert_eq!(h.ops[0].call_line, 2);
    assert_eq!(h.ops[3].ret_line, Some(10));
    assert_eq!(Format::detect(LOG), Format::JepsenLog);
}

#[test]
fn edn_maps_and_vectors_are_read() {
    let h = Format::Edn.parse(EDN_LINES).unwrap();
    check_sample(&h);
    assert_eq!(h.ops[0].call_line, 2);
    let vector = format!("[{}]", EDN_LINES);
    let list = format!("; a comment\n({})", EDN_LINES);
    for text in [vector, list] {
        assert_eq!(Format::detect(&text), Format::Edn);
        let h2 = Format::Edn.parse(&text).unwrap();
        assert_eq!(
            h2.ops.iter().map(|o| &o.value).collect::<Vec<_>>(),
            h.ops.iter().map(|o| &o.value).collect::<Vec<_>>()
        );
    }
}

#[test]
fn jsonl_round_trips_through_the_writer() {
    let events = [
        Event {
            time: Some(10),
            ..Event::new(
                0,
                EventType::Invoke,
                "put",
                Value::from("k"),
                Value::from("v"),
            )
        },
        Event {
            time: Some(20),
            ..Event::new(1, EventType::Invoke, "get", Value::from("k"), Value::Nil)
        },
        Event {
            time: Some(25),
            ..Event::new(0, EventType::Ok, "put", Value::from("k"), Value::from("v"))
        },
        Event {
            time: Some(30),
            ..Event::new(1, EventType::Ok, "get", Value::from("k"), Value::from("v"))
        },
    ];
    let mut w = JsonlWriter::new(Vec::new());
    for e in &events {
        w.write_event(e).unwrap();
    }
    let text = String::from_utf8(w.into_inner()).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        r#"{"process":0,"type":"invoke","f":"put","key":"k","value":"v","time":10}"#
    );
    assert_eq!(Format::detect(&text), Format::Jsonl);
    let h = jsonl::parse(&text).unwrap();
    assert_eq!(h.ops.len(), 2);
    assert_eq!((h.ops[0].call, h.ops[0].ret), (10, Some(25)));
    assert_eq!(h.ops[1].result, Value::from("v"));
}

fn err(format: Format, text: &str) -> ParseError {
    match format.parse(text) {
        Ok(h) => panic!("expected an error, got {h:?}"),
        Err(e) => e,
    }
}

#[test]
fn bad_input_names_the_line() {
    let cases: &[(Format, &str, usize, &str)] = &[
        (Format::JepsenLog, "INFO  jepsen.util - 0 :invoke :read nil\nINFO  jepsen.util - 0 :bogus :read nil\n", 2, "unknown type"),
        (Format::JepsenLog, "INFO  jepsen.util - 0 :ok :read 3\n", 1, "without an invocation"),
        (Format::JepsenLog, "INFO  jepsen.util - 0 :invoke :cas [1\n", 1, "not closed"),
        (Format::JepsenLog, "INFO  jepsen.util - 0 :invoke :read nil\nINFO  jepsen.util - 0 :invoke :read nil\n", 2, "has not completed"),
        (Format::JepsenLog, "hello\nworld\n", 1, "no Jepsen operation lines"),
        (Format::Edn, "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value\n", 2, "not closed"),
        (Format::Edn, "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read}\n", 2, "not closed"),
        (Format::Edn, "{:process 0, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read}\n", 2, "without an invocation"),
        (Format::Edn, "\n\n{:process 0, :type :invoke}\n", 3, "no :f"),
        (Format::Edn, "{:process 0, :type :invoke, :f :read, :value 1.5}\n", 1, "floating-point"),
        (Format::Edn, "{:process 0, :type :invoke, :f :read, :value \"abc}\n", 1, "string opened at line 1"),
        (Format::Edn, "{:process 0, :type :invoke, :f :read, :time 5}\n{:process 0, :type :ok, :f :read}\n", 2, "no time"),
        (Format::Jsonl, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"re", 2, "EOF"),
        (Format::Jsonl, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"bogus\":1}\n", 1, "unknown field"),
        (Format::Jsonl, "{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n", 1, "unknown variant"),
        (Format::Jsonl, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":9}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"time\":3}\n", 2, "precedes"),
    ];
    for (format, text, line, message) in cases {
        let e = err(*format, text);
        assert_eq!(e.line, *line, "{format} {text:?}: {e}");
        assert!(e.message.contains(message), "{format} {text:?}: {e}");
    }
}

#[test]
fn invocations_without_completion_are_pending() {
    let h = Format::JepsenLog
        .parse("INFO  jepsen.util - 0 :invoke :write 1\n")
        .unwrap();
    assert_eq!(h.ops[0].status, Status::Pending);
    assert!(h.ops[0].is_unknown());
    assert!(Format::Edn.parse("").unwrap().ops.is_empty());
}

#[test]
fn command_line_values() {
    assert_eq!(Value::parse_arg("nil"), Ok(Value::Nil));
    assert_eq!(Value::parse_arg("null"), Ok(Value::Nil));
    assert_eq!(Value::parse_arg("-3"), Ok(Value::Int(-3)));
    assert_eq!(Value::parse_arg("\"a b\""), Ok(Value::from("a b")));
    assert_eq!(Value::parse_arg("abc"), Ok(Value::from("abc")));
    assert_eq!(
        Value::parse_arg("[1, 2]"),
        Ok(Value::List(vec![Value::Int(1), Value::Int(2)]))
    );
    assert!(Value::parse_arg("1 2").is_err());
    assert!(Value::parse_arg("[1").is_err());
    assert_eq!(
        Value::List(vec![Value::Nil, Value::from("x")]).to_string(),
        "[nil \"x\"]"
    );
}

#[test]
fn no_input_makes_a_reader_panic() {
    // Every prefix of each sample (truncated files), and odd whitespace and bytes: an error or
    // a history, never a panic.
    let jsonl = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":null,\"value\":null}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":null,\"value\":[1,\"é\"]}\n";
    let odd = [
        "INFO\u{3000}jepsen.util\u{a0}-\u{2003}0 :invoke :read é",
        "jepsen.util",
        "{:a #_ #_",
        "#",
        ":",
        "\\",
        "[(#{\"\\u12",
        "{\"process\":-1}",
        "99999999999999999999999",
    ];
    let samples = [LOG, EDN_LINES, jsonl];
    for text in samples.iter().copied().chain(odd) {
        let cuts = text.char_indices().map(|(i, _)| i).chain([text.len()]);
        for cut in cuts {
            let part = &text[..cut];
            for (format, _) in Format::ALL {
                let _ = format.parse(part);
            }
            let _ = Format::detect(part);
            let _ = Value::parse_arg(part);
        }
    }
}
