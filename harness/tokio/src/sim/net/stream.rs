//! `TcpStream` and its halves: handles on a connection driven by its own task (see `conn`).

use super::addr::{from_weft, to_weft, ToSocketAddrs};
use super::conn::{conn_id, lock, Conn, Driver, Segment, SharedConn, RETRANSMISSIONS_MAX, RTO_MIN};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use weft::net::{Addr, Endpoint};

/// A TCP connection between two simulated nodes, implementing tokio's `AsyncRead` and
/// `AsyncWrite`.
pub struct TcpStream {
    conn: SharedConn,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = lock(&self.conn);
        write!(f, "TcpStream({} -> {})", c.local, c.peer)
    }
}

/// Starts the driver task of an established connection and returns the user's handle.
/// `local` and `shown_peer` are the addresses the user sees (a server's connections show the
/// listener's address as their local one; a client's show the address it connected to).
pub(crate) struct Ends {
    pub(crate) local: SocketAddr,
    pub(crate) shown_peer: SocketAddr,
    pub(crate) peer: Addr,
    pub(crate) id: u64,
}

pub(crate) fn establish(
    endpoint: Endpoint<Segment>,
    ends: Ends,
    synack_due: bool,
    early: Vec<Segment>,
) -> TcpStream {
    let Ends {
        local,
        shown_peer,
        peer,
        id,
    } = ends;
    let conn: SharedConn = Arc::new(Mutex::new(Conn::new(local, shown_peer, synack_due)));
    let name = format!(
        "tcp {}->{}",
        super::addr::label(local),
        super::addr::label(shown_peer)
    );
    weft::task::spawn_named(name, Driver::new(endpoint, peer, id, conn.clone(), early));
    TcpStream { conn }
}

impl TcpStream {
    /// Opens a connection. SYN is retransmitted like data (timeout from 200 ms, doubling); with
    /// no answer after the last retransmission, `TimedOut`. A node with no listener on the
    /// port does not answer (weft drops the message), so that too ends in `TimedOut` rather
    /// than `ConnectionRefused`.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        );
        for target in addr.resolve()? {
            match connect_one(target).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub(crate) fn shared(&self) -> std::sync::Weak<Mutex<Conn>> {
        Arc::downgrade(&self.conn)
    }

    /// The local address (ephemeral ports show as 49152..65535).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(lock(&self.conn).local)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(lock(&self.conn).peer)
    }

    /// Recorded only: the simulation has no Nagle delay, every write is sent at once.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        lock(&self.conn).nodelay = nodelay;
        Ok(())
    }

    /// The value given to `set_nodelay`.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(lock(&self.conn).nodelay)
    }

    /// Borrowed read and write halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            ReadHalf { conn: &self.conn },
            WriteHalf { conn: &self.conn },
        )
    }

    /// Owned read and write halves; dropping the write half shuts the write side down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let conn = self.conn.clone();
        {
            let mut c = lock(&conn);
            c.add_handle();
            c.add_handle();
        }
        drop(self); // gives up the stream's own handle: one per half remains
        let read = OwnedReadHalf { conn: conn.clone() };
        (read, OwnedWriteHalf { conn })
    }
}

async fn connect_one(target: SocketAddr) -> io::Result<TcpStream> {
    let to = to_weft(target)?;
    let endpoint = Endpoint::<Segment>::ephemeral();
    let id = conn_id(endpoint.addr());
    let mut rto = RTO_MIN;
    for _ in 0..=RETRANSMISSIONS_MAX {
        endpoint.send(to, Segment::Syn { conn: id });
        let deadline = weft::time::Instant::now().after(rto);
        loop {
            let left = std::time::Duration::from_nanos(
                deadline.as_nanos().saturating_sub(weft::time::now_ns()),
            );
            match weft::time::timeout(left, endpoint.recv()).await {
                Err(_) => break,
                Ok((from, segment)) if segment.conn() == id => {
                    let ends = Ends {
                        local: from_weft(endpoint.addr()),
                        shown_peer: super::addr::socket_addr(to.node, target.port()),
                        peer: from,
                        id,
                    };
                    return match segment {
                        Segment::SynAck { .. } => Ok(establish(endpoint, ends, false, Vec::new())),
                        Segment::Rst { .. } => Err(io::ErrorKind::ConnectionRefused.into()),
                        // Reordering let the server's first segment overtake its SYN-ACK.
                        other => Ok(establish(endpoint, ends, false, vec![other])),
                    };
                }
                Ok(_) => continue,
            }
        }
        rto = rto.saturating_mul(2);
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("weft-tokio: connect to {target}: no answer to SYN"),
    ))
}

fn read(conn: &SharedConn, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    lock(conn).poll_read(cx, buf)
}

fn write(conn: &SharedConn, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    lock(conn).poll_write(cx, buf)
}

fn shutdown(conn: &SharedConn) -> Poll<io::Result<()>> {
    lock(conn).shutdown_write();
    Poll::Ready(Ok(()))
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        lock(&self.conn).drop_handle();
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read(&self.conn, cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(&self.conn, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown(&self.conn)
    }
}

/// The borrowed read half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    conn: &'a SharedConn,
}

/// The borrowed write half of [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    conn: &'a SharedConn,
}

/// The owned read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    conn: SharedConn,
}

/// The owned write half of [`TcpStream::into_split`]; dropping it shuts the write side down.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    conn: SharedConn,
}

impl Drop for OwnedReadHalf {
    fn drop(&mut self) {
        lock(&self.conn).drop_handle();
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        let mut c = lock(&self.conn);
        c.shutdown_write();
        c.drop_handle();
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read(self.conn, cx, buf)
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read(&self.conn, cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(self.conn, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown(self.conn)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write(&self.conn, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown(&self.conn)
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.local, self.peer)
    }
}
