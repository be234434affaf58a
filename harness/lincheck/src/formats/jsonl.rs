//! weft's JSON Lines format: one [`Event`] per line (see `FORMATS.md`), read by [`parse`] and
//! written by [`JsonlWriter`].

use crate::history::{Event, History, ParseError};
use std::io::{self, Write};

/// Reads a JSON Lines history. Blank lines are skipped.
pub fn parse(text: &str) -> Result<History, ParseError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => events.push((i + 1, event)),
            Err(e) => {
                let what = e.to_string();
                let what = what.split(" at line ").next().unwrap_or("");
                let msg = format!("bad event: {what} (column {})", e.column());
                return Err(ParseError::new(i + 1, msg));
            }
        }
    }
    History::from_events(events)
}

/// One event as a line of JSON (without the newline).
pub fn to_line(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Writes events as JSON Lines, for example from a simulation.
///
/// ```
/// use weft_lincheck::formats::jsonl::{self, JsonlWriter};
/// use weft_lincheck::{Event, EventType, Value};
///
/// let mut out = JsonlWriter::new(Vec::new());
/// let mut call = Event::new(0, EventType::Invoke, "write", Value::Nil, Value::Int(3));
/// call.time = Some(120);
/// out.write_event(&call).unwrap();
/// let text = String::from_utf8(out.into_inner()).unwrap();
/// assert_eq!(text, "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":null,\"value\":3,\"time\":120}\n");
/// assert_eq!(jsonl::parse(&text).unwrap().ops.len(), 1);
/// ```
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer into `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }

    /// Writes one event and a newline.
    pub fn write_event(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event).map_err(io::Error::other)?;
        self.out.write_all(b"\n")
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}
