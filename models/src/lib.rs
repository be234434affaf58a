//! Models for weft's linearizability checker ([`weft_lincheck`]): a [register](register),
//! a [compare-and-set register](cas_register) (the etcd model), a [key/value map](kv) with get,
//! put and append, a [set](set), Knossos's [multi-register](multi_register) (transactions
//! over keys) and [mutex]; plus a [catalog] choosing them by name for recorded
//! histories (`weft check-history --model NAME`).
//!
//! And state-machine models for weft's model-based testing of the bundled systems: [`pool`]
//! (poolboy's model), [`pool_queue`] (the work queue above it), [`kv_store`] (the
//! Dynamo-style store's set-add workload), [`raft_kv`] (the key/value store on TiKV's
//! Raft library: linearizable puts, reads and compare-and-sets under faults), and [`lease`]
//! (a register with leased read caches on drifting clocks).
//!
//! ```
//! use weft_lincheck::{check, CheckConfig, Operation};
//! use weft_models::cas_register::CasRegister;
//! use weft_models::register::{RegisterOp, RegisterResult};
//!
//! // Client 0: cas(0, 1) succeeds during [0, 4]; client 1 then reads 1 during [5, 6].
//! let history = vec![
//!     Operation::new(0, RegisterOp::Cas { from: 0, to: 1 }, RegisterResult::Ok, 0, 4),
//!     Operation::new(1, RegisterOp::Read, RegisterResult::Read(1), 5, 6),
//! ];
//! let result = check(&CasRegister::new(0), &history, &CheckConfig::default()).unwrap();
//! assert!(result.is_linearizable());
//! ```
//!
//! By name, on a recorded history:
//!
//! ```
//! use weft_lincheck::{CheckConfig, Format};
//! use weft_models::catalog::{check_history, Params};
//!
//! let log = "INFO  jepsen.util - 0\t:invoke\t:write\t3\n\
//!            INFO  jepsen.util - 0\t:ok\t:write\t3\n\
//!            INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
//!            INFO  jepsen.util - 1\t:ok\t:read\tnil\n";
//! let history = Format::JepsenLog.parse(log).unwrap();
//! let report = check_history("cas-register", &history, &Params::default(), &CheckConfig::default()).unwrap();
//! assert_eq!(report.verdict, "not-linearizable"); // the read follows the write
//! ```
#![deny(missing_docs)]

pub mod cas_register;
pub mod catalog;
pub mod kv;
pub mod kv_store;
pub mod lease;
pub mod multi_register;
pub mod mutex;
pub mod pool;
pub mod pool_history;
pub mod pool_queue;
pub mod raft_kv;
pub mod register;
pub mod set;
pub mod testdata;
