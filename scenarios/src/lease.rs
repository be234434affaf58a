//! The `lease` scenario: a register with leased read caches ([`weft_lease`]): a store and
//! two front-ends whose clocks drift by up to 5% and change drift at run time, against a
//! linearizable register model ([`weft_models::lease`]): a prefix of up to four commands,
//! then two clients of up to three commands each.

use std::rc::Rc;
use weft::internals::scenario::{PlantedBug, Scenario, Setup};
use weft::internals::{run_case, Run};
use weft::{Detail, Mode, Shape, Source};
use weft_lease::Bugs;
use weft_models::lease::LeaseModel;

/// The cases' shape.
pub fn shape() -> Shape {
    Shape {
        mode: Mode::Parallel,
        prefix_max: 4,
        branch_count_max: 2,
        branch_length_max: 3,
        ..Shape::parallel()
    }
}

/// Runs one case of the leased register against its model with `bugs`.
pub fn run(bugs: Bugs, source: Source, detail: Detail) -> Run {
    run_case(&Rc::new(LeaseModel::new(bugs)), &shape(), source, detail)
}

/// The lease scenario.
pub struct LeaseScenario;

impl Scenario for LeaseScenario {
    fn name(&self) -> &'static str {
        "lease"
    }

    fn about(&self) -> &'static str {
        "a register with leased read caches on drifting clocks (a store, 2 front-ends), linearizable"
    }

    fn bugs(&self) -> &'static [PlantedBug] {
        &weft_lease::LEASE_BUGS
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        let bugs = Bugs::from_names(&setup.bugs).expect("bug names checked by the caller");
        run(bugs, source, setup.detail)
    }
}
