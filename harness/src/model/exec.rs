//! Running a test case against the real system inside a simulation.
//!
//! The prefix runs in the main task, checking each postcondition and the invariant after each
//! command. The branches run as client tasks ("client 1", "client 2"...); each command's
//! invocation and return are stamped with a logical clock shared by the clients, so real-time
//! order is exact. Afterwards the parallel results must be explained by some linearization
//! (weft-lincheck), with commands that never returned (their client was killed or the run
//! ended) taken as of unknown outcome.
//!
//! Outcomes, as Jepsen's: a result is ok, unknown (`StateMachine::is_unknown`: it may take
//! effect at any later point, or never) or failed (`StateMachine::is_failed`: it certainly
//! had no effect, and is left out of every history). In the prefix an unknown outcome is
//! first taken as having taken effect at once; if a later postcondition fails, the prefix
//! from that outcome on is checked as a history from the state before it, and if that
//! explains it, the rest of the prefix and the branches are checked together as one history
//! (unless the model's `prefix_unknowns` is `AsModelled`).

use super::{CaseInfo, ClientOps, OpRecord, PrefixUnknowns, StateMachine, TestCase, Var, Vars};
use crate::sim::failure::CheckFailed;
use crate::sim::{Config, Detail, FailureKind, RunReport, Sim};
use crate::source::Source;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use weft_lincheck::{CheckConfig, Operation, Verdict};

/// What the explained run records of a case, as text (only runs being explained need it).
struct Record {
    info: CaseInfo,
    explain: bool,
}

impl Record {
    fn client(&mut self, name: impl FnOnce() -> String) {
        if self.explain {
            self.info.clients.push(ClientOps {
                client: name(),
                ops: Vec::new(),
            });
        }
    }

    fn call(&mut self, client: usize, op: impl FnOnce() -> OpRecord) {
        if self.explain {
            self.info.clients[client].ops.push(op());
        }
    }

    fn result(&mut self, client: usize, k: usize, text: impl FnOnce() -> String) {
        if self.explain {
            self.info.clients[client].ops[k].result = Some(text());
        }
    }
}

/// Runs `case` with decisions from `source`: the engine's report, and what the case did.
pub(crate) fn execute<M: StateMachine + Sync>(
    model: &Rc<M>,
    case: TestCase<M::Command>,
    source: Source,
    detail: Detail,
) -> (RunReport, CaseInfo) {
    let cfg = Config {
        detail,
        ..model.config()
    };
    let mut sim = Sim::new(cfg, source);
    let system = model.setup(&mut sim);
    let info = CaseInfo {
        clients: Vec::new(),
        branches: case.branches.len(),
        branch_sizes: case.branches.iter().map(Vec::len).collect(),
        commands: case.commands(),
        structure: case.structure.clone(),
        violation: None,
        history: None,
        events: Vec::new(),
    };
    let run = Rc::new(CaseRun {
        model: model.clone(),
        system,
        clock: Cell::new(0),
        ops: RefCell::new(Vec::new()),
        failed: RefCell::new(Vec::new()),
        record: RefCell::new(Record {
            info,
            explain: detail.explains(),
        }),
    });
    let (report, _) = sim.run(drive_case(run.clone(), case));
    let mut info = std::mem::take(&mut run.record.borrow_mut().info);
    if detail.explains() {
        let history = run.history(0);
        info.history = Some(history_report(&**model, &history));
        info.events = history_events(&**model, &run.ops.borrow(), &run.failed.borrow());
    }
    (report, info)
}

/// One operation of a case, as the linearizability checker sees it.
type Op<M> = Operation<(Var, <M as StateMachine>::Command), <M as StateMachine>::Result>;

