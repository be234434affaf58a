//! Linearizability checking of concurrent histories.
//!
//! A [`Model`] is a sequential specification; [`check`] decides whether a history of
//! [`Operation`]s could have happened, one operation at a time, in an order consistent with
//! real time (Wing & Gong's search with Lowe's memoization, as in Porcupine, plus
//! P-compositionality: a model may split the history into independent parts, checked
//! separately and in parallel).
//!
//! ```
//! use weft_lincheck::{check, CheckConfig, Model, Operation, Verdict};
//!
//! /// A register holding an integer, initially 0.
//! struct Register;
//!
//! enum Cmd { Read, Write(i64) }
//!
//! impl Model for Register {
//!     type State = i64;
//!     type Input = Cmd;
//!     type Output = i64; // what a read returned (ignored for writes)
//!
//!     fn init(&self) -> i64 { 0 }
//!
//!     fn step(&self, state: &i64, input: &Cmd, output: Option<&i64>) -> Option<i64> {
//!         match (input, output) {
//!             (Cmd::Read, Some(seen)) => (seen == state).then_some(*state),
//!             (Cmd::Read, None) => Some(*state),
//!             (Cmd::Write(v), _) => Some(*v),
//!         }
//!     }
//! }
//!
//! // Client 0 writes 1 during [0, 10]; client 1 reads 1 during [2, 5], then 0 during [6, 8]:
//! // the write must come before the first read, so the second read is impossible.
//! let history = vec![
//!     Operation::new(0, Cmd::Write(1), 0, 0, 10),
//!     Operation::new(1, Cmd::Read, 1, 2, 5),
//!     Operation::new(1, Cmd::Read, 0, 6, 8),
//! ];
//! let result = check(&Register, &history, &CheckConfig::default()).unwrap();
//! assert_eq!(result.verdict, Verdict::NotLinearizable);
//! // The longest partial linearization: write(1), read -> 1; the last read cannot follow.
//! assert_eq!(result.parts[0].linearization, vec![0, 1]);
//! assert_eq!(result.parts[0].unplaced, vec![2]);
//!
//! // Reading 0 first and 1 later is fine.
//! let history = vec![
//!     Operation::new(0, Cmd::Write(1), 0, 0, 10),
//!     Operation::new(1, Cmd::Read, 0, 2, 5),
//!     Operation::new(1, Cmd::Read, 1, 6, 8),
//! ];
//! let result = check(&Register, &history, &CheckConfig::default()).unwrap();
//! assert!(result.is_linearizable());
//! assert_eq!(result.parts[0].linearization, vec![1, 0, 2]);
//! ```
//!
//! Recorded histories (Jepsen logs, Jepsen EDN, weft's JSON Lines: see `FORMATS.md`) are read
//! by [`formats`] into a [`History`]; [`Report`] describes a result independently of the
//! model's types (for JSON output), and [`html::render`] draws it as a self-contained page.
#![deny(missing_docs)]

mod check;
pub mod formats;
mod history;
pub mod html;
mod model;
mod report;
mod search;
mod table;
mod value;

pub use check::{
    check, CheckConfig, CheckError, CheckResult, Checker, PartOutcome, PartResult, SearchStats,
    UnknownReason, Verdict,
};
pub use formats::Format;
pub use history::{Convention, Event, EventType, History, HistoryOp, ParseError, Status};
pub use model::{Model, Operation};
pub use report::{Report, ReportOp, ReportPart, ReportStep};
pub use value::Value;
