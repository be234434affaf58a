//! `TcpListener`: accepts connections on a port of the calling node.

use super::addr::{from_weft, to_weft, ToSocketAddrs};
use super::conn::{lock, Conn, Segment, SharedConn};
use super::stream::{establish, Ends, TcpStream};
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, Weak};
use weft::net::{Addr, Endpoint, NetError};

type WeakConn = Weak<Mutex<Conn>>;

/// A TCP listener on a simulated node.
///
/// Connections are set up when `accept` sees their SYN (a real kernel completes the handshake
/// before `accept`; here a client's `connect` waits until the server accepts, retransmitting
/// SYN meanwhile, and fails with `TimedOut` if the server does not accept in about 25 s).
/// So `accept` can return a connection whose client has given up meanwhile: it sees no data,
/// as with a client that crashed just after connecting.
pub struct TcpListener {
    endpoint: Endpoint<Segment>,
    local: SocketAddr,
    accepted: Mutex<BTreeMap<(Addr, u64), WeakConn>>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpListener({})", self.local)
    }
}

/// First port tried for `bind` with port 0.
const EPHEMERAL_LISTEN_FIRST: u16 = 40000;

impl TcpListener {
    /// Binds on the calling node (the address must be the node's own, a loopback or an
    /// unspecified address). Port 0 picks a free port from 40000.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        );
        for candidate in addr.resolve()? {
            match bind_one(candidate) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The bound address (the node's `10.0.0.n` address).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// Waits for the next connection. Cancel-safe, as tokio's.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            let (from, segment) = self.endpoint.recv().await;
            let Segment::Syn { conn: id } = segment else {
                continue;
            };
            let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
            accepted.retain(|_, conn| conn.strong_count() > 0);
            if let Some(conn) = accepted.get(&(from, id)).and_then(Weak::upgrade) {
                // A retransmitted SYN: our SYN-ACK was lost or is late; send it again.
                resend_synack(&conn);
                continue;
            }
            let ends = Ends {
                local: self.local,
                shown_peer: from_weft(from),
                peer: from,
                id,
            };
            let stream = establish(Endpoint::ephemeral(), ends, true, Vec::new());
            accepted.insert((from, id), stream.shared());
            return Ok((stream, from_weft(from)));
        }
    }
}

fn resend_synack(conn: &SharedConn) {
    lock(conn).resend_synack();
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let at = to_weft(addr)?;
    if at.node != weft::node::current() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("weft-tokio: cannot bind {addr}: it is another node's address"),
        ));
    }
    let bind = |port: u16| {
        Endpoint::<Segment>::bind(u32::from(port)).map_err(|NetError::AddrInUse(a)| {
            io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("address in use: {}", from_weft(a)),
            )
        })
    };
    let (endpoint, port) = if addr.port() == 0 {
        (EPHEMERAL_LISTEN_FIRST..=u16::MAX)
            .find_map(|p| bind(p).ok().map(|e| (e, p)))
            .ok_or_else(|| io::Error::from(io::ErrorKind::AddrInUse))?
    } else {
        (bind(addr.port())?, addr.port())
    };
    Ok(TcpListener {
        endpoint,
        local: super::addr::socket_addr(at.node, port),
        accepted: Mutex::new(BTreeMap::new()),
    })
}
