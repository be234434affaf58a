//! Jepsen EDN histories: one map per line (`{:process 0, :type :invoke, :f :read, ...}`), or a
//! whole EDN vector or list of such maps. Also the small EDN reader the other formats use.

use crate::history::{Convention, Event, EventType, History, ParseError};
use crate::value::Value;

/// An EDN form, as read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Char(char),
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
    Tagged(String, Box<Edn>),
}

impl Edn {
    /// A short name of the form's kind, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) => "an integer",
            Edn::Float(_) => "a floating-point number",
            Edn::Str(_) => "a string",
            Edn::Char(_) => "a character",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::List(_) => "a list",
            Edn::Vector(_) => "a vector",
            Edn::Set(_) => "a set",
            Edn::Map(_) => "a map",
            Edn::Tagged(..) => "a tagged value",
        }
    }

    /// The form as a history [`Value`].
    pub(crate) fn to_value(&self) -> Result<Value, String> {
        Ok(match self {
            Edn::Nil => Value::Nil,
            Edn::Bool(b) => Value::Bool(*b),
            Edn::Int(i) => Value::Int(*i),
            Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::Str(s.clone()),
            Edn::Char(c) => Value::Str(c.to_string()),
            Edn::List(items) | Edn::Vector(items) | Edn::Set(items) => {
                Value::List(items.iter().map(Edn::to_value).collect::<Result<_, _>>()?)
            }
            Edn::Tagged(_, inner) => inner.to_value()?,
            Edn::Float(_) | Edn::Map(_) => {
                return Err(format!("{} is not a supported value", self.kind()))
            }
        })
    }
}

/// A reader of EDN forms that tracks line numbers.
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    /// The line of the last byte read that was not whitespace (where input ends, for errors).
    last: usize,
    /// How many forms are being read, one inside the other.
    depth: usize,
}

/// The deepest nesting of forms read (collections, tags, discards), as serde_json's limit:
/// deeper input is an error, never a stack overflow.
pub(crate) const MAX_DEPTH: usize = 128;

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
        )
}

impl<'a> Reader<'a> {
    /// A reader of `text`, whose first line is numbered `first_line`.
    pub(crate) fn new(text: &'a str, first_line: usize) -> Self {
        Reader {
            text,
            pos: 0,
            line: first_line,
            last: first_line,
            depth: 0,
        }
    }

