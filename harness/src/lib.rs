//! weft: deterministic simulation and model-based testing for distributed systems.
//!
//! Many simulated nodes, each running ordinary async Rust tasks, run inside one OS thread.
//! Every nondeterministic decision (which task runs next, each message's latency, loss and
//! order, faults, clock skew, random values) is drawn from one recorded [`Source`], so any run
//! replays exactly.
//!
//! ```
//! use std::time::Duration;
//! use weft::{net, Config, Sim, Source, strategy::Random};
//!
//! let mut sim = Sim::new(Config::default(), Source::generate(Box::new(Random::new(7, Default::default()))));
//! let server = sim.add_node("server", || async {
//!     let endpoint = net::Endpoint::<net::Request<u32, u32>>::bind(1).unwrap();
//!     loop {
//!         let (_, request) = endpoint.recv().await;
//!         request.reply(request.body + 1);
//!     }
//! });
//! let (report, answer) = sim.run(async move {
//!     net::call::<u32, u32>(net::Addr::new(server, 1), 41, Duration::from_secs(1)).await
//! });
//! assert!(report.outcome.failure().is_none());
//! assert_eq!(answer, Some(Ok(42)));
//! ```
#![deny(missing_docs)]

pub mod decision;
pub mod determinism;
pub mod disk;
pub mod fault;
pub mod fuzz;
pub mod model;
pub mod net;
pub mod node;
pub mod rand;
pub mod replay;
pub mod scenario;
pub mod shrink;
pub(crate) mod sim;
pub mod source;
pub mod strategy;
pub mod task;
pub mod time;

pub use weft_lincheck as lincheck;

pub use decision::{Decision, DecisionKind, DecisionLog};
pub use model::check;
pub use sim::{
    format_ns, init_subscriber, BlockedTask, ClockConfig, Config, DiskConfig, EventKind, Failure,
    FailureKind, FaultConfig, NetConfig, Note, Outcome, RunReport, Sim, SimTimer, TaskId,
    TraceEvent,
};
pub use source::{Divergence, Source};
pub use task::{spawn, spawn_named};

/// Fails the run with a violated check: the property, invariant or postcondition named in
/// `message` does not hold. Call it from simulated code; it does not return.
pub fn fail(message: impl Into<String>) -> ! {
    std::panic::panic_any(sim::failure::CheckFailed(message.into()))
}

/// Fails the run with a violated check unless `condition` holds.
#[macro_export]
macro_rules! check {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            $crate::fail(format!($($message)+));
        }
    };
}

/// The README's example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
