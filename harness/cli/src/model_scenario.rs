//! [`ModelScenario`]: a [`StateMachine`] model as a scenario of the `weft` tool.

use std::rc::Rc;
use weft::internals::scenario::{PlantedBug, Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::{Mode, Shape, Source, StateMachine};

/// A scenario made of a [`StateMachine`] model: each run generates one case of the model's
/// commands (sequential by default, as `weft::check` does) and runs it against the system the
/// model sets up, checking postconditions, invariants and, for parallel cases,
/// linearizability.
///
/// `model` builds the model for one run from its [`Setup`]: the planted bugs switched on with
/// `--bug` (already checked against [`bugs`](ModelScenario::bugs)), so one model type serves
/// the correct system and each of its planted bugs.
///
/// ```
/// use weft::net::{call, Addr, Endpoint, Request};
/// use weft::{Gen, Mode, Sim, StateMachine, Var, Vars};
/// use weft_cli::{ModelScenario, Registry};
///
/// /// A register server: `None` reads, `Some(v)` writes `v`; every answer is the value.
/// async fn server() {
///     let endpoint = Endpoint::<Request<Option<u64>, u64>>::bind(1).expect("port free");
///     let mut value = 0;
///     loop {
///         let (_, request) = endpoint.recv().await;
///         if let Some(v) = request.body {
///             value = v;
///         }
///         request.reply(value);
///     }
/// }
///
/// struct RegisterModel;
///
/// impl StateMachine for RegisterModel {
///     type State = u64;
///     type Command = Option<u64>;
///     type Result = Result<u64, weft::net::CallError>;
///     type System = Addr;
///
///     fn setup(&self, sim: &mut Sim) -> Addr {
///         Addr::new(sim.add_node("register", server), 1)
///     }
///     fn init(&self) -> u64 {
///         0
///     }
///     fn command(&self, _: &u64, gen: &mut Gen) -> Option<u64> {
///         gen.weighted(&[(1, None), (1, Some(1)), (1, Some(2))])
///     }
///     fn next_state(&self, state: &u64, command: &Option<u64>, _: Var) -> u64 {
///         command.unwrap_or(*state)
///     }
///     fn postcondition(
///         &self,
///         state: &u64,
///         command: &Option<u64>,
///         result: &Self::Result,
///         _: &Vars<Self::Result>,
///     ) -> Result<(), String> {
///         let expected = command.unwrap_or(*state);
///         match result {
///             Ok(v) if *v == expected => Ok(()),
///             other => Err(format!("expected Ok({expected}), got {other:?}")),
///         }
///     }
///     async fn run(&self, server: &Addr, command: &Option<u64>, _: &Vars<Self::Result>) -> Self::Result {
///         call(*server, *command, std::time::Duration::from_secs(1)).await
///     }
/// }
///
/// let registry = Registry::new().tool("register-weft").scenario(
///     ModelScenario::new("register", "one register server, two clients", |_setup| RegisterModel)
///         .mode(Mode::Parallel),
/// );
/// // In a bin: `fn main() -> std::process::ExitCode { weft_cli::main(registry) }`.
/// let fuzz = ["register-weft", "fuzz", "register", "--cases", "20", "--progress", "none"];
/// assert_eq!(weft_cli::run(&registry, fuzz), 0);
/// ```
pub struct ModelScenario<F> {
    name: &'static str,
    about: &'static str,
    bugs: &'static [PlantedBug],
    must_fail: bool,
    shape: Shape,
    model: F,
}

impl<F, M> ModelScenario<F>
where
    F: Fn(&Setup) -> M + Sync,
    M: StateMachine + Sync,
{
    /// The scenario `name` (as typed on the command line), described by `about` in `list`,
    /// whose runs use the model `model` builds from the run's setup. No planted bug, sequential
    /// cases (as [`Shape::sequential`]).
    pub fn new(name: &'static str, about: &'static str, model: F) -> Self {
        ModelScenario {
            name,
            about,
            bugs: &[],
            must_fail: false,
            shape: Shape::sequential(),
            model,
        }
    }

    /// The planted bugs `--bug` may switch on; the model reads them with [`Setup::bug`].
    pub fn bugs(mut self, bugs: &'static [PlantedBug]) -> Self {
        self.bugs = bugs;
        self
    }

    /// Sequential or parallel cases of the default size for that mode ([`Shape::of`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.shape = Shape::of(mode);
        self
    }

    /// The exact size and shape of the generated cases.
    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// The scenario is expected to fail without any planted bug (a canary; `race-table`
    /// measures these).
    pub fn must_fail(mut self) -> Self {
        self.must_fail = true;
        self
    }
}

impl<F, M> Scenario for ModelScenario<F>
where
    F: Fn(&Setup) -> M + Sync,
    M: StateMachine + Sync,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        self.about
    }

    fn must_fail(&self) -> bool {
        self.must_fail
    }

    fn bugs(&self) -> &'static [PlantedBug] {
        self.bugs
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        run_case(
            &Rc::new((self.model)(setup)),
            &self.shape,
            source,
            setup.detail,
        )
    }
}
