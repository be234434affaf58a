//! Addresses: node `n` of the simulation is the IPv4 address `10.0.0.n` (`10.x.y.z` with
//! `n = x·65536 + y·256 + z` for large simulations); a TCP port is the weft port of the same
//! number. `127.0.0.1`, `0.0.0.0`, `::1`, `::` and `localhost` mean the calling node, and a
//! node's name (as given to `Sim::add_node`) resolves to its address, so `"server:7000"` works.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use weft::net::Addr;
use weft::NodeId;

const BASE: u32 = 0x0A00_0000;

/// The IP address of a node.
pub fn ip_of(node: NodeId) -> IpAddr {
    let index = node.index() as u32;
    assert!(
        index < 1 << 24,
        "weft-tokio: node index {index} has no 10.0.0.0/8 address"
    );
    IpAddr::V4(Ipv4Addr::from(BASE | index))
}

/// The socket address of `port` on `node`.
pub fn socket_addr(node: NodeId, port: u16) -> SocketAddr {
    SocketAddr::new(ip_of(node), port)
}

/// The node with this IP address, if the address is in `10.0.0.0/8` (whether the node exists
/// is not checked).
pub fn node_of(ip: IpAddr) -> Option<NodeId> {
    match ip {
        IpAddr::V4(v4) if u32::from(v4) >> 24 == 10 => {
            Some(NodeId::from_index((u32::from(v4) & 0x00FF_FFFF) as usize))
        }
        _ => None,
    }
}

/// The weft address of a socket address, from the calling node's point of view.
pub(crate) fn to_weft(addr: SocketAddr) -> io::Result<Addr> {
    let ip = addr.ip();
    let node = if ip.is_loopback() || ip.is_unspecified() {
        weft::node::current()
    } else {
        match node_of(ip) {
            Some(node) if node.index() < weft::node::count() => node,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!(
                        "weft-tokio: no simulated node has the address {ip} (node n is 10.0.0.n)"
                    ),
                ))
            }
        }
    };
    Ok(Addr::new(node, u32::from(addr.port())))
}

/// The socket address a weft address is seen as. Ephemeral weft ports (from 65536) show as
/// ports 49152..65535.
pub(crate) fn from_weft(addr: Addr) -> SocketAddr {
    let port = if addr.port < 65536 {
        addr.port as u16
    } else {
        (49152 + (addr.port - 65536) % 16384) as u16
    };
    socket_addr(addr.node, port)
}

/// A socket address for people: the node's name and the port (`server:7000`).
pub(crate) fn label(addr: SocketAddr) -> String {
    match node_of(addr.ip()).filter(|n| n.index() < weft::node::count()) {
        Some(node) => format!("{}:{}", weft::node::name(node), addr.port()),
        None => addr.to_string(),
    }
}

fn lookup_host(host: &str) -> Option<IpAddr> {
    if host == "localhost" {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    (0..weft::node::count())
        .map(NodeId::from_index)
        .find(|&n| weft::node::name(n) == host)
        .map(ip_of)
}

fn not_found(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("weft-tokio: failed to look up address {what:?}: not an IP address, \"localhost\" or a simulated node's name"),
    )
}

/// What `bind` and `connect` accept: socket addresses, `(host, port)` pairs and `"host:port"`
/// strings, where the host is an IP address, `localhost` or a simulated node's name.
pub trait ToSocketAddrs: sealed::Sealed {
    #[doc(hidden)]
    fn resolve(&self) -> io::Result<Vec<SocketAddr>>;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! direct {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl ToSocketAddrs for $t {
            fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
                Ok(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

direct!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16)
);

impl sealed::Sealed for [SocketAddr] {}
impl ToSocketAddrs for [SocketAddr] {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(self.to_vec())
    }
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let ip = lookup_host(host).ok_or_else(|| not_found(host))?;
        Ok(vec![SocketAddr::new(ip, port)])
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        (self.0.as_str(), self.1).resolve()
    }
}

impl sealed::Sealed for str {}
impl ToSocketAddrs for str {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        let (host, port) = self
            .rsplit_once(':')
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "invalid port value"))?;
        (host, port).resolve()
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        self.as_str().resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        (**self).resolve()
    }
}

/// tokio's `net::lookup_host`: the socket addresses a host and port resolve to.
pub async fn lookup_host_addrs<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(host.resolve()?.into_iter())
}