    pub(crate) fn line(&self) -> usize {
        self.line
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
        } else if !b.is_ascii_whitespace() {
            self.last = self.line;
        }
        Some(b)
    }

    /// Skips whitespace, commas and comments; returns the next byte, if any.
    pub(crate) fn skip_space(&mut self) -> Option<u8> {
        loop {
            match self.peek()? {
                b if b.is_ascii_whitespace() || b == b',' => {
                    self.bump();
                }
                b';' => {
                    while let Some(b) = self.bump() {
                        if b == b'\n' {
                            break;
                        }
                    }
                }
                b => return Some(b),
            }
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_delimiter(b) {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// Reads the next form; `Ok(None)` at the end of the input.
    pub(crate) fn read(&mut self) -> Result<Option<Edn>, ParseError> {
        if self.depth >= MAX_DEPTH {
            let msg = format!("forms nested deeper than {MAX_DEPTH}");
            return Err(ParseError::new(self.line, msg));
        }
        self.depth += 1;
        let form = self.read_form();
        self.depth -= 1;
        form
    }

    // Over 70 lines: one match over EDN's grammar, one arm per form, read best as a whole.
    fn read_form(&mut self) -> Result<Option<Edn>, ParseError> {
        let Some(b) = self.skip_space() else {
            return Ok(None);
        };
        let line = self.line;
        match b {
            b'(' => self.read_seq(b')', "list").map(|v| Some(Edn::List(v))),
            b'[' => self.read_seq(b']', "vector").map(|v| Some(Edn::Vector(v))),
            b'{' => {
                let items = self.read_seq(b'}', "map")?;
                if items.len() % 2 != 0 {
                    let msg = "a map has an odd number of forms";
                    return Err(ParseError::new(line, msg));
                }
                let mut map = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    map.push((k, v));
                }
                Ok(Some(Edn::Map(map)))
            }
            b')' | b']' | b'}' => {
                self.bump();
                let msg = format!("unexpected '{}'", b as char);
                Err(ParseError::new(line, msg))
            }
            b'"' => self.read_string().map(|s| Some(Edn::Str(s))),
            b'\\' => {
                self.bump();
                let tok = self.token();
                let c = match tok {
                    "newline" => '\n',
                    "space" => ' ',
                    "tab" => '\t',
                    "return" => '\r',
                    _ => {
                        let mut chars = tok.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => c,
                            _ => {
                                let msg = format!("bad character literal \\{tok}");
                                return Err(ParseError::new(line, msg));
                            }
                        }
                    }
                };
                Ok(Some(Edn::Char(c)))
            }
            b'#' => {
                self.bump();
                match self.peek() {
                    Some(b'{') => self.read_seq(b'}', "set").map(|v| Some(Edn::Set(v))),
                    Some(b'_') => {
                        self.bump();
                        self.read_required(line, "a form after #_")?;
                        self.read()
                    }
                    _ => {
                        let tag = self.token();
                        if tag.is_empty() {
                            return Err(ParseError::new(line, "a lone '#'"));
                        }
                        let inner = self.read_required(line, "a form after a tag")?;
                        Ok(Some(Edn::Tagged(tag.to_string(), Box::new(inner))))
                    }
                }
            }
            b':' => {
                self.bump();
                let tok = self.token();
                if tok.is_empty() {
                    return Err(ParseError::new(line, "a lone ':'"));
                }
                Ok(Some(Edn::Keyword(tok.to_string())))
            }
            _ => {
                let tok = self.token();
                if tok.is_empty() {
                    self.bump();
                    let msg = format!("unexpected character '{}'", (b as char).escape_debug());
                    return Err(ParseError::new(line, msg));
                }
                parse_atom(tok)
                    .map(Some)
                    .map_err(|m| ParseError::new(line, m))
            }
        }
    }

    fn read_required(&mut self, opened: usize, what: &str) -> Result<Edn, ParseError> {
        match self.read()? {
            Some(form) => Ok(form),
            None => {
                let msg = format!("unexpected end of input: expected {what} (line {opened})");
                Err(ParseError::new(self.last, msg))
            }
        }
    }

    fn read_seq(&mut self, close: u8, what: &str) -> Result<Vec<Edn>, ParseError> {
        let opened = self.line;
        self.bump();
        let mut items = Vec::new();
        loop {
            match self.skip_space() {
                None => {
                    let msg = format!(
                        "unexpected end of input: the {what} opened at line {opened} is not closed"
                    );
                    return Err(ParseError::new(self.last, msg));
                }
                Some(b) if b == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(_) => {
                    if let Some(form) = self.read()? {
                        items.push(form);
                    }
                }
            }
        }
    }

    fn read_string(&mut self) -> Result<String, ParseError> {
        let opened = self.line;
        self.bump();
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' {
                    break;
                }
                self.bump();
            }
            out.push_str(&self.text[start..self.pos]);
            match self.bump() {
                Some(b'"') => return Ok(out),
                Some(_) => {
                    let c = match self.bump() {
                        Some(b'n') => '\n',
                        Some(b't') => '\t',
                        Some(b'r') => '\r',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'u') => {
                            let rest = &self.text.as_bytes()[self.pos..];
                            let hex = &rest[..rest.len().min(4)];
                            let c = std::str::from_utf8(hex)
                                .ok()
                                .filter(|h| {
                                    h.len() == 4 && h.bytes().all(|b| b.is_ascii_hexdigit())
                                })
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32);
                            let Some(c) = c else {
                                let shown = String::from_utf8_lossy(hex);
                                let msg =
                                    format!("bad escape \\u{} in a string", shown.escape_debug());
                                return Err(ParseError::new(self.line, msg));
                            };
                            self.pos += 4;
                            c
                        }
                        Some(b) if b.is_ascii() => {
                            let msg =
                                format!("bad escape \\{} in a string", (b as char).escape_debug());
                            return Err(ParseError::new(self.line, msg));
                        }
                        _ => {
                            let msg = "bad escape in a string";
                            return Err(ParseError::new(self.line, msg));
                        }
                    };
                    out.push(c);
                }
                None => {
                    let msg = format!(
                        "unexpected end of input: the string opened at line {opened} is not closed"
                    );
                    return Err(ParseError::new(self.last, msg));
                }
            }
        }
    }
}

fn parse_atom(tok: &str) -> Result<Edn, String> {
    match tok {
        "nil" => return Ok(Edn::Nil),
        "true" => return Ok(Edn::Bool(true)),
        "false" => return Ok(Edn::Bool(false)),
        _ => {}
    }
    let bytes = tok.as_bytes();
    let numeric = bytes[0].is_ascii_digit()
        || (matches!(bytes[0], b'+' | b'-') && bytes.get(1).is_some_and(u8::is_ascii_digit));
    if !numeric {
        return Ok(Edn::Symbol(tok.to_string()));
    }
    let digits = tok.strip_suffix('N').unwrap_or(tok);
    if let Ok(i) = digits.parse::<i64>() {
        return Ok(Edn::Int(i));
    }
    if digits
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
    {
        return Err(format!("integer {tok} is too large"));
    }
    let float = tok.strip_suffix('M').unwrap_or(tok);
    float
        .parse::<f64>()
        .map(Edn::Float)
        .map_err(|_| format!("bad number {tok}"))
}

