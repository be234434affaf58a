//! A Dynamo/Riak-style key/value store on weft's simulated runtime: its network, per-node
//! clocks, disks and tasks. It is the bundled replicated system that weft's models and
//! scenarios test under partitions, crashes, disk loss and skewed clocks.
//!
//! # Design
//!
//! - **Decentralized**: every node runs the same code ([`serve`]); any node coordinates any
//!   request; there is no master.
//! - **Ring** ([`ring`]): a fixed number of partitions (64) claimed by the members in
//!   balance; a key's preference list is the first N (3) distinct owners clockwise from its
//!   partition (FNV-1a hashing). Joins and leaves move as few partitions as balance allows;
//!   the ring is versioned and spread by gossip until every node agrees.
//! - **Versions** ([`version`], [`object`]): dotted version vectors with siblings, as Riak's
//!   `dvvset`. A read returns the siblings and a causal context; a write with that context
//!   supersedes exactly what was read, so concurrent writes become siblings and nothing
//!   acknowledged is silently lost. Actors are a node in one life (an epoch persisted and
//!   bumped at each start, fresh after disk loss), so dots never repeat.
//! - **Quorums**: R=2, W=2, N=3 by default (PR and PW optional). A put's event is made by one
//!   replica (the coordinating replica), then replicated; acknowledged means fsynced on W
//!   nodes. A failed write's outcome is unknown, as for any real client.
//! - **Sloppy quorum and hinted handoff** ([`handoff`]): a coordinator passes over nodes that
//!   did not answer and writes to fallbacks, which store the hinted write durably and hand it
//!   to the primaries when they answer again. Ownership handoff after a ring change is the
//!   same mechanism.
//! - **Read repair** and **active anti-entropy** ([`aae`]): a get repairs stale replicas with
//!   the merge; nodes periodically compare per-key hashes of the partitions they share and
//!   exchange what differs, so replicas converge once faults heal.
//! - **Deletes** write tombstones, reaped only when every node of the preference list holds
//!   the same one (a fallback keeps its copy until handed off) and no other node holds a hint
//!   the tombstone supersedes.
//! - **Storage** ([`storage`]): an append-only log of checksummed frames per boot; recovery
//!   discards torn tails.
//! - **Planted bugs** ([`bugs`]) re-create real bugs of Riak and its kin; all off by default.
//!
//! The store checks its own invariants with `weft::ensure!` (a merge descends what it merged,
//! dots never repeat, only tombstones are reaped).
//!
//! ```
//! use weft::{Config, Sim, Source};
//! use weft_kv::{Kv, KvConfig};
//!
//! let mut sim = Sim::new(Config::default(), Source::zeros());
//! let nodes = weft_kv::add_cluster(&mut sim, 3, KvConfig::default());
//! let (report, out) = sim.run(async move {
//!     let (a, b) = (Kv::connect(nodes[0]), Kv::connect(nodes[1]));
//!     let empty = a.get("k").await.unwrap();
//!     a.put("k", "one", &empty.context).await.unwrap();
//!     b.put("k", "two", &empty.context).await.unwrap(); // concurrent: a sibling
//!     let both = b.get("k").await.unwrap();
//!     assert_eq!(both.values.len(), 2);
//!     a.put("k", "merged", &both.context).await.unwrap(); // supersedes both
//!     a.get("k").await.unwrap().values
//! });
//! assert!(report.outcome.failure().is_none());
//! assert_eq!(out, Some(vec![b"merged".to_vec()]));
//! ```
#![deny(missing_docs)]

pub mod aae;
pub mod bugs;
mod client;
pub mod codec;
mod coordinator;
mod gossip;
pub mod handoff;
mod node;
pub mod object;
mod protocol;
mod replica;
pub mod ring;
pub mod storage;
pub mod version;

pub use bugs::{Bug, Bugs};
pub use client::{Kv, ReadOptions, WriteOptions, CLIENT_TIMEOUT};
pub use node::{add_cluster, add_joiner, addr, node_name, serve, KvConfig, Timing};
pub use object::{Object, Sibling};
pub use protocol::{Dump, KvError, Msg, ReadResult, Reply, KV_PORT};
pub use ring::Ring;
pub use storage::lose_disk;
pub use version::{Actor, Context, Dvv, PruneLimits, PruneOrder};