/// The whole case as a history in weft's JSON Lines event format: an invocation at each call
/// (`f` is the command, `value` null) and an `ok` at each return (`value` the result), or an
/// `info` for an unknown outcome, a `fail` for a failed one (at the indices `failed`); `time`
/// is the logical clock of the case.
fn history_events<M: StateMachine>(
    model: &M,
    ops: &[Op<M>],
    failed: &[usize],
) -> Vec<weft_lincheck::Event> {
    use weft_lincheck::{Event, EventType, Value};
    let mut events: Vec<(u64, usize, Event)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let f = model.describe(&op.input.1);
        let mut invoke = Event::new(op.client, EventType::Invoke, &f, Value::Nil, Value::Nil);
        invoke.time = Some(op.call);
        events.push((op.call, i, invoke));
        let (kind, value, at) = match &op.output {
            Some(result) if failed.contains(&i) => {
                (EventType::Fail, Value::Str(format!("{result:?}")), op.ret)
            }
            Some(result) => (EventType::Ok, Value::Str(format!("{result:?}")), op.ret),
            None => (EventType::Info, Value::Nil, u64::MAX),
        };
        let mut done = Event::new(op.client, kind, &f, Value::Nil, value);
        done.time = (at != u64::MAX).then_some(at);
        events.push((at, i, done));
    }
    events.sort_by_key(|(at, i, _)| (*at, *i));
    // Unknown outcomes end the history; give them the last time so every event has one.
    let last = events
        .iter()
        .filter_map(|(_, _, e)| e.time)
        .max()
        .unwrap_or(0);
    events
        .into_iter()
        .map(|(_, _, mut e)| {
            e.time.get_or_insert(last + 1);
            e
        })
        .collect()
}

/// The whole case as a history (prefix and branches with logical call and return times),
/// checked from the initial state: what the HTML report draws.
fn history_report<M: StateMachine + Sync>(model: &M, ops: &[Op<M>]) -> weft_lincheck::Report {
    let mut vars = Vars::default();
    for op in ops {
        if let Some(result) = &op.output {
            vars.set(op.input.0, result.clone());
        }
    }
    let adapter = Adapter {
        model,
        init: model.init(),
        vars: &vars,
    };
    let config = lincheck_config();
    match weft_lincheck::check(&adapter, ops, &config) {
        Ok(result) => weft_lincheck::Report::new("model", &adapter, ops, &result),
        Err(e) => {
            let empty =
                weft_lincheck::check(&adapter, &[], &config).expect("an empty history checks");
            let mut report = weft_lincheck::Report::new("model", &adapter, &[], &empty);
            report.model = format!("model (history could not be checked: {e})");
            report
        }
    }
}

/// What every client of a running case shares: the model, the system, the logical clock that
/// stamps invocations and returns, the history, and the record of the explained run.
struct CaseRun<M: StateMachine> {
    model: Rc<M>,
    system: M::System,
    clock: Cell<u64>,
    ops: RefCell<Vec<Op<M>>>,
    /// Indices in `ops` of the commands that certainly had no effect.
    failed: RefCell<Vec<usize>>,
    record: RefCell<Record>,
}

impl<M: StateMachine + Sync> CaseRun<M> {
    /// The operations from index `from` on, without those that certainly had no effect: the
    /// history the linearizability check sees.
    fn history(&self, from: usize) -> Vec<Op<M>> {
        let (ops, failed) = (self.ops.borrow(), self.failed.borrow());
        (from..ops.len())
            .filter(|i| !failed.contains(i))
            .map(|i| ops[i].clone())
            .collect()
    }

    fn tick(&self) -> u64 {
        self.clock.set(self.clock.get() + 1);
        self.clock.get()
    }

    /// Fails the run with a violated property, recording it for the counterexample.
    fn violation(&self, text: String) -> ! {
        self.failure(FailureKind::Check, text)
    }

    /// Fails the run with a failure of `kind`, recording it for the counterexample.
    fn failure(&self, kind: FailureKind, text: String) -> ! {
        self.record.borrow_mut().info.violation = Some(text.clone());
        std::panic::panic_any(CheckFailed(kind, text))
    }

