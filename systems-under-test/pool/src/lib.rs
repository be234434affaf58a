//! A worker pool in the spirit of Erlang's [poolboy](https://github.com/devinus/poolboy), on
//! weft's simulated runtime, and a work queue above it in the manner of riak_core's vnode
//! worker pool ([`queue`]).
//!
//! A pool is a server task that owns its state; clients talk to it by messages; workers are
//! tasks it starts with a factory. It keeps `size` workers in a FIFO idle queue and starts up
//! to `max_overflow` more on demand, dismissing them on checkin.
//!
//! - [`Pool::checkout`]: non-blocking (`Full` when every worker is out) or blocking with a
//!   timeout (the caller waits in a FIFO line). A waiter whose checkout timed out is never
//!   served: each carries its deadline, and the pool sheds expired waiters; a cancel from the
//!   caller gives back a worker handed over just as the caller gave up.
//! - [`Pool::checkin`] returns a worker; a task that is not a checked-out worker is refused and
//!   nothing changes. [`Pool::transaction`] checks out, runs, and always checks in.
//! - Monitoring: a worker that dies is replaced (or, in overflow, not); an owner that dies while
//!   holding a worker gives it back; a waiter whose caller dies leaves the line.
//! - [`Pool::status`]: state name, idle, overflow, checked-out workers, waiters, monitors.
//!
//! Requests travel on the calling node's connection (port 0): requests from one node arrive in
//! the order sent, as over an Erlang distribution channel, and so do exit and down notices of
//! that node's tasks; messages from different nodes race.
//!
//! ```
//! use std::time::Duration;
//! use weft::{Config, Sim, Source};
//! use weft_pool::{Block, CheckoutError, PoolConfig};
//!
//! let sim = Sim::new(Config::default(), Source::zeros());
//! let (report, out) = sim.run(async {
//!     // Workers that do nothing but exist (a connection, say).
//!     let config = PoolConfig::<()>::new(1, 0, |ctx| async move {
//!         loop {
//!             ctx.endpoint.recv().await;
//!         }
//!     });
//!     let pool = weft_pool::start(config).await.unwrap();
//!     let worker = pool.checkout(Block::No).await.unwrap();
//!     assert_eq!(pool.checkout(Block::No).await, Err(CheckoutError::Full));
//!     let waited = pool.checkout(Block::Upto(Duration::from_millis(100))).await;
//!     assert_eq!(waited, Err(CheckoutError::Timeout));
//!     pool.checkin(worker).await.unwrap();
//!     pool.status().await.unwrap().idle
//! });
//! assert!(report.outcome.failure().is_none());
//! assert_eq!(out, Some(1));
//! ```
//!
//! Planted bugs ([`bugs`]) re-create bugs that model-based testing found in poolboy and
//! riak_core; they are off unless switched on in the configuration.
#![deny(missing_docs)]

pub mod bugs;
mod client;
mod protocol;
pub mod queue;
mod server;

pub use bugs::{Bug, Bugs};
pub use client::{
    start, Block, CheckinError, CheckoutError, Factory, Pool, PoolConfig, PoolState, Status,
    Unavailable, Worker, WorkerCtx, CALL_TIMEOUT,
};
