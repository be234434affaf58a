//! What a model-based case did, recorded beside the engine's report for the layers above: the
//! commands and results as text, the structure of its generation decisions (for the
//! shrinker), the violation, and the history (for reports).

use serde::Serialize;

/// What a model-based test case did, beside the engine's [`crate::RunReport`] of its run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaseInfo {
    /// Commands of the sequential prefix, then of each branch (client 1, 2...), with their
    /// results, as text: recorded in runs with the trace recorded (explained runs) only.
    pub clients: Vec<ClientOps>,
    /// Number of parallel branches (0 for a sequential test).
    pub branches: usize,
    /// Number of commands in each branch.
    pub branch_sizes: Vec<usize>,
    /// Total number of commands.
    pub commands: usize,
    /// Spans of generation decisions, for the shrinker.
    #[serde(skip)]
    pub structure: Structure,
    /// The violated postcondition or invariant, with expected and observed values.
    pub violation: Option<String>,
    /// The whole case as a checked history, for the HTML report (runs with the trace
    /// recorded only).
    #[serde(skip)]
    pub history: Option<weft_lincheck::Report>,
    /// The same history as events of weft's JSON Lines format (runs with the trace recorded
    /// only).
    #[serde(skip)]
    pub events: Vec<weft_lincheck::Event>,
}
/// The commands one client ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientOps {
    /// "prefix" or "client N".
    pub client: String,
    /// Each command with its result ("…" if it never returned).
    pub ops: Vec<OpRecord>,
}

/// One command and what it returned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpRecord {
    /// The command's var number.
    pub var: usize,
    /// The command.
    pub command: String,
    /// Its result, if it returned.
    pub result: Option<String>,
    /// Whether the model said it may block.
    pub blocking: bool,
}

/// A span of generation decisions, `[start, end)`.
pub type Span = (usize, usize);

/// Where each command's and each branch's generation decisions are as indices among the
/// run's `Generate` decisions: `[start, end)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Structure {
    /// Spans of the prefix commands (each begins with its "one more command" flag).
    pub prefix: Vec<Span>,
    /// Index of the flag that ends the prefix (or the prefix length limit).
    pub prefix_end: usize,
    /// Index of the branch-count decision, if one was drawn.
    pub branch_count_at: Option<usize>,
    /// Per branch: its whole span and its command spans.
    pub branches: Vec<(Span, Vec<Span>)>,
}