    /// Runs command number `k` of `client` (0: the prefix), stamping its invocation and
    /// return in the history. A result the model calls unknown stays without a return; one it
    /// calls failed is marked, to be left out of the history.
    async fn invoke(
        &self,
        client: usize,
        k: usize,
        (var, command): (Var, &M::Command),
        state: &M::State,
        vars: &Vars<M::Result>,
    ) -> M::Result {
        let model = &*self.model;
        let blocking = model.blocking(state, command);
        self.record.borrow_mut().call(client, || OpRecord {
            var: var.0,
            command: model.describe(command),
            result: None,
            blocking,
        });
        let call = self.tick();
        let index = {
            let mut ops = self.ops.borrow_mut();
            ops.push(Operation::unknown(
                client as u64,
                (var, command.clone()),
                call,
            ));
            ops.len() - 1
        };
        let result = model.run(&self.system, command, vars).await;
        let ret = self.tick();
        if !model.is_unknown(&self.system, &result) {
            let mut ops = self.ops.borrow_mut();
            ops[index].output = Some(result.clone());
            ops[index].ret = ret;
            if model.is_failed(&self.system, &result) {
                self.failed.borrow_mut().push(index);
            }
        }
        self.record
            .borrow_mut()
            .result(client, k, || format!("{result:?}"));
        result
    }
}

/// The case's main future: the prefix, then the branches as concurrent clients, then the
/// linearizability check of the branches (from the prefix's first unknown outcome, if it had
/// one) and the invariant in the state they lead to, then the liveness phase if the model has
/// one.
async fn drive_case<M: StateMachine + Sync>(run: Rc<CaseRun<M>>, case: TestCase<M::Command>) {
    let TestCase {
        prefix, branches, ..
    } = case;
    let (mut state, mut vars, unsettled) = run_prefix(&run, &prefix).await;
    let parallel = !branches.is_empty();
    if parallel || unsettled.is_some() {
        let prefix_ops = run.ops.borrow().len();
        if parallel {
            vars = run_branches(&run, branches, prefix.len(), &state, vars).await;
        }
        let (from, start) = unsettled.unwrap_or((prefix_ops, state));
        let ops = run.history(from);
        state = linearize(&run, &ops, &start, &vars);
        if let Err(why) = run.model.invariant(&run.system, &state, &vars).await {
            let after = if parallel {
                "the parallel branches"
            } else {
                "the prefix's unknown outcomes"
            };
            run.violation(format!("invariant failed after {after}: {why}"));
        }
    }
    if let Some(bounds) = run.model.liveness() {
        liveness_phase(&run, bounds, &state, &vars).await;
    }
}

/// The liveness phase: every fault heals and stops, the model winds the system down, and
/// the system must become quiescent within the bound; then it is checked at rest.
async fn liveness_phase<M: StateMachine + Sync>(
    run: &CaseRun<M>,
    bounds: super::Liveness,
    state: &M::State,
    vars: &Vars<M::Result>,
) {
    let (model, system) = (&*run.model, &run.system);
    crate::fault::calm();
    let start = crate::time::now_ns();
    let within = bounds.within.as_nanos() as u64;
    model.wind_down(system, state, vars).await;
    loop {
        match model.quiescent(system, state, vars).await {
            Ok(()) => break,
            Err(why) if crate::time::now_ns().saturating_sub(start) >= within => {
                let text = format!(
                    "not at rest {} after every fault healed: {why}",
                    crate::sim::format_ns(within)
                );
                run.failure(FailureKind::Liveness, text);
            }
            Err(_) => crate::time::sleep(bounds.poll).await,
        }
    }
    if let Err(why) = model.settled(system, state, vars).await {
        run.violation(format!("check at rest, after the liveness phase: {why}"));
    }
}

/// The prefix's first unknown outcome: its index in the history and the model state before it.
type Unsettled<M> = Option<(usize, <M as StateMachine>::State)>;

