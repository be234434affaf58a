//! Jepsen's log lines, as written by `jepsen.util/log-op`:
//!
//! ```text
//! INFO  jepsen.util - 3 :invoke :cas [3 0]
//! INFO  jepsen.util - 3 :ok :cas [3 0]
//! ```
//!
//! A line is an operation line when it has a `jepsen.util` token followed (after an optional
//! `-`) by a process, a type and an operation name; the rest of the line is the value (an EDN
//! form; text after it, such as an error message, is ignored). Other lines (start-up chatter)
//! are skipped. Line order is real-time order.

use super::edn::Reader;
use crate::history::{Convention, Event, EventType, History, ParseError};
use crate::value::Value;

/// Reads a Jepsen log.
pub fn parse(text: &str) -> Result<History, ParseError> {
    let mut events = Vec::new();
    let mut nonblank = 0usize;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if !line.trim().is_empty() {
            nonblank += 1;
        }
        if let Some(event) = parse_line(line, number)? {
            events.push((number, event));
        }
    }
    if events.is_empty() && nonblank > 0 {
        let msg = "no Jepsen operation lines (\"... jepsen.util - <process> :<type> :<f> <value>\") found";
        return Err(ParseError::new(1, msg));
    }
    let history = History::from_events(events)?;
    Ok(History {
        convention: Convention::Porcupine,
        ..history
    })
}

/// Splits on whitespace, keeping each token's byte offset.
fn tokens(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = line.char_indices().peekable();
    std::iter::from_fn(move || {
        while rest.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let (start, _) = *rest.peek()?;
        let mut end = line.len();
        while let Some(&(i, c)) = rest.peek() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            rest.next();
        }
        Some((start, &line[start..end]))
    })
}

fn parse_line(line: &str, number: usize) -> Result<Option<Event>, ParseError> {
    let mut toks = tokens(line).skip_while(|(_, t)| *t != "jepsen.util");
    if toks.next().is_none() {
        return Ok(None);
    }
    let err = |msg: String| Err(ParseError::new(number, msg));
    let mut next = toks.next();
    if matches!(next, Some((_, "-"))) {
        next = toks.next();
    }
    let Some((_, process)) = next else {
        return err("a jepsen.util line without a process".into());
    };
    let process = match process.parse::<u64>() {
        Ok(p) => p,
        Err(_) if process.starts_with(':') => return Ok(None), // :nemesis
        Err(_) => return err(format!("bad process {process:?}")),
    };
    let Some((_, kind)) = toks.next() else {
        return err("the line ends after the process".into());
    };
    let Some(kind) = kind.strip_prefix(':').and_then(EventType::from_name) else {
        return err(format!(
            "unknown type {kind:?} (expected :invoke, :ok, :fail or :info)"
        ));
    };
    let Some((f_at, f)) = toks.next() else {
        return err("the line ends after the type".into());
    };
    let Some(name) = f.strip_prefix(':').filter(|n| !n.is_empty()) else {
        return err(format!(
            "bad operation name {f:?} (expected a keyword such as :read)"
        ));
    };
    let rest = &line[f_at + f.len()..];
    let value = match Reader::new(rest, number).read()? {
        None => Value::Nil,
        Some(form) => form
            .to_value()
            .map_err(|m| ParseError::new(number, format!("value: {m}")))?,
    };
    Ok(Some(Event::new(process, kind, name, Value::Nil, value)))
}
