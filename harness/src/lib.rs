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

// The engine: ids, decisions and their source, strategies, the executor and its domains.
pub mod decision;
mod ids;
mod sim;
mod source;
pub mod strategy;

// The runtime that simulated code calls, one module per domain.
pub mod disk;
pub mod fault;
pub mod net;
pub mod node;
pub mod rand;
pub mod task;
pub mod time;

// Model-based testing, above the engine.
pub mod model;

// Search, shrinking, explanation and the tool's files, above both.
mod search;

pub use weft_lincheck as lincheck;

pub use ids::{NodeId, TaskId};
pub use model::{Gen, Liveness, Mode, PrefixUnknowns, Shape, StateMachine, Var, Vars};
pub use search::check::{check, CheckReport, Checker};
pub use sim::{
    ClockConfig, Config, Detail, DiskConfig, Failure, FailureKind, FaultConfig, NetConfig, Outcome,
    RunReport, Sim,
};
pub use source::{Divergence, Source};
pub use strategy::Strategy;

/// What the `weft` tool and harness-level tests use besides the public face: the search loop,
/// the shrinker, explanations, replay files, the scenario registry, traces. No stability
/// promise: a test author needs none of it.
pub mod internals {
    pub use crate::model::record::{CaseInfo, ClientOps, OpRecord, Span, Structure};
    pub use crate::search::{
        campaign, check::failure_message, determinism, explain, explore, fuzz, replay, run_case,
        run_case_mixed, scenario, shrink, Run, RunFn,
    };
    pub use crate::sim::{
        format_ns, with_trace_hash_version, BlockedTask, EventKind, Note, TraceEvent,
        TRACE_HASH_VERSION,
    };
    #[cfg(feature = "tracing-subscriber")]
    pub use crate::sim::{init_subscriber, SimTimer};
}

/// Fails the run with a violated check: the property, invariant or postcondition named in
/// `message` does not hold. Call it from simulated code; it does not return.
pub fn fail(message: impl Into<String>) -> ! {
    std::panic::panic_any(sim::failure::CheckFailed(
        FailureKind::Check,
        message.into(),
    ))
}

/// Fails the run with a violated check unless `condition` holds.
#[macro_export]
macro_rules! ensure {
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
