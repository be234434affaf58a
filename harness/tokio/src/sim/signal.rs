//! `signal::ctrl_c`: a simulated process gets no signals, so it never completes. A node's
//! shutdown in the simulation is a crash (`weft::node::crash`), which drops every task at once,
//! as SIGKILL does; there is no graceful-shutdown signal to wait for.

use std::io;

/// Never completes in the simulation (see the module doc).
pub async fn ctrl_c() -> io::Result<()> {
    std::future::pending().await
}