/// Reads a command-line value: one EDN (or JSON) form; `null` is nil, a bare word a string.
pub(crate) fn parse_value_arg(text: &str) -> Result<Value, String> {
    let mut reader = Reader::new(text, 1);
    let form = reader
        .read()
        .map_err(|e| format!("line {}: {}", e.line, e.message))?
        .ok_or_else(|| "empty value".to_string())?;
    if reader.skip_space().is_some() {
        return Err(format!("{text:?} is more than one value"));
    }
    match form {
        Edn::Symbol(s) if s == "null" => Ok(Value::Nil),
        other => other.to_value(),
    }
}

/// Reads an EDN history: top-level maps, or one vector or list of maps.
pub fn parse(text: &str) -> Result<History, ParseError> {
    let mut reader = Reader::new(text, 1);
    if let Some(open @ (b'[' | b'(')) = reader.skip_space() {
        return parse_collection(reader, open);
    }
    let mut events = Vec::new();
    while reader.skip_space().is_some() {
        let line = reader.line();
        match reader.read()? {
            Some(Edn::Map(map)) => push_event(&mut events, line, &map)?,
            Some(other) => {
                let msg = format!("expected a map (one operation), found {}", other.kind());
                return Err(ParseError::new(line, msg));
            }
            None => break,
        }
    }
    knossos(History::from_events(events))
}

/// EDN histories are Jepsen's and follow Knossos's rules (nil reads are of unknown value).
fn knossos(history: Result<History, ParseError>) -> Result<History, ParseError> {
    history.map(|h| History {
        convention: Convention::Knossos,
        ..h
    })
}

/// Reads a history written as one EDN vector or list of maps, keeping each map's line.
fn parse_collection(mut reader: Reader<'_>, open: u8) -> Result<History, ParseError> {
    let close = if open == b'[' { b']' } else { b')' };
    let opened = reader.line();
    reader.bump();
    let mut events = Vec::new();
    loop {
        match reader.skip_space() {
            None => {
                let msg = format!(
                    "unexpected end of input: the history opened at line {opened} is not closed"
                );
                return Err(ParseError::new(reader.last, msg));
            }
            Some(b) if b == close => {
                reader.bump();
                break;
            }
            Some(_) => {
                let line = reader.line();
                match reader.read()? {
                    Some(Edn::Map(map)) => push_event(&mut events, line, &map)?,
                    Some(other) => {
                        let msg = format!("expected a map (one operation), found {}", other.kind());
                        return Err(ParseError::new(line, msg));
                    }
                    None => {}
                }
            }
        }
    }
    if reader.skip_space().is_some() {
        let msg = "unexpected forms after the history's closing bracket";
        return Err(ParseError::new(reader.line(), msg));
    }
    knossos(History::from_events(events))
}

/// Converts one operation map into an event (skipping non-client events such as the nemesis).
fn push_event(
    events: &mut Vec<(usize, Event)>,
    line: usize,
    map: &[(Edn, Edn)],
) -> Result<(), ParseError> {
    let get = |name: &str| {
        map.iter()
            .find(|(k, _)| matches!(k, Edn::Keyword(k) if k == name))
            .map(|(_, v)| v)
    };
    let err = |msg: String| ParseError::new(line, msg);
    let process = match get("process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        Some(Edn::Keyword(_)) => return Ok(()), // :nemesis and other non-client processes
        Some(other) => return Err(err(format!(":process is {}", other.kind()))),
        None => return Err(err("the map has no :process".into())),
    };
    let kind = match get("type") {
        Some(Edn::Keyword(t)) => EventType::from_name(t).ok_or_else(|| {
            err(format!(
                "unknown :type :{t} (expected :invoke, :ok, :fail or :info)"
            ))
        })?,
        Some(other) => return Err(err(format!(":type is {}", other.kind()))),
        None => return Err(err("the map has no :type".into())),
    };
    let f = match get("f") {
        Some(Edn::Keyword(f) | Edn::Symbol(f) | Edn::Str(f)) => f.clone(),
        Some(other) => return Err(err(format!(":f is {}", other.kind()))),
        None => return Err(err("the map has no :f".into())),
    };
    let value_of = |name: &str| match get(name) {
        None => Ok(Value::Nil),
        Some(v) => v.to_value().map_err(|m| err(format!(":{name}: {m}"))),
    };
    let time = match get("time") {
        None | Some(Edn::Nil) => None,
        Some(Edn::Int(t)) if *t >= 0 => Some(*t as u64),
        Some(other) => return Err(err(format!(":time is {}", other.kind()))),
    };
    let event = Event {
        process,
        kind,
        f,
        key: value_of("key")?,
        value: value_of("value")?,
        time,
        value_unknown: false,
    };
    events.push((line, event));
    Ok(())
}
