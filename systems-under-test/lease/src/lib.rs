//! A register whose reads are served from leased caches, after Gray and Cheriton's leases
//! (SOSP 1989): a `store` node holds the register; each front-end node (`f1`, `f2`) answers
//! reads from its cached copy while it holds a read lease, and otherwise asks the store,
//! which grants a lease of [`LEASE`] with the value. A write waits at the store until every
//! lease it granted has run out on the store's clock, then applies: no cache can still
//! serve the old value, as long as each front-end stops using its lease in time.
//!
//! A front-end times its lease with a `weft::time::sleep` on its own clock, from the moment
//! it asked. Clocks drift (up to [`DRIFT_MAX_PPM`] either way), so it may use the lease for
//! only `LEASE * (1 - 2ε)` of its own time, where ε is the drift bound: a clock slow by ε
//! then still stops before a store clock fast by ε ends the lease. The planted bug
//! ([`Bug::NoDriftMargin`]) uses the whole lease: a front-end whose clock runs slower than the
//! store's serves a stale value after a write has completed.
//!
//! ```text
//! client --Get/Put--> f1, f2 --Lease/Put--> store
//! ```

pub mod bugs;
mod front;
mod store;

pub use bugs::{Bug, Bugs, LEASE_BUGS};
use std::time::Duration;
use weft::net::{Addr, Request};
use weft::{NodeId, Sim};

/// How long a lease the store grants lasts, on the store's clock.
pub const LEASE: Duration = Duration::from_millis(100);
/// The bound on clock drift the front-ends' margin assumes (5%): the scenario draws drifts
/// within it.
pub const DRIFT_MAX_PPM: u32 = 50_000;
/// The port every node serves on.
pub const PORT: u32 = 1;
/// How long a front-end waits for the store, and a client for a front-end.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// What the register holds (0 before any write).
pub type Value = u64;

/// A request to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreReq {
    /// The value, with a read lease of [`LEASE`] for the asking front-end.
    Lease {
        /// The front-end's index.
        front: usize,
    },
    /// Set the value once no lease is outstanding.
    Put(Value),
}

/// The store's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreReply {
    /// The value, leased.
    Leased(Value),
    /// The write applied.
    Written,
}

/// A client's request to a front-end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientReq {
    /// Read the register.
    Get,
    /// Write the register.
    Put(Value),
}

/// A front-end's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientReply {
    /// The value read.
    Value(Value),
    /// The write applied.
    Written,
}

type StoreCall = Request<StoreReq, StoreReply>;
type ClientCall = Request<ClientReq, ClientReply>;

/// The cluster's nodes, as the clients see it.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The store.
    pub store: NodeId,
    /// The front-ends, `f1` first.
    pub fronts: Vec<NodeId>,
}

impl Cluster {
    /// Runs `req` through front-end `front`; `None` if no answer came in time.
    pub async fn request(&self, front: usize, req: ClientReq) -> Option<ClientReply> {
        let to = Addr::new(self.fronts[front], PORT);
        weft::net::call::<ClientReq, ClientReply>(to, req, CALL_TIMEOUT)
            .await
            .ok()
    }
}

/// Adds the store and `fronts` front-ends (`f1`, `f2`, ...) with `bugs` planted.
pub fn add_cluster(sim: &mut Sim, fronts: usize, bugs: Bugs) -> Cluster {
    let store = sim.add_node("store", move || store::serve(fronts));
    let fronts = (0..fronts)
        .map(|i| {
            let name = format!("f{}", i + 1);
            sim.add_node(&name, move || front::serve(i, store, bugs))
        })
        .collect();
    Cluster { store, fronts }
}
