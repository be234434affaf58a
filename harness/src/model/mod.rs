//! Model-based testing: the system described as a state machine, as QuickCheck's `eqc_statem`.
//!
//! The user implements [`StateMachine`]: a model state, commands generated from it, the
//! expected next state, postconditions on the real results, and the real system's set-up and
//! command execution inside the simulation. weft generates command sequences, sequential or
//! parallel (a prefix, then concurrent branches run as client tasks), runs them under the
//! deterministic scheduler, checks postconditions (for parallel runs: some linearization
//! consistent with real-time order satisfies every postcondition) and invariants, and on
//! failure shrinks both the commands and the interleaving (the search layer's shrinker).
//!
//! Every generated value comes from the decision stream (decisions of kind `Generate`), so a
//! test case is a pure function of its decisions and shrinking can work on them directly.

mod case;
mod exec;
mod gen;
pub(crate) mod record;

pub use case::{Mode, Shape};
pub use gen::Gen;

pub(crate) use case::{generate, TestCase};
pub(crate) use exec::execute;
pub(crate) use record::{CaseInfo, ClientOps, OpRecord, Span, Structure};

use crate::sim::{Config, Sim};
use serde::Serialize;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

/// The bounds of a model's liveness phase (see [`StateMachine::liveness`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// Simulated time, from the start of the phase, within which the system must be
    /// quiescent; past it the run fails with [`FailureKind::Liveness`](crate::FailureKind).
    pub within: Duration,
    /// Simulated time between two polls of [`StateMachine::quiescent`].
    pub poll: Duration,
}

/// How the sequential prefix of a case treats unknown outcomes ([`StateMachine::is_unknown`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrefixUnknowns {
    /// As Jepsen's `:info`: the command may take effect at any later point, or never. Results
    /// are first checked as if it took effect at once; when a later postcondition fails, the
    /// prefix from the first unknown outcome on is checked as a history, and if some order
    /// explains it, the rest of the case is checked with it as one history.
    #[default]
    Later,
    /// The model's `next_state` says at once what an unknown result did, as it does for known
    /// results, and later results are checked against that (for a model whose "unknown" only
    /// means ambiguous among parallel clients: the pool's timed-out checkout, whose cancel
    /// gave the worker back).
    AsModelled,
}

/// A symbolic reference to the result of an earlier command (the worker a checkout returned,
/// used by a later checkin). Commands and model states hold `Var`s; [`Vars`] resolves them to
/// real results at run time. Vars stay consistent under shrinking because commands are
/// regenerated from the model state, which only holds vars of commands that exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Var(pub usize);

/// The real results of the commands run so far, by [`Var`].
#[derive(Clone, Debug)]
pub struct Vars<R> {
    values: Vec<Option<R>>,
}

impl<R> Default for Vars<R> {
    fn default() -> Self {
        Vars { values: Vec::new() }
    }
}

impl<R> Vars<R> {
    /// The result of the command `var` refers to, if it has one yet.
    pub fn get(&self, var: Var) -> Option<&R> {
        self.values.get(var.0).and_then(Option::as_ref)
    }

    pub(crate) fn set(&mut self, var: Var, value: R) {
        if self.values.len() <= var.0 {
            self.values.resize_with(var.0 + 1, || None);
        }
        self.values[var.0] = Some(value);
    }
}

