//! The `pool-queue` scenario: the work queue above the pool ([`weft_pool::queue`]) against its
//! model ([`weft_models::pool_queue`]): all submitted work gets done, even when workers die.
//! Sequential cases of up to 20 commands; the concurrency is inside the system (the queue, the
//! pool and the workers exchange messages whose latencies race).

use std::rc::Rc;
use weft::internals::scenario::{PlantedBug as BugInfo, Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::{Detail, Shape, Source};
use weft_models::pool_queue::QueueModel;
use weft_pool::Bugs;

/// Runs one case of the work queue against its model with `bugs`.
pub fn run(bugs: Bugs, source: Source, detail: Detail) -> Run {
    run_case(
        &Rc::new(QueueModel::new(bugs)),
        &Shape::sequential(),
        source,
        detail,
    )
}

/// The pool-queue scenario.
pub struct PoolQueueScenario;

impl Scenario for PoolQueueScenario {
    fn name(&self) -> &'static str {
        "pool-queue"
    }

    fn about(&self) -> &'static str {
        "a riak_core-like work queue above the pool: all submitted work gets done"
    }

    fn bugs(&self) -> &'static [BugInfo] {
        &weft_pool::bugs::QUEUE_BUGS
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        run(crate::pool::bugs_of(setup), source, setup.detail)
    }
}
