//! tokio's API, on tokio or on weft's simulation.
//!
//! Depend on this crate under the name `tokio` and your code does not change:
//!
//! ```toml
//! [dependencies]
//! tokio = { package = "weft-tokio", version = "0.1" }
//! [dev-dependencies]
//! tokio = { package = "weft-tokio", version = "0.1", features = ["weft"] }
//! ```
//!
//! Without the `weft` feature this crate is `pub use tokio::*` (tokio with its `full` feature
//! set). With it, the same paths run inside a weft simulation (`weft::Sim::run` or
//! `weft::check`): `spawn` and `task` are weft tasks on the calling node, `time` is simulated
//! time, `net::{TcpListener, TcpStream}` are reliable byte streams and `net::UdpSocket` sends
//! datagrams over weft's simulated network (node `n` is `10.0.0.n`), `select!` draws its
//! branch order from weft's decision stream, and `sync`, `io` and `join!` are tokio's own,
//! runtime-agnostic code. Paths that are not supported in the simulation (`runtime`,
//! `#[tokio::main]`, `fs`, `process`, `spawn_blocking`, Unix sockets, ...) do not exist in that
//! build, so using them fails to compile.
//! See the README section "Testing your tokio code" for the full list.
#![deny(missing_docs)]

#[cfg(not(feature = "weft"))]
pub use tokio::*;

#[cfg(feature = "weft")]
mod sim;
#[cfg(feature = "weft")]
pub use sim::*;