/// A description of a distributed system as a state machine, for model-based testing.
///
/// All `State`, `Command` and `Result` values must be plain data: the linearizability check of
/// parallel runs stores and hashes states, and may run on another thread.
pub trait StateMachine: 'static {
    /// The model state.
    type State: Clone + Debug + Eq + Hash + Send + Sync;
    /// A command, possibly holding [`Var`]s.
    type Command: Clone + Debug + Send + Sync;
    /// The real result of running a command.
    type Result: Clone + Debug + Send + Sync;
    /// A handle to the system under test inside the simulation (addresses of its nodes).
    type System: Clone + 'static;

    /// The simulation configuration (network latency, limits, faults).
    fn config(&self) -> Config {
        Config::default()
    }

    /// Adds the system's nodes to a fresh simulation.
    fn setup(&self, sim: &mut Sim) -> Self::System;

    /// The initial model state.
    fn init(&self) -> Self::State;

    /// Generates a command that makes sense in `state`, drawing every choice from `gen`.
    fn command(&self, state: &Self::State, gen: &mut Gen) -> Self::Command;

    /// Whether `command` may run in `state`. Commands that fail it are not generated; in
    /// parallel tests it must hold in every interleaving of the branches.
    fn precondition(&self, state: &Self::State, command: &Self::Command) -> bool {
        let _ = (state, command);
        true
    }

    /// The model state after `command`, whose result is referred to by `result`.
    fn next_state(&self, state: &Self::State, command: &Self::Command, result: Var) -> Self::State;

    /// Checks the real result of `command` run in model state `state`: `Err` says what was
    /// expected and what was observed.
    fn postcondition(
        &self,
        state: &Self::State,
        command: &Self::Command,
        result: &Self::Result,
        vars: &Vars<Self::Result>,
    ) -> Result<(), String>;

    /// Runs `command` against the real system, from a client task of the driver node.
    fn run(
        &self,
        system: &Self::System,
        command: &Self::Command,
        vars: &Vars<Self::Result>,
    ) -> impl Future<Output = Self::Result>;

    /// Checks the real system against the model state (after each sequential command, and
    /// after the parallel branches). `Err` says what differs.
    fn invariant(
        &self,
        system: &Self::System,
        state: &Self::State,
        vars: &Vars<Self::Result>,
    ) -> impl Future<Output = Result<(), String>> {
        let _ = (system, state, vars);
        async { Ok(()) }
    }

    /// Whether the case ends with a liveness phase, as TigerBeetle's simulator does, and its
    /// bounds. After the case's commands (and, for parallel cases, the linearizability
    /// check) weft calls [`crate::fault::calm`]: faults stop, partitions heal, crashed nodes
    /// restart, paused ones resume, clocks keep their skew. Then [`StateMachine::wind_down`]
    /// runs once, [`StateMachine::quiescent`] is polled every `poll` until it holds (a failure
    /// of kind `liveness` if it does not within `within`), and [`StateMachine::settled`]
    /// checks what must hold of the system at rest. `None` (the default): no liveness phase.
    fn liveness(&self) -> Option<Liveness> {
        None
    }

    /// The start of the liveness phase, once faults have healed: bring the system to rest
    /// (wait for background work the test started, return what clients still hold).
    fn wind_down(
        &self,
        system: &Self::System,
        state: &Self::State,
        vars: &Vars<Self::Result>,
    ) -> impl Future<Output = ()> {
        let _ = (system, state, vars);
        async {}
    }

    /// Whether the system is at rest (replicas agree, every job answered, every worker idle);
    /// `Err` says what is not yet. Polled during the liveness phase.
    fn quiescent(
        &self,
        system: &Self::System,
        state: &Self::State,
        vars: &Vars<Self::Result>,
    ) -> impl Future<Output = Result<(), String>> {
        let _ = (system, state, vars);
        async { Ok(()) }
    }

    /// Checks the system at rest, at the end of the liveness phase (no acknowledged write
    /// lost, nothing never written appears). `Err` fails the run as a violated check.
    fn settled(
        &self,
        system: &Self::System,
        state: &Self::State,
        vars: &Vars<Self::Result>,
    ) -> impl Future<Output = Result<(), String>> {
        let _ = (system, state, vars);
        async { Ok(()) }
    }

    /// Whether `command` may block in `state` (a checkout waiting for a worker). Blocking
    /// commands are shown as such in counterexamples; a blocked command's result is checked
    /// at the point where it is linearized.
    fn blocking(&self, state: &Self::State, command: &Self::Command) -> bool {
        let _ = (state, command);
        false
    }

    /// Whether a real result means the outcome is unknown (a timeout: the command may or may
    /// not have taken effect), as Jepsen's `:info`. In parallel tests such a command may take
    /// effect at any point after its invocation, or never, in the branches and, unless
    /// [`StateMachine::prefix_unknowns`] says otherwise, in the prefix (its own postcondition
    /// is still asked there, with the unknown result). Commands whose client was killed count
    /// as unknown. `system` is this case's system, where per-case knowledge
    /// (deadlines handed out, say) can live.
    fn is_unknown(&self, system: &Self::System, result: &Self::Result) -> bool {
        let _ = (system, result);
        false
    }

    /// How the sequential prefix treats unknown outcomes (default: [`PrefixUnknowns::Later`]).
    fn prefix_unknowns(&self) -> PrefixUnknowns {
        PrefixUnknowns::Later
    }

    /// Whether a real result means the command certainly had no effect (a request the system
    /// refused before doing anything), as Jepsen's `:fail`. Such a command constrains nothing:
    /// its postcondition is not checked, the model state does not advance past it in the
    /// prefix, and the linearizability check leaves it out. `is_unknown` is asked first.
    fn is_failed(&self, system: &Self::System, result: &Self::Result) -> bool {
        let _ = (system, result);
        false
    }

    /// How a command reads in a counterexample.
    fn describe(&self, command: &Self::Command) -> String {
        format!("{command:?}")
    }
}
