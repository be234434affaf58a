//! Running a test case against the real system inside a simulation.
//!
//! The prefix runs in the main task, checking each postcondition and the invariant after each
//! command. The branches run as client tasks ("client 1", "client 2"...); each command's
//! invocation and return are stamped with a logical clock shared by the clients, so real-time
//! order is exact. Afterwards the parallel results must be explained by some linearization
//! (weft-lincheck), with commands that never returned (their client was killed or the run
//! ended) taken as of unknown outcome.

use super::{CaseInfo, ClientOps, OpRecord, StateMachine, TestCase, Var, Vars};
use crate::sim::{Config, RunReport, Sim};
use crate::source::Source;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use weft_lincheck::{CheckConfig, Operation, Verdict};

struct Shared {
    info: CaseInfo,
    /// Record the commands and results as text (only runs being explained need it).
    explain: bool,
}

impl Shared {
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

/// Runs `case` with decisions from `source`. The report's `case` holds what happened.
pub(crate) fn execute<M: StateMachine + Sync>(
    model: &Rc<M>,
    case: TestCase<M::Command>,
    source: Source,
    record_trace: bool,
) -> RunReport {
    let cfg = Config {
        record_trace,
        ..model.config()
    };
    let mut sim = Sim::new(cfg, source);
    let system = model.setup(&mut sim);
    let commands = case.commands();
    let parallel = !case.branches.is_empty();
    let shared = Rc::new(RefCell::new(Shared {
        info: CaseInfo {
            clients: Vec::new(),
            branches: case.branches.len(),
            branch_sizes: case.branches.iter().map(Vec::len).collect(),
            commands,
            structure: case.structure.clone(),
            violation: None,
            history: None,
            events: Vec::new(),
        },
        explain: record_trace,
    }));
    let ops: Ops<M> = Rc::new(RefCell::new(Vec::new()));
    let main = drive(model.clone(), system, case, shared.clone(), ops.clone());
    let (mut report, _) = sim.run(main);
    let mut info = std::mem::take(&mut shared.borrow_mut().info);
    if !parallel {
        info.branches = 0;
    }
    if record_trace {
        info.history = Some(history_report(&**model, &ops.borrow()));
        info.events = history_events(&**model, &ops.borrow());
    }
    report.case = Some(info);
    report
}

/// One operation of a case, as the linearizability checker sees it.
type Op<M> = Operation<(Var, <M as StateMachine>::Command), <M as StateMachine>::Result>;
type Ops<M> = Rc<RefCell<Vec<Op<M>>>>;

/// The whole case as a history in weft's JSON Lines event format: an invocation at each call
/// (`f` is the command, `value` null) and an `ok` at each return (`value` the result), or an
/// `info` for an unknown outcome; `time` is the logical clock of the case.
fn history_events<M: StateMachine>(model: &M, ops: &[Op<M>]) -> Vec<weft_lincheck::Event> {
    use weft_lincheck::{Event, EventType, Value};
    let mut events: Vec<(u64, usize, Event)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let f = model.describe(&op.input.1);
        let mut invoke = Event::new(op.client, EventType::Invoke, &f, Value::Nil, Value::Nil);
        invoke.time = Some(op.call);
        events.push((op.call, i, invoke));
        let (kind, value, at) = match &op.output {
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
    let config = CheckConfig {
        threads: 1,
        timeout: Some(std::time::Duration::from_secs(10)), // hygiene: allowed (outside the simulation)
        ..CheckConfig::default()
    };
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

fn violation(shared: &Rc<RefCell<Shared>>, text: String) -> ! {
    shared.borrow_mut().info.violation = Some(text.clone());
    crate::fail(text)
}

async fn drive<M: StateMachine + Sync>(
    model: Rc<M>,
    system: M::System,
    case: TestCase<M::Command>,
    shared: Rc<RefCell<Shared>>,
    ops: Ops<M>,
) {
    let TestCase {
        prefix, branches, ..
    } = case;
    let mut state = model.init();
    let mut vars: Vars<M::Result> = Vars::default();
    shared.borrow_mut().client(|| "prefix".to_string());
    let clock = Rc::new(Cell::new(0u64));
    for (i, command) in prefix.iter().enumerate() {
        let var = Var(i);
        let blocking = model.blocking(&state, command);
        shared.borrow_mut().call(0, || OpRecord {
            var: i,
            command: model.describe(command),
            result: None,
            blocking,
        });
        clock.set(clock.get() + 1);
        ops.borrow_mut()
            .push(Operation::unknown(0, (var, command.clone()), clock.get()));
        let result = model.run(&system, command, &vars).await;
        clock.set(clock.get() + 1);
        if !model.is_unknown(&result) {
            let mut ops = ops.borrow_mut();
            let last = ops.len() - 1;
            ops[last].output = Some(result.clone());
            ops[last].ret = clock.get();
        }
        shared.borrow_mut().result(0, i, || format!("{result:?}"));
        if let Err(why) = model.postcondition(&state, command, &result, &vars) {
            violation(
                &shared,
                format!(
                    "postcondition of {} (var {i}) failed: {why}",
                    model.describe(command)
                ),
            );
        }
        vars.set(var, result);
        state = model.next_state(&state, command, var);
        if let Err(why) = model.invariant(&system, &state, &vars).await {
            violation(
                &shared,
                format!(
                    "invariant failed after {} (var {i}): {why}",
                    model.describe(command)
                ),
            );
        }
    }
    if branches.is_empty() {
        return;
    }

    // The parallel part.
    let prefix_ops = ops.borrow().len();
    let mut handles = Vec::new();
    let mut next_var = prefix.len();
    for (b, branch) in branches.into_iter().enumerate() {
        let client = b + 1;
        shared.borrow_mut().client(|| format!("client {client}"));
        let first_var = next_var;
        next_var += branch.len();
        let (model, system, clock, ops, shared) = (
            model.clone(),
            system.clone(),
            clock.clone(),
            ops.clone(),
            shared.clone(),
        );
        let mut local = vars.clone();
        let mut branch_state = state.clone();
        handles.push(crate::spawn_named(format!("client {client}"), async move {
            for (k, command) in branch.into_iter().enumerate() {
                let var = Var(first_var + k);
                let blocking = model.blocking(&branch_state, &command);
                branch_state = model.next_state(&branch_state, &command, var);
                let index = {
                    let mut ops = ops.borrow_mut();
                    clock.set(clock.get() + 1);
                    ops.push(Operation::unknown(
                        client as u64,
                        (var, command.clone()),
                        clock.get(),
                    ));
                    ops.len() - 1
                };
                shared.borrow_mut().call(client, || OpRecord {
                    var: var.0,
                    command: model.describe(&command),
                    result: None,
                    blocking,
                });
                let result = model.run(&system, &command, &local).await;
                clock.set(clock.get() + 1);
                if !model.is_unknown(&result) {
                    let mut ops = ops.borrow_mut();
                    ops[index].output = Some(result.clone());
                    ops[index].ret = clock.get();
                }
                shared
                    .borrow_mut()
                    .result(client, k, || format!("{result:?}"));
                local.set(var, result);
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    let ops: Vec<_> = ops.borrow()[prefix_ops..].to_vec();
    for op in &ops {
        if let Some(result) = &op.output {
            vars.set(op.input.0, result.clone());
        }
    }
    let adapter = Adapter {
        model: &*model,
        init: state.clone(),
        vars: &vars,
    };
    let config = CheckConfig {
        threads: 1,
        timeout: Some(std::time::Duration::from_secs(10)), // hygiene: allowed (a checker bound, not simulated time)
        ..CheckConfig::default()
    };
    let result = match weft_lincheck::check(&adapter, &ops, &config) {
        Ok(r) => r,
        Err(e) => violation(
            &shared,
            format!("the parallel history could not be checked: {e}"),
        ),
    };
    match result.verdict {
        Verdict::Linearizable => {}
        Verdict::Unknown => violation(
            &shared,
            "the linearizability check of the parallel branches reached its bound".to_string(),
        ),
        Verdict::NotLinearizable => {
            let part = &result.parts[0];
            let describe = |i: usize| {
                let op = &ops[i];
                let result = op
                    .output
                    .as_ref()
                    .map_or("no result".to_string(), |r| format!("{r:?}"));
                format!(
                    "client {}: {} -> {}",
                    op.client,
                    model.describe(&op.input.1),
                    result
                )
            };
            let mut s = state.clone();
            for &i in &part.linearization {
                s = adapter.apply(&s, i, &ops).unwrap_or(s);
            }
            let placed: Vec<String> = part.linearization.iter().map(|&i| describe(i)).collect();
            let unplaced: Vec<String> = part.unplaced.iter().map(|&i| describe(i)).collect();
            violation(
                &shared,
                format!(
                    "no interleaving of the clients' commands explains their results (not linearizable): after [{}] the model state is {:?}, and none of [{}] can come next",
                    placed.join("; "),
                    s,
                    unplaced.join("; ")
                ),
            );
        }
    }
    // The invariant, in the state after the linearization found.
    let mut final_state = state;
    for &i in &result.parts[0].linearization {
        if let Some(next) = adapter.apply(&final_state, i, &ops) {
            final_state = next;
        }
    }
    if let Err(why) = model.invariant(&system, &final_state, &vars).await {
        violation(
            &shared,
            format!("invariant failed after the parallel branches: {why}"),
        );
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
