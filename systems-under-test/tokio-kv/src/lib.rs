//! A small key/value service written for tokio: a TCP server speaking a line protocol, and a
//! client that reconnects and retries. Nothing in it knows about weft: its tests build it
//! against `weft-tokio` with the `weft` feature and run it inside the simulation unchanged.
//!
//! Protocol, one line each way:
//!
//! ```text
//! <client> <request> SET <key> <value>   ->  OK
//! <client> <request> GET <key>           ->  VALUE <value> | NONE
//! <client> <request> INCR <key> <delta>  ->  INT <new value>
//!                                            ERR <reason> on bad input
//! ```
//!
//! `INCR` is not idempotent, so a client that retries must not apply it twice: the server
//! remembers each client's last request number and its answer, and answers a repeated request
//! from that memory (an older one is refused as stale). The client keeps the request number
//! across retries. The planted bug [`Bug::FreshIdOnRetry`] numbers each retry anew, so a
//! retried `INCR` whose first attempt did arrive is applied twice.
#![deny(missing_docs)]

mod client;
mod protocol;
mod server;

pub use client::{Bug, Client, ClientConfig, KvError};
pub use protocol::{Op, Reply};
pub use server::{serve, Store};
