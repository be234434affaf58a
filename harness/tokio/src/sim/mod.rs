//! The `weft` build: tokio's paths backed by weft's simulated runtime.

mod local;
mod macros;
pub mod net;
#[cfg(target_os = "linux")]
mod os;
pub mod signal;
pub mod task;
pub mod time;

pub use task::spawn;

/// tokio's synchronization primitives. They are runtime-agnostic (no timer, no I/O driver, no
/// randomness), so the simulation uses tokio's own code. Their timed variants (for example
/// `mpsc::Sender::send_timeout`) need tokio's timer and panic at run time with tokio's "no
/// reactor running" message; use `weft_tokio::time::timeout` around the untimed call instead.
pub mod sync {
    pub use tokio::sync::*;
}

/// tokio's I/O traits, extension traits and in-memory helpers (runtime-agnostic). The OS
/// handles (`stdin`, `stdout`, `stderr`) are left out: they use tokio's blocking pool.
pub mod io {
    pub use tokio::io::{
        copy, copy_bidirectional, copy_buf, duplex, empty, join, repeat, sink, split, AsyncBufRead,
        AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
        AsyncWriteExt, BufReader, BufStream, BufWriter, DuplexStream, Empty, Error, ErrorKind,
        Join, Lines, ReadBuf, ReadHalf, Repeat, Result, SimplexStream, Sink, Split, Take,
        WriteHalf,
    };
}

pub use tokio::{join, pin, try_join};

/// What the macros expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;

    /// The branch `select!` polls first: a recorded weft decision (0, the first branch, is
    /// the default, so a shrunk run reads as `biased`).
    pub fn select_start(branches: u32) -> u32 {
        weft::rand::below(u64::from(branches)) as u32
    }
}

/// A weft node's IP address and the reverse, for configuring clients and servers.
pub mod addr {
    pub use super::net::addr::{ip_of, node_of, socket_addr};
}
