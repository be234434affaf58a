//! `net::{TcpListener, TcpStream, UdpSocket}` over weft's simulated network. Node `n` is `10.0.0.n`; see
//! `addr` for names, `conn` for what TCP guarantees here and how loss, partitions and crashes
//! show, and `udp` for datagrams. Unix sockets are not provided (they fail to compile).

pub(crate) mod addr;
mod conn;
mod listener;
mod stream;
mod udp;

pub use addr::ToSocketAddrs;
pub use listener::TcpListener;
pub use stream::TcpStream;
pub use udp::UdpSocket;

/// tokio's `net::lookup_host`.
pub use addr::lookup_host_addrs as lookup_host;

/// The halves of a split `TcpStream`.
pub mod tcp {
    pub use super::stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
}
