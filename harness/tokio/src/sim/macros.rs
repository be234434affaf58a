//! `select!` with its branch order drawn from weft's decision stream.
//!
//! tokio's `select!` polls its branches starting from a random one, drawn from a thread-local
//! generator seeded by the OS: a run would not replay. This macro keeps tokio's expansion and
//! replaces only that draw by a recorded weft decision (`weft::rand::below`); `biased;` stays
//! tokio's fixed order. It relies on tokio's internal `@{ start=...; }` entry of `select!`,
//! which has been stable through tokio 1.x; `tests/sim.rs` checks both the branch choice and the
//! replay.

/// tokio's `select!`: waits on several futures and runs the branch of the first to finish.
/// In the simulation, the branch polled first is a recorded decision (see the module doc).
#[macro_export]
macro_rules! select {
    (biased; $($t:tt)*) => {
        $crate::__private::tokio::select! { biased; $($t)* }
    };
    (else => $($t:tt)*) => {
        $crate::__private::tokio::select! { else => $($t)* }
    };
    ($p:pat = $($t:tt)*) => {
        $crate::__private::tokio::select!(
            @{ start={ $crate::__private::select_start(BRANCHES) }; () } $p = $($t)*
        )
    };
    () => {
        compile_error!("select! requires at least one branch.")
    };
}
