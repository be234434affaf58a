//! The `raft` scenario: a key/value store on TiKV's Raft library ([`weft_raft_kv`]), three
//! nodes under every fault kind, against its linearizability model
//! ([`weft_models::raft_kv`]): parallel clients (no prefix, up to three branches of up to
//! four commands) put, read and compare-and-set two keys while nodes crash and are cut off.

use std::rc::Rc;
use weft::internals::scenario::{PlantedBug, Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::{Detail, Mode, Shape, Source};
use weft_models::raft_kv::RaftKvModel;
use weft_raft_kv::Bugs;

/// The cases' shape: every command in a parallel branch, where unknown outcomes count.
pub fn shape() -> Shape {
    Shape {
        mode: Mode::Parallel,
        prefix_max: 0,
        branch_count_max: 3,
        branch_length_max: 4,
        ..Shape::parallel()
    }
}

/// Runs one case of the Raft store against its model with `bugs`.
pub fn run(bugs: Bugs, source: Source, detail: Detail) -> Run {
    run_case(&Rc::new(RaftKvModel::new(bugs)), &shape(), source, detail)
}

/// The raft scenario.
pub struct RaftScenario;

impl Scenario for RaftScenario {
    fn name(&self) -> &'static str {
        "raft"
    }

    fn about(&self) -> &'static str {
        "a key/value store on TiKV's Raft library (3 nodes, every fault kind), linearizable"
    }

    fn bugs(&self) -> &'static [PlantedBug] {
        &weft_raft_kv::bugs::RAFT_BUGS
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        let bugs = Bugs::from_names(&setup.bugs).expect("bug names checked by the caller");
        run(bugs, source, setup.detail)
    }
}
