//! `UdpSocket`: datagrams are weft messages, so they may be delayed, lost, duplicated and
//! reordered exactly as weft's network decides (UDP promises nothing more). UDP ports live in
//! their own weft port range (`UDP_PORT_BASE + port`), apart from TCP's.

use super::addr::{socket_addr, to_weft, ToSocketAddrs};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use weft::net::{Addr, Endpoint, NetError};

/// Where UDP ports start among weft's ports.
const UDP_PORT_BASE: u32 = 0x8000_0000;
/// First port tried for `bind` with port 0.
const EPHEMERAL_FIRST: u16 = 40000;

#[derive(Clone)]
struct Datagram(Vec<u8>);

impl fmt::Debug for Datagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(40)];
        write!(
            f,
            "UDP datagram ({} bytes: {:?})",
            self.0.len(),
            String::from_utf8_lossy(shown)
        )
    }
}

fn udp_addr(addr: Addr) -> SocketAddr {
    socket_addr(addr.node, addr.port.wrapping_sub(UDP_PORT_BASE) as u16)
}

fn weft_udp(addr: SocketAddr) -> io::Result<Addr> {
    let at = to_weft(addr)?;
    Ok(Addr::new(at.node, UDP_PORT_BASE + at.port))
}

/// A UDP socket on a simulated node.
pub struct UdpSocket {
    endpoint: Endpoint<Datagram>,
    local: SocketAddr,
    peer: Mutex<Option<SocketAddr>>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UdpSocket({})", self.local)
    }
}

impl UdpSocket {
    /// Binds on the calling node; port 0 picks a free port from 40000.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        );
        for candidate in addr.resolve()? {
            match bind_one(candidate) {
                Ok(socket) => return Ok(socket),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// Sets the default destination of `send` and the only source `recv` accepts.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let target = addr
            .resolve()?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        weft_udp(target)?;
        *self.peer.lock().unwrap_or_else(|e| e.into_inner()) = Some(canonical(target)?);
        Ok(())
    }

    /// Sends `buf` to `target`. Never blocks; the datagram may be lost.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = target
            .resolve()?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        self.endpoint
            .send(weft_udp(target)?, Datagram(buf.to_vec()));
        Ok(buf.len())
    }

    /// Sends to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let peer = self.peer_addr()?;
        self.send_to(buf, peer).await
    }

    /// Receives a datagram: its length (truncated to `buf`, as UDP does) and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            let (from, Datagram(bytes)) = self.endpoint.recv().await;
            let from = udp_addr(from);
            let peer = *self.peer.lock().unwrap_or_else(|e| e.into_inner());
            if peer.is_some_and(|p| p != from) {
                continue; // a connected socket drops other sources' datagrams
            }
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            return Ok((n, from));
        }
    }

    /// Receives a datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peer_addr()?;
        self.recv_from(buf).await.map(|(n, _)| n)
    }
}

/// The address a peer's datagrams come from (loopback and names made into `10.0.0.n`).
fn canonical(addr: SocketAddr) -> io::Result<SocketAddr> {
    Ok(udp_addr(weft_udp(addr)?))
}

fn bind_one(addr: SocketAddr) -> io::Result<UdpSocket> {
    let at = to_weft(addr)?;
    if at.node != weft::node::current() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("weft-tokio: cannot bind {addr}: it is another node's address"),
        ));
    }
    let bind = |port: u16| {
        Endpoint::<Datagram>::bind(UDP_PORT_BASE + u32::from(port))
            .map_err(|NetError::AddrInUse(_)| io::Error::from(io::ErrorKind::AddrInUse))
    };
    let (endpoint, port) = if addr.port() == 0 {
        (EPHEMERAL_FIRST..=u16::MAX)
            .find_map(|p| bind(p).ok().map(|e| (e, p)))
            .ok_or_else(|| io::Error::from(io::ErrorKind::AddrInUse))?
    } else {
        (bind(addr.port())?, addr.port())
    };
    Ok(UdpSocket {
        endpoint,
        local: socket_addr(at.node, port),
        peer: Mutex::new(None),
    })
}
