//! The simulated network: addresses, typed endpoints, send and receive, a request/response
//! helper with a timeout, latency, loss, duplication, reordering and partitions.
//!
//! Every message travels through the network, even between tasks of one node, so the order
//! in which messages from different senders arrive is explored like any other decision.
//! Links are FIFO per (sender address, receiver address) unless reordering is enabled and a
//! decision lets a message overtake.

pub use crate::ids::Addr;
use crate::ids::NodeId;
pub use crate::sim::network::NetError;
use crate::sim::network::Payload;
use crate::sim::world::{try_with, with};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A typed mailbox bound to an address on the calling node. Dropping it unbinds the address.
pub struct Endpoint<M> {
    addr: Addr,
    slot: u32,
    generation: u32,
    _message: PhantomData<fn() -> M>,
}

impl<M> Endpoint<M> {
    fn new(addr: Addr, slot: u32, generation: u32) -> Endpoint<M> {
        Endpoint {
            addr,
            slot,
            generation,
            _message: PhantomData,
        }
    }
}

impl<M: Clone + std::fmt::Debug + 'static> Endpoint<M> {
    /// Binds `port` on the calling node. Ports from 65536 up are used for ephemeral endpoints.
    pub fn bind(port: u32) -> Result<Endpoint<M>, NetError> {
        let addr = with(|w| Addr::new(w.current_node(), port));
        with(|w| w.bind::<M>(addr)).map(|(slot, generation)| Endpoint::new(addr, slot, generation))
    }

    /// Binds a fresh port on the calling node.
    pub fn ephemeral() -> Endpoint<M> {
        let (addr, (slot, generation)) = with(|w| {
            let node = w.current_node();
            let port = w.nodes[node.index()].next_port;
            w.nodes[node.index()].next_port += 1;
            let addr = Addr::new(node, port);
            (addr, w.bind::<M>(addr).expect("ephemeral ports are unique"))
        });
        Endpoint::new(addr, slot, generation)
    }

    /// The bound address.
    pub fn addr(&self) -> Addr {
        self.addr
    }

    /// Receives the next message and its sender.
    pub fn recv(&self) -> Recv<'_, M> {
        Recv { endpoint: self }
    }

    /// Receives a message if one is queued.
    pub fn try_recv(&self) -> Option<(Addr, M)> {
        with(|w| w.take_message(self.slot, self.generation, None))
            .map(|(from, payload)| (from, downcast::<M>(payload)))
    }

    /// Sends `message` from this endpoint's address.
    pub fn send<T: Clone + std::fmt::Debug + 'static>(&self, to: Addr, message: T) {
        with(|w| w.send(self.addr, to, Payload::new(message)));
    }
}

fn downcast<M: 'static>(payload: Payload) -> M {
    // Delivery checked the type, so this cannot fail.
    payload
        .take::<M>()
        .expect("message type checked at delivery")
}

impl<M> Drop for Endpoint<M> {
    fn drop(&mut self) {
        try_with(|w| w.unbind(self.slot, self.generation));
    }
}

/// Future returned by [`Endpoint::recv`].
pub struct Recv<'a, M> {
    endpoint: &'a Endpoint<M>,
}

impl<M: Clone + std::fmt::Debug + 'static> Future for Recv<'_, M> {
    type Output = (Addr, M);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Addr, M)> {
        let e = self.endpoint;
        match with(|w| w.take_message(e.slot, e.generation, Some(cx.waker()))) {
            Some((from, payload)) => Poll::Ready((from, downcast::<M>(payload))),
            None => Poll::Pending,
        }
    }
}

/// Sends `message` to `to` from the calling node's anonymous address (port 0).
pub fn send<T: Clone + std::fmt::Debug + 'static>(to: Addr, message: T) {
    with(|w| {
        let from = Addr {
            node: w.current_node(),
            port: 0,
        };
        w.send(from, to, Payload::new(message));
    });
}

/// A request carrying its reply address, as received by a server from [`call`].
pub struct Request<Q, R> {
    /// The request body.
    pub body: Q,
    reply_to: Addr,
    server: Addr,
    _reply: PhantomData<fn(R)>,
}

impl<Q: fmt::Debug, R> fmt::Debug for Request<Q, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.body.fmt(f)
    }
}

impl<Q: Clone, R> Clone for Request<Q, R> {
    fn clone(&self) -> Self {
        Request {
            body: self.body.clone(),
            reply_to: self.reply_to,
            server: self.server,
            _reply: PhantomData,
        }
    }
}

impl<Q, R: Clone + std::fmt::Debug + 'static> Request<Q, R> {
    /// A request to `server` whose reply goes to `reply_to` (for one-way messages to an
    /// endpoint that also serves calls, pass the sender's own address).
    pub fn new(body: Q, server: Addr, reply_to: Addr) -> Self {
        Request {
            body,
            reply_to,
            server,
            _reply: PhantomData,
        }
    }

    /// Where the reply goes.
    pub fn reply_to(&self) -> Addr {
        self.reply_to
    }

    /// Sends the reply, from the address the request was sent to.
    pub fn reply(&self, reply: R) {
        let (server, to) = (self.server, self.reply_to);
        with(|w| w.send_reply(server, to, Payload::new(reply)));
    }
}

/// Why a [`call`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No reply within the timeout (request or reply lost, server down or slow).
    Timeout,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("call timed out")
    }
}

impl std::error::Error for CallError {}

/// Sends `body` to a server endpoint of type `Endpoint<Request<Q, R>>` and waits for its reply
/// for at most `timeout`.
pub async fn call<Q: Clone + std::fmt::Debug + 'static, R: Clone + std::fmt::Debug + 'static>(
    to: Addr,
    body: Q,
    timeout: Duration,
) -> Result<R, CallError> {
    let endpoint = Endpoint::<R>::ephemeral();
    let request = Request::<Q, R> {
        body,
        reply_to: endpoint.addr(),
        server: to,
        _reply: PhantomData,
    };
    endpoint.send(to, request);
    match crate::time::timeout(timeout, endpoint.recv()).await {
        Ok((_, reply)) => Ok(reply),
        Err(_) => Err(CallError::Timeout),
    }
}

fn set_link(from: NodeId, to: NodeId, blocked: bool) {
    with(|w| w.set_link(from, to, blocked));
}

/// Blocks both directions between `a` and `b`.
pub fn partition(a: NodeId, b: NodeId) {
    set_link(a, b, true);
    set_link(b, a, true);
}

/// Blocks messages from `from` to `to` only.
pub fn partition_oneway(from: NodeId, to: NodeId) {
    set_link(from, to, true);
}

/// Cuts `node` off from every other node.
pub fn isolate(node: NodeId) {
    let n = crate::node::count();
    for other in 0..n {
        if other != node.index() {
            partition(node, NodeId::from_index(other));
        }
    }
}

/// Splits the nodes into groups that cannot reach each other; nodes in no group keep their
/// links.
pub fn split(groups: &[&[NodeId]]) {
    for (i, a) in groups.iter().enumerate() {
        for b in &groups[i + 1..] {
            for &x in a.iter() {
                for &y in b.iter() {
                    partition(x, y);
                }
            }
        }
    }
}

/// Restores both directions between `a` and `b`.
pub fn repair(a: NodeId, b: NodeId) {
    set_link(a, b, false);
    set_link(b, a, false);
}

/// Restores every link.
pub fn repair_all() {
    with(|w| w.repair_all());
}

/// Whether messages from `from` to `to` are currently lost.
pub fn is_blocked(from: NodeId, to: NodeId) -> bool {
    with(|w| w.net.is_blocked(from, to))
}
