//! The `kv` scenario: the bundled Dynamo-style store ([`weft_kv`]) against its set-add model
//! ([`weft_models::kv_store`]): five nodes under every fault kind; no acknowledged element is
//! lost, nothing never added appears, and replicas converge once faults heal. Sequential cases
//! of about 20 client operations ([`shape`]); the concurrency is in the adds, which run in the
//! background and race each other through different coordinators.

use std::rc::Rc;
use weft::internals::scenario::{PlantedBug as BugInfo, Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::{Detail, Shape, Source};
use weft_kv::Bugs;
use weft_models::kv_store::KvModel;

/// The bugs named in `setup` (names were checked against [`Scenario::bugs`]).
pub fn bugs_of(setup: &Setup) -> Bugs {
    Bugs::from_names(&setup.bugs).expect("bug names checked by the caller")
}

/// The shape of `kv` cases: sequential, about 33 commands, of which (by the model's weights,
/// 17 of 28) about 20 are client operations (adds, blind adds, deletes) and the rest waits and
/// faults; at most 100 commands.
pub fn shape() -> Shape {
    Shape {
        prefix_max: 100,
        length_mean: Some(33),
        ..Shape::sequential()
    }
}

/// The shape of `kv-sequential` cases: about 26 commands, of which (13 of 17) about 20 are
/// adds and deletes and the rest waits; at most 100 commands.
pub fn sequential_shape() -> Shape {
    Shape {
        prefix_max: 100,
        length_mean: Some(26),
        ..Shape::sequential()
    }
}

/// Runs one case of the store against its model with `bugs`.
pub fn run(bugs: Bugs, source: Source, detail: Detail) -> Run {
    run_case(&Rc::new(KvModel::new(bugs)), &shape(), source, detail)
}

/// Runs one case of the `kv-sequential` scenario with `bugs`.
pub fn run_sequential(bugs: Bugs, source: Source, detail: Detail) -> Run {
    run_case(
        &Rc::new(KvModel::sequential(bugs)),
        &sequential_shape(),
        source,
        detail,
    )
}

/// The kv scenario.
pub struct KvScenario;

impl Scenario for KvScenario {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn about(&self) -> &'static str {
        "a Dynamo-style store (5 nodes, every fault kind) against its set-add model"
    }

    fn bugs(&self) -> &'static [BugInfo] {
        &weft_kv::bugs::KV_BUGS
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        run(bugs_of(setup), source, setup.detail)
    }
}

/// The `kv-sequential` scenario: the same store and checks, but one operation at a time (each
/// starts after the previous one was acknowledged) and no fault that can hide a write from a
/// read (messages delayed, reordered and duplicated, never lost; no crash or partition), with
/// clocks skewed by up to 50 ms. What `last-write-wins` loses here, it loses to clock skew.
pub struct KvSequentialScenario;

impl Scenario for KvSequentialScenario {
    fn name(&self) -> &'static str {
        "kv-sequential"
    }

    fn about(&self) -> &'static str {
        "the Dynamo-style store with one client operation at a time, clock skew and no lost message"
    }

    fn bugs(&self) -> &'static [BugInfo] {
        &weft_kv::bugs::KV_BUGS
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        run_sequential(bugs_of(setup), source, setup.detail)
    }
}