/// Runs the prefix in the main task, checking each postcondition and the invariant after
/// each command in the model state reached by taking every result as it came (an unknown
/// outcome as having taken effect at once). When a postcondition fails after an unknown
/// outcome, the prefix so far is checked as a history from the state before that outcome
/// (which may take effect later, or never); if that explains it, the model state is
/// unsettled from there on and the rest of the case is checked with it as one history (see
/// [`drive_case`]). Returns the model state, the results, and where it became unsettled.
async fn run_prefix<M: StateMachine + Sync>(
    run: &CaseRun<M>,
    prefix: &[M::Command],
) -> (M::State, Vars<M::Result>, Unsettled<M>) {
    let model = &*run.model;
    let mut state = model.init();
    let mut vars: Vars<M::Result> = Vars::default();
    let mut first_unknown: Unsettled<M> = None;
    let mut unsettled = false;
    run.record.borrow_mut().client(|| "prefix".to_string());
    for (i, command) in prefix.iter().enumerate() {
        let var = Var(i);
        let index = run.ops.borrow().len();
        let result = run.invoke(0, i, (var, command), &state, &vars).await;
        let unknown = model.is_unknown(&run.system, &result);
        let later = model.prefix_unknowns() == PrefixUnknowns::Later;
        if unknown && later && first_unknown.is_none() {
            first_unknown = Some((index, state.clone()));
        }
        if !unknown && model.is_failed(&run.system, &result) {
            vars.set(var, result);
            continue;
        }
        if !unsettled {
            if let Err(why) = model.postcondition(&state, command, &result, &vars) {
                let explained = first_unknown.as_ref().is_some_and(|(from, before)| {
                    explains(run, &run.history(*from), before, &vars, &result, var)
                });
                if !explained {
                    run.violation(format!(
                        "postcondition of {} (var {i}) failed: {why}",
                        model.describe(command)
                    ));
                }
                unsettled = true;
            }
        }
        vars.set(var, result);
        state = model.next_state(&state, command, var);
        if unsettled {
            continue;
        }
        if let Err(why) = model.invariant(&run.system, &state, &vars).await {
            run.violation(format!(
                "invariant failed after {} (var {i}): {why}",
                model.describe(command)
            ));
        }
    }
    (state, vars, first_unknown.filter(|_| unsettled))
}

/// Whether some linearization of `ops` from `state` explains every result, with `result` (of
/// `var`, the last command) among the results its postconditions may refer to.
fn explains<M: StateMachine + Sync>(
    run: &CaseRun<M>,
    ops: &[Op<M>],
    state: &M::State,
    vars: &Vars<M::Result>,
    result: &M::Result,
    var: Var,
) -> bool {
    let mut vars = vars.clone();
    vars.set(var, result.clone());
    let adapter = Adapter {
        model: &*run.model,
        init: state.clone(),
        vars: &vars,
    };
    matches!(
        weft_lincheck::check(&adapter, ops, &lincheck_config()).map(|r| r.verdict),
        Ok(Verdict::Linearizable)
    )
}

/// Runs each branch as a client task ("client 1", "client 2"...) and waits for them all.
/// Returns the results of the prefix and of every command that returned.
async fn run_branches<M: StateMachine + Sync>(
    run: &Rc<CaseRun<M>>,
    branches: Vec<Vec<M::Command>>,
    first_var: usize,
    state: &M::State,
    vars: Vars<M::Result>,
) -> Vars<M::Result> {
    let mut handles = Vec::new();
    let mut next_var = first_var;
    for (b, branch) in branches.into_iter().enumerate() {
        let client = b + 1;
        run.record
            .borrow_mut()
            .client(|| format!("client {client}"));
        let first = next_var;
        next_var += branch.len();
        let (run, mut local, mut branch_state) = (run.clone(), vars.clone(), state.clone());
        handles.push(crate::task::spawn_named(
            format!("client {client}"),
            async move {
                for (k, command) in branch.into_iter().enumerate() {
                    let var = Var(first + k);
                    let result = run
                        .invoke(client, k, (var, &command), &branch_state, &local)
                        .await;
                    branch_state = run.model.next_state(&branch_state, &command, var);
                    local.set(var, result);
                }
            },
        ));
    }
    for handle in handles {
        let _ = handle.await;
    }
    let mut vars = vars;
    for op in &run.ops.borrow()[..] {
        if let Some(result) = &op.output {
            vars.set(op.input.0, result.clone());
        }
    }
    vars
}

