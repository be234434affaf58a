//! `TcpListener`: a port of the calling node whose SYNs are answered by a task of its own, as
//! a kernel answers them, so `connect` completes whether or not the server is in `accept`.

use super::addr::{from_weft, to_weft, ToSocketAddrs};
use super::conn::{lock, Conn, Segment};
use super::stream::{establish, Ends, TcpStream};
use crate::sim::local::Local;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use weft::net::{Addr, Endpoint, NetError};

type WeakConn = Weak<Mutex<Conn>>;

/// Connections answered but not yet accepted; further SYNs are ignored (the clients retry).
const BACKLOG_MAX: usize = 128;

/// State shared by the listener and the task that answers its SYNs.
struct Backlog {
    /// `None` once the listener is dropped.
    endpoint: Option<Endpoint<Segment>>,
    local: SocketAddr,
    ready: VecDeque<(TcpStream, SocketAddr)>,
    answered: BTreeMap<(Addr, u64), WeakConn>,
    accept_waker: Option<Waker>,
}

type SharedBacklog = Arc<Mutex<Backlog>>;

fn backlog(shared: &SharedBacklog) -> MutexGuard<'_, Backlog> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A TCP listener on a simulated node.
///
/// A task of its own answers SYNs and queues the connections (at most 128) for `accept`.
/// `accept` can return a connection whose client has given up meanwhile: it sees no data, as
/// with a client that crashed just after connecting.
pub struct TcpListener {
    shared: SharedBacklog,
    local: SocketAddr,
    task: Local<weft::task::JoinHandle<()>>,
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
        std::future::poll_fn(|cx| {
            let mut b = backlog(&self.shared);
            match b.ready.pop_front() {
                Some(accepted) => Poll::Ready(Ok(accepted)),
                None => {
                    b.accept_waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        // Unbind at once (the port can be bound again), stop the task, and close what was
        // never accepted.
        let (endpoint, ready) = {
            let mut b = backlog(&self.shared);
            (b.endpoint.take(), std::mem::take(&mut b.ready))
        };
        drop(endpoint);
        drop(ready);
        self.task.get().abort();
    }
}

/// The listener's task: answers SYNs, queues new connections. It is named after the
/// listening address (`server:7000`), and so are the connections' segments in explanations
/// (their endpoints are bound by it).
struct Answerer {
    shared: SharedBacklog,
}

impl Future for Answerer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let received = {
                let b = backlog(&self.shared);
                let Some(endpoint) = &b.endpoint else {
                    return Poll::Ready(());
                };
                let mut recv = endpoint.recv();
                Pin::new(&mut recv).poll(cx)
            };
            let Poll::Ready((from, segment)) = received else {
                return Poll::Pending;
            };
            if let Segment::Syn { conn: id } = segment {
                answer(&self.shared, from, id);
            }
        }
    }
}

fn answer(shared: &SharedBacklog, from: Addr, id: u64) {
    let mut b = backlog(shared);
    b.answered.retain(|_, conn| conn.strong_count() > 0);
    if let Some(conn) = b.answered.get(&(from, id)).and_then(Weak::upgrade) {
        // A retransmitted SYN: our SYN-ACK was lost or is late; send it again.
        lock(&conn).resend_synack();
        return;
    }
    if b.ready.len() >= BACKLOG_MAX {
        return;
    }
    let ends = Ends {
        local: b.local,
        shown_peer: from_weft(from),
        peer: from,
        id,
    };
    let stream = establish(Endpoint::ephemeral(), ends, true, Vec::new());
    b.answered.insert((from, id), stream.shared());
    b.ready.push_back((stream, from_weft(from)));
    if let Some(w) = b.accept_waker.take() {
        w.wake();
    }
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
    let local = super::addr::socket_addr(at.node, port);
    let shared = Arc::new(Mutex::new(Backlog {
        endpoint: Some(endpoint),
        local,
        ready: VecDeque::new(),
        answered: BTreeMap::new(),
        accept_waker: None,
    }));
    let answerer = Answerer {
        shared: shared.clone(),
    };
    let task = weft::task::spawn_named(super::addr::label(local), answerer);
    Ok(TcpListener {
        shared,
        local,
        task: Local::new(task),
    })
}
