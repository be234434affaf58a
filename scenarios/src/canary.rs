//! The canary: a racy read-modify-write counter (read, await, write) incremented by clients in
//! parallel. It must fail: a harness that cannot find this lost update is broken. Shrunk, it
//! is two clients with one increment each and the single preemption that matters.

use std::rc::Rc;
use std::time::Duration;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::net::{call, Addr, Endpoint, Request};
use weft::{Config, Gen, Mode, Shape, Sim, Source, StateMachine, Var, Vars};

/// A request to the counter server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterOp {
    /// Read the value.
    Get,
    /// Overwrite the value.
    Put(u64),
}

/// The counter server's port.
pub const PORT: u32 = 1;

/// The counter server: holds one number, answers gets and puts.
pub async fn counter_server() {
    let endpoint = Endpoint::<Request<CounterOp, u64>>::bind(PORT).expect("port free");
    let mut value = 0;
    loop {
        let (_, request) = endpoint.recv().await;
        match request.body {
            CounterOp::Get => request.reply(value),
            CounterOp::Put(v) => {
                value = v;
                request.reply(v);
            }
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// The racy increment: read, then write the value read plus one. Returns the value written.
pub async fn increment(server: Addr) -> Result<u64, weft::net::CallError> {
    let value: u64 = call(server, CounterOp::Get, TIMEOUT).await?;
    call(server, CounterOp::Put(value + 1), TIMEOUT).await
}

/// Reads the counter.
pub async fn read(server: Addr) -> Result<u64, weft::net::CallError> {
    call(server, CounterOp::Get, TIMEOUT).await
}

/// A command of the counter model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Increment the counter.
    Incr,
    /// Read it.
    Read,
}

/// The model: the counter's value. An increment returns the value it wrote.
pub struct CounterModel;

impl StateMachine for CounterModel {
    type State = u64;
    type Command = Command;
    type Result = Result<u64, weft::net::CallError>;
    type System = Addr;

    fn config(&self) -> Config {
        // No latency and no faults: the only decisions are which task runs next.
        Config::default()
    }

    fn setup(&self, sim: &mut Sim) -> Addr {
        Addr::new(sim.add_node("counter", counter_server), PORT)
    }

    fn init(&self) -> u64 {
        0
    }

    fn command(&self, _: &u64, gen: &mut Gen) -> Command {
        gen.weighted(&[(3, Command::Incr), (1, Command::Read)])
    }

    fn next_state(&self, state: &u64, command: &Command, _: Var) -> u64 {
        match command {
            Command::Incr => state + 1,
            Command::Read => *state,
        }
    }

    fn postcondition(
        &self,
        state: &u64,
        command: &Command,
        result: &Self::Result,
        _: &Vars<Self::Result>,
    ) -> Result<(), String> {
        let expected = match command {
            Command::Incr => state + 1,
            Command::Read => *state,
        };
        match result {
            Ok(v) if *v == expected => Ok(()),
            other => Err(format!("expected Ok({expected}), got {other:?}")),
        }
    }

    async fn run(&self, server: &Addr, command: &Command, _: &Vars<Self::Result>) -> Self::Result {
        match command {
            Command::Incr => increment(*server).await,
            Command::Read => read(*server).await,
        }
    }

    fn describe(&self, command: &Command) -> String {
        match command {
            Command::Incr => "incr".to_string(),
            Command::Read => "read".to_string(),
        }
    }
}

/// The shape of canary cases: a short prefix, then two or three clients.
pub fn shape() -> Shape {
    Shape {
        mode: Mode::Parallel,
        prefix_max: 3,
        branch_count_max: 3,
        branch_length_max: 4,
        interleavings_max: 10_000,
        length_mean: None,
    }
}

/// The canary scenario.
pub struct Canary;

impl Scenario for Canary {
    fn name(&self) -> &'static str {
        "canary"
    }

    fn about(&self) -> &'static str {
        "racy read-modify-write counter incremented by parallel clients; must fail"
    }

    fn must_fail(&self) -> bool {
        true
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        run_case(&Rc::new(CounterModel), &shape(), source, setup.detail)
    }
}
