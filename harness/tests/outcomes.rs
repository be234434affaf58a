//! Jepsen's three outcomes in model-based cases: ok, unknown (`StateMachine::is_unknown`, may
//! take effect later or never) and failed (`StateMachine::is_failed`, certainly no effect),
//! honoured in the sequential prefix as in the parallel branches. Each case is scripted, so
//! every expectation is exact.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use weft::decision::DecisionKind;
use weft::internals::run_case;
use weft::model::{Gen, Shape, StateMachine, Var, Vars};
use weft::{Detail, PrefixUnknowns, Sim, Source};

/// What the register does with a put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Put {
    /// Applied and acknowledged.
    Applied,
    /// Never applied; the client hears nothing (a timeout).
    Lost,
    /// Applied 1.5 ms later; the client hears nothing.
    Late,
    /// Refused, and the client is told so.
    Refused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Put(u64, Put),
    /// Reads after 1 ms.
    Get,
    /// A read that answers 99, which no put writes.
    GetWrong,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Res {
    Ok,
    Unknown,
    Failed,
    Value(u64),
}

/// A register model whose cases are `script`, in order; `knows_failed`: whether it declares
/// refusals as failed (else they read as ok).
struct Register {
    script: Vec<Cmd>,
    next: AtomicUsize,
    knows_failed: bool,
    prefix: PrefixUnknowns,
}

impl StateMachine for Register {
    type State = u64;
    type Command = Cmd;
    type Result = Res;
    type System = Rc<Cell<u64>>;

    fn setup(&self, _: &mut Sim) -> Rc<Cell<u64>> {
        Rc::new(Cell::new(0))
    }

    fn init(&self) -> u64 {
        0
    }

    fn command(&self, _: &u64, _: &mut Gen) -> Cmd {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.script[i % self.script.len()]
    }

    fn next_state(&self, state: &u64, command: &Cmd, _: Var) -> u64 {
        match *command {
            Cmd::Put(v, _) => v,
            _ => *state,
        }
    }

    fn postcondition(
        &self,
        state: &u64,
        command: &Cmd,
        result: &Res,
        _: &Vars<Res>,
    ) -> Result<(), String> {
        let expected = match command {
            Cmd::Put(..) if *result == Res::Unknown => return Ok(()),
            Cmd::Put(..) => Res::Ok,
            Cmd::Get | Cmd::GetWrong => Res::Value(*state),
        };
        if *result == expected {
            Ok(())
        } else {
            Err(format!("expected {expected:?}, got {result:?}"))
        }
    }

    async fn run(&self, register: &Rc<Cell<u64>>, command: &Cmd, _: &Vars<Res>) -> Res {
        match *command {
            Cmd::Put(v, Put::Applied) => {
                register.set(v);
                Res::Ok
            }
            Cmd::Put(_, Put::Lost) => Res::Unknown,
            Cmd::Put(v, Put::Late) => {
                let register = register.clone();
                weft::task::spawn(async move {
                    weft::time::sleep(Duration::from_micros(1_500)).await;
                    register.set(v);
                });
                Res::Unknown
            }
            Cmd::Put(_, Put::Refused) if self.knows_failed => Res::Failed,
            Cmd::Put(_, Put::Refused) => Res::Ok,
            Cmd::Get => {
                weft::time::sleep(Duration::from_millis(1)).await;
                Res::Value(register.get())
            }
            Cmd::GetWrong => Res::Value(99),
        }
    }

    fn is_unknown(&self, _: &Rc<Cell<u64>>, result: &Res) -> bool {
        *result == Res::Unknown
    }

    fn is_failed(&self, _: &Rc<Cell<u64>>, result: &Res) -> bool {
        *result == Res::Failed
    }

    fn prefix_unknowns(&self) -> PrefixUnknowns {
        self.prefix
    }
}

/// Answers every generation flag "one more command" and everything else with its default.
struct Continue;

impl weft::strategy::Strategy for Continue {
    fn next_task(&mut self, _: &[weft::TaskId]) -> usize {
        0
    }
    fn next_value(&mut self, kind: DecisionKind, _: u64) -> u64 {
        u64::from(kind == DecisionKind::Generate)
    }
    fn name(&self) -> &'static str {
        "continue"
    }
}

