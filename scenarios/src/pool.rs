//! The `pool` scenario: the bundled worker pool ([`weft_pool`]) against its model
//! ([`weft_models::pool`]), sequential and parallel.
//!
//! The shape of the cases follows the planted bugs switched on: bugs that need two clients at
//! once (a waiter served while another client kills a worker, a checkout racing with its own
//! timeout) get parallel cases; the others get sequential cases of up to 20 commands, where
//! message latencies still race a killed worker's exit notice with the next request. With no
//! bug, half the cases are sequential and half parallel (the first generated decision picks).

use std::rc::Rc;
use weft::internals::scenario::{PlantedBug as BugInfo, Scenario, Setup};
use weft::internals::{run_case, run_case_mixed, Run};
use weft::{Detail, Mode, Shape, Source};
use weft_models::pool::PoolModel;
use weft_pool::{Bug, Bugs};

/// Sequential cases: up to 20 commands.
pub fn sequential_shape() -> Shape {
    Shape::sequential()
}

/// Parallel cases: a prefix of up to 6 commands (the pool's start and the checkouts that fill
/// it), then 2 clients of up to 4 commands each.
pub fn parallel_shape() -> Shape {
    Shape {
        mode: Mode::Parallel,
        prefix_max: 6,
        branch_count_max: 2,
        branch_length_max: 5,
        interleavings_max: 10_000,
        length_mean: None,
    }
}

/// Bugs that need two clients at once.
pub const PARALLEL_BUGS: [Bug; 2] = [Bug::ReplacementWrongOwner, Bug::CheckoutTimeoutLeak];

/// The bugs named in `setup` (names were checked against [`Scenario::bugs`]).
pub fn bugs_of(setup: &Setup) -> Bugs {
    Bugs::from_names(&setup.bugs).expect("bug names checked by the caller")
}

/// Runs one case of the pool against its model with `bugs`.
pub fn run(bugs: Bugs, source: Source, detail: Detail) -> Run {
    let parallel = PARALLEL_BUGS.iter().any(|b| bugs.has(*b));
    if bugs.is_empty() {
        let sequential = Rc::new(PoolModel::sequential(bugs));
        let parallel = Rc::new(PoolModel::parallel(bugs));
        return run_case_mixed(
            (&sequential, &sequential_shape()),
            (&parallel, &parallel_shape()),
            source,
            detail,
        );
    }
    if parallel {
        let model = Rc::new(PoolModel::parallel(bugs));
        run_case(&model, &parallel_shape(), source, detail)
    } else {
        let model = Rc::new(PoolModel::sequential(bugs));
        run_case(&model, &sequential_shape(), source, detail)
    }
}

/// The pool scenario.
pub struct PoolScenario;

impl Scenario for PoolScenario {
    fn name(&self) -> &'static str {
        "pool"
    }

    fn about(&self) -> &'static str {
        "a poolboy-like worker pool against its model, sequential and parallel"
    }

    fn bugs(&self) -> &'static [BugInfo] {
        &weft_pool::bugs::POOL_BUGS
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        run(bugs_of(setup), source, setup.detail)
    }
}