/// The checker's bounds inside a run: one thread, and a wall-clock bound so a pathological
/// history cannot hang a search.
fn lincheck_config() -> CheckConfig {
    CheckConfig {
        threads: 1,
        timeout: Some(std::time::Duration::from_secs(10)), // hygiene: allowed (a checker bound, not simulated time)
        ..CheckConfig::default()
    }
}

/// The state after applying `order` (indices into `ops`) to `init`; operations that do not
/// apply are skipped.
fn state_after<M: StateMachine>(
    adapter: &Adapter<'_, M>,
    init: &M::State,
    order: &[usize],
    ops: &[Op<M>],
) -> M::State {
    let mut state = init.clone();
    for &i in order {
        if let Some(next) = adapter.apply(&state, i, ops) {
            state = next;
        }
    }
    state
}

/// Checks that some linearization of the branches' operations `ops`, from `state`, explains
/// every result; fails the run otherwise. Returns the state after the linearization found.
fn linearize<M: StateMachine + Sync>(
    run: &CaseRun<M>,
    ops: &[Op<M>],
    state: &M::State,
    vars: &Vars<M::Result>,
) -> M::State {
    let model = &*run.model;
    let adapter = Adapter {
        model,
        init: state.clone(),
        vars,
    };
    let result = match weft_lincheck::check(&adapter, ops, &lincheck_config()) {
        Ok(r) => r,
        Err(e) => run.violation(format!("the parallel history could not be checked: {e}")),
    };
    let part = &result.parts[0];
    match result.verdict {
        Verdict::Linearizable => state_after(&adapter, state, &part.linearization, ops),
        Verdict::Unknown => run.violation(
            "the linearizability check of the parallel branches reached its bound".to_string(),
        ),
        Verdict::NotLinearizable => {
            let describe = |i: usize| {
                let op = &ops[i];
                let result = op
                    .output
                    .as_ref()
                    .map_or("no result".to_string(), |r| format!("{r:?}"));
                let client = match op.client {
                    0 => "prefix".to_string(),
                    n => format!("client {n}"),
                };
                format!("{client}: {} -> {result}", model.describe(&op.input.1))
            };
            let reached = state_after(&adapter, state, &part.linearization, ops);
            let placed: Vec<String> = part.linearization.iter().map(|&i| describe(i)).collect();
            let unplaced: Vec<String> = part.unplaced.iter().map(|&i| describe(i)).collect();
            run.violation(format!(
                "no interleaving of the clients' commands explains their results (not linearizable): after [{}] the model state is {:?}, and none of [{}] can come next",
                placed.join("; "),
                reached,
                unplaced.join("; ")
            ))
        }
    }
}

/// The state machine seen as a sequential specification for the linearizability checker.
struct Adapter<'a, M: StateMachine> {
    model: &'a M,
    init: M::State,
    vars: &'a Vars<M::Result>,
}

impl<M: StateMachine> Adapter<'_, M> {
    fn apply(&self, state: &M::State, i: usize, ops: &[Op<M>]) -> Option<M::State> {
        use weft_lincheck::Model;
        self.step(state, &ops[i].input, ops[i].output.as_ref())
    }
}

impl<M: StateMachine> weft_lincheck::Model for Adapter<'_, M> {
    type State = M::State;
    type Input = (Var, M::Command);
    type Output = M::Result;

    fn init(&self) -> M::State {
        self.init.clone()
    }

    fn step(
        &self,
        state: &M::State,
        input: &(Var, M::Command),
        output: Option<&M::Result>,
    ) -> Option<M::State> {
        let (var, command) = input;
        if !self.model.precondition(state, command) {
            return None;
        }
        if let Some(result) = output {
            self.model
                .postcondition(state, command, result, self.vars)
                .ok()?;
        }
        Some(self.model.next_state(state, command, *var))
    }

    fn describe_operation(&self, input: &(Var, M::Command), output: Option<&M::Result>) -> String {
        match output {
            Some(r) => format!("{} -> {r:?}", self.model.describe(&input.1)),
            None => format!("{} -> ?", self.model.describe(&input.1)),
        }
    }

    fn describe_state(&self, state: &M::State) -> String {
        format!("{state:?}")
    }
}