/// Runs `script` as a sequential case (`branches`: `None`) or as a prefix and two branches;
/// the failure's message, if any.
fn check(script: &[Cmd], knows_failed: bool, branches: Option<(usize, usize)>) -> Option<String> {
    check_with(script, knows_failed, branches, PrefixUnknowns::Later)
}

fn check_with(
    script: &[Cmd],
    knows_failed: bool,
    branches: Option<(usize, usize)>,
    prefix: PrefixUnknowns,
) -> Option<String> {
    let model = Rc::new(Register {
        script: script.to_vec(),
        next: AtomicUsize::new(0),
        knows_failed,
        prefix,
    });
    let shape = match branches {
        None => Shape {
            prefix_max: script.len(),
            ..Shape::sequential()
        },
        Some((a, b)) => Shape {
            prefix_max: script.len() - a - b,
            branch_length_max: a.max(b),
            ..Shape::parallel()
        },
    };
    let source = Source::generate(Box::new(Continue));
    let run = run_case(&model, &shape, source, Detail::Quiet);
    let case = run.case.as_ref().expect("a model case");
    assert_eq!(case.commands, script.len(), "the case is the script");
    run.report.outcome.failure().map(|f| f.message.clone())
}

use Cmd::{Get, GetWrong};

#[test]
fn an_unknown_write_in_the_prefix_may_never_take_effect() {
    assert_eq!(check(&[Cmd::Put(1, Put::Lost), Get], true, None), None);
    // And a known write that came after it settles the state again.
    let script = [Cmd::Put(1, Put::Lost), Get, Cmd::Put(2, Put::Applied), Get];
    assert_eq!(check(&script, true, None), None);
}

#[test]
fn a_model_can_keep_its_own_reading_of_unknown_outcomes_in_the_prefix() {
    let script = [Cmd::Put(1, Put::Lost), Get];
    let failure = check_with(&script, true, None, PrefixUnknowns::AsModelled);
    let failure = failure.expect("the model took the lost put as applied");
    assert!(
        failure.contains("expected Value(1), got Value(0)"),
        "{failure}"
    );
}

#[test]
fn an_unknown_write_in_the_prefix_may_take_effect_later() {
    let script = [Cmd::Put(1, Put::Late), Get, Get];
    assert_eq!(
        check(&script, true, None),
        None,
        "0 at 1 ms, then 1 at 2 ms"
    );
}

#[test]
fn an_unknown_write_excuses_nothing_that_no_order_explains() {
    let failure = check(&[Cmd::Put(1, Put::Lost), GetWrong], true, None);
    let failure = failure.expect("99 was never written");
    assert!(failure.contains("postcondition of GetWrong"), "{failure}");
    // After the prefix became unsettled, the rest is checked as one history.
    let failure = check(&[Cmd::Put(1, Put::Lost), Get, GetWrong], true, None);
    let failure = failure.expect("99 was never written");
    assert!(failure.contains("not linearizable"), "{failure}");
    assert!(
        failure.contains("prefix: GetWrong -> Value(99)"),
        "{failure}"
    );
}

#[test]
fn a_failed_write_had_no_effect_in_the_prefix_and_in_the_branches() {
    let script = [Cmd::Put(1, Put::Refused), Get];
    assert_eq!(check(&script, true, None), None);
    let failure = check(&script, false, None).expect("a refused write taken as ok");
    assert!(
        failure.contains("expected Value(1), got Value(0)"),
        "{failure}"
    );
    // Prefix: a get; branches: a refused put, and a get that follows it.
    let script = [Get, Cmd::Put(1, Put::Refused), Get];
    assert_eq!(check(&script, true, Some((1, 1))), None);
}

#[test]
fn an_unknown_write_in_the_prefix_is_honoured_by_the_branches() {
    // Prefix: a lost put, a read of 0; branches: two reads of 0.
    let script = [Cmd::Put(1, Put::Lost), Get, Get, Get];
    assert_eq!(check(&script, true, Some((1, 1))), None);
}
