//! The simulated network: addresses, typed endpoints, send and receive, a request/response
//! helper with a timeout, latency, loss, duplication, reordering and partitions.
//!
//! Every message travels through the network, even between tasks of one node, so the order
//! in which messages from different senders arrive is explored like any other decision.
//! Links are FIFO per (sender address, receiver address) unless reordering is enabled and a
//! decision lets a message overtake.

use crate::decision::DecisionKind;
use crate::node::NodeId;
use crate::sim::world::{try_with, with, Envelope, Event, NodeState, Wait, World, NONE};
use crate::sim::{EventKind, FailureKind};
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A network address: a node and a port on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    /// The node.
    pub node: NodeId,
    /// The port.
    pub port: u32,
}

impl Addr {
    /// The address of `port` on `node`.
    pub fn new(node: NodeId, port: u32) -> Addr {
        Addr { node, port }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}:{}", self.node.index(), self.port)
    }
}

/// Network errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The port is already bound on this node.
    AddrInUse(Addr),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::AddrInUse(a) => write!(f, "address {a} is already bound"),
        }
    }
}

impl std::error::Error for NetError {}

/// A message payload: any `Clone + Debug` value (duplication needs a copy; counterexamples
/// show messages with `Debug`).
pub(crate) trait Payload: Any {
    fn clone_box(&self) -> Box<dyn Payload>;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn describe(&self) -> String;
}

impl<T: Any + Clone + fmt::Debug> Payload for T {
    fn clone_box(&self) -> Box<dyn Payload> {
        Box::new(self.clone())
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

pub(crate) struct Mailbox {
    addr: Addr,
    owner: u32,
    generation: u32,
    open: bool,
    expects: TypeId,
    expects_name: &'static str,
    queue: VecDeque<(Addr, Box<dyn Payload>)>,
    waker: Option<Waker>,
}

#[derive(Default)]
pub(crate) struct NetState {
    node_count: usize,
    /// `blocked[from * n + to]`: messages from `from` to `to` are lost.
    blocked: Vec<bool>,
    bound: BTreeMap<Addr, u32>,
    mailboxes: Vec<Mailbox>,
    free: Vec<u32>,
    /// Delivery time of the last message on each FIFO link still in flight.
    link_last: BTreeMap<(Addr, Addr), u64>,
    next_message: u64,
    pub(crate) scratch_woken: Vec<u32>,
    pub(crate) scratch_deliveries: Vec<Envelope>,
}

impl NetState {
    pub(crate) fn grow(&mut self, nodes: usize) {
        let mut blocked = vec![false; nodes * nodes];
        for from in 0..self.node_count {
            for to in 0..self.node_count {
                blocked[from * nodes + to] = self.blocked[from * self.node_count + to];
            }
        }
        self.blocked = blocked;
        self.node_count = nodes;
    }

    fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.blocked[from.index() * self.node_count + to.index()]
    }
}

/// A typed mailbox bound to an address on the calling node. Dropping it unbinds the address.
pub struct Endpoint<M> {
    addr: Addr,
    slot: u32,
    generation: u32,
    _message: PhantomData<fn() -> M>,
}

impl<M: Clone + std::fmt::Debug + 'static> Endpoint<M> {
    /// Binds `port` on the calling node. Ports from 65536 up are used for ephemeral endpoints.
    pub fn bind(port: u32) -> Result<Endpoint<M>, NetError> {
        with(|w| {
            let node = NodeId(w.current_node());
            w.bind::<M>(Addr { node, port })
        })
    }

    /// Binds a fresh port on the calling node.
    pub fn ephemeral() -> Endpoint<M> {
        with(|w| {
            let node_index = w.current_node();
            let port = w.nodes[node_index as usize].next_port;
            w.nodes[node_index as usize].next_port += 1;
            w.bind::<M>(Addr {
                node: NodeId(node_index),
                port,
            })
            .expect("ephemeral ports are unique")
        })
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
        with(|w| w.send(self.addr, to, Box::new(message), std::any::type_name::<T>()));
    }
}

fn downcast<M: 'static>(payload: Box<dyn Payload>) -> M {
    // Delivery checked the type, so this cannot fail.
    *payload
        .into_any()
        .downcast::<M>()
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
            node: NodeId(w.current_node()),
            port: 0,
        };
        w.send(from, to, Box::new(message), std::any::type_name::<T>());
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
        with(|w| w.send(server, to, Box::new(reply), std::any::type_name::<R>()));
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
    with(|w| w.set_link(from.0, to.0, blocked));
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
            partition(node, NodeId(other as u32));
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

impl World {
    fn bind<M: 'static>(&mut self, addr: Addr) -> Result<Endpoint<M>, NetError> {
        if self.net.bound.contains_key(&addr) {
            return Err(NetError::AddrInUse(addr));
        }
        let owner = self.current;
        let mailbox = |generation| Mailbox {
            addr,
            owner,
            generation,
            open: true,
            expects: TypeId::of::<M>(),
            expects_name: std::any::type_name::<M>(),
            queue: VecDeque::new(),
            waker: None,
        };
        let slot = match self.net.free.pop() {
            Some(slot) => {
                let generation = self.net.mailboxes[slot as usize].generation.wrapping_add(1);
                self.net.mailboxes[slot as usize] = mailbox(generation);
                slot
            }
            None => {
                self.net.mailboxes.push(mailbox(0));
                (self.net.mailboxes.len() - 1) as u32
            }
        };
        self.net.bound.insert(addr, slot);
        Ok(Endpoint {
            addr,
            slot,
            generation: self.net.mailboxes[slot as usize].generation,
            _message: PhantomData,
        })
    }

    fn unbind(&mut self, slot: u32, generation: u32) {
        let Some(m) = self.net.mailboxes.get_mut(slot as usize) else {
            return;
        };
        if m.generation != generation {
            return;
        }
        if m.open {
            self.net.bound.remove(&m.addr);
        }
        m.open = false;
        m.queue.clear();
        m.waker = None;
        m.generation = m.generation.wrapping_add(1);
        self.net.free.push(slot);
    }

    /// Closes every endpoint of a crashed node (their handles died with its tasks).
    pub(crate) fn unbind_node(&mut self, node: u32) {
        let addrs: Vec<Addr> = self
            .net
            .bound
            .keys()
            .filter(|a| a.node.0 == node)
            .copied()
            .collect();
        for addr in addrs {
            if let Some(slot) = self.net.bound.remove(&addr) {
                let m = &mut self.net.mailboxes[slot as usize];
                m.open = false;
                m.queue.clear();
                m.waker = None;
            }
        }
    }

    fn take_message(
        &mut self,
        slot: u32,
        generation: u32,
        waker: Option<&Waker>,
    ) -> Option<(Addr, Box<dyn Payload>)> {
        let m = &mut self.net.mailboxes[slot as usize];
        if m.generation != generation {
            return None;
        }
        if let Some(message) = m.queue.pop_front() {
            return Some(message);
        }
        if let Some(waker) = waker {
            match &mut m.waker {
                Some(w) if w.will_wake(waker) => {}
                other => *other = Some(waker.clone()),
            }
            let (node, port) = (m.addr.node.0, m.addr.port);
            self.set_wait(Wait::Recv(node, port));
        }
        None
    }

    /// Sends a message through the network model.
    pub(crate) fn send(
        &mut self,
        from: Addr,
        to: Addr,
        payload: Box<dyn Payload>,
        type_name: &'static str,
    ) {
        let id = self.net.next_message;
        self.net.next_message += 1;
        let (node, task) = (from.node.0, self.here().1);
        if self.net.is_blocked(from.node, to.node) {
            self.event(node, task, EventKind::Send, id, u64::MAX);
            return;
        }
        if self.cfg.net.drop && self.decide(DecisionKind::Drop, 2) == 1 {
            self.event(node, task, EventKind::Send, id, u64::MAX);
            self.note(DecisionKind::Drop, 1, |w| {
                format!("{} was dropped", w.describe(from, to, &*payload))
            });
            return;
        }
        let duplicate = if self.cfg.net.duplicate && self.decide(DecisionKind::Duplicate, 2) == 1 {
            self.note(DecisionKind::Duplicate, 1, |w| {
                format!("{} was duplicated", w.describe(from, to, &*payload))
            });
            Some(payload.clone_box())
        } else {
            None
        };
        self.dispatch(id, from, to, payload, type_name);
        if let Some(copy) = duplicate {
            self.dispatch(id, from, to, copy, type_name);
        }
    }

    fn dispatch(
        &mut self,
        id: u64,
        from: Addr,
        to: Addr,
        payload: Box<dyn Payload>,
        type_name: &'static str,
    ) {
        let net = &self.cfg.net;
        let (min, max, buckets) = (
            net.latency_min_ns,
            net.latency_max_ns,
            u64::from(net.latency_buckets.max(1)),
        );
        let latency = if max > min && buckets > 1 {
            let v = self.decide(DecisionKind::Latency, buckets);
            let latency = min + (max - min) * v / (buckets - 1);
            self.note(DecisionKind::Latency, v, |w| {
                format!(
                    "{} took {} instead of {}",
                    w.describe(from, to, &*payload),
                    crate::sim::format_ns(latency),
                    crate::sim::format_ns(min)
                )
            });
            latency
        } else {
            min
        };
        let overtake = self.cfg.net.reorder && self.decide(DecisionKind::Reorder, 2) == 1;
        if overtake {
            self.note(DecisionKind::Reorder, 1, |w| {
                format!(
                    "{} may overtake earlier messages on its link",
                    w.describe(from, to, &*payload)
                )
            });
        }
        let mut at = self.now + latency;
        if !overtake {
            // FIFO link: strictly after the previous message still in flight on it.
            if let Some(&last) = self.net.link_last.get(&(from, to)) {
                at = at.max(last + 1);
            }
            self.net.link_last.insert((from, to), at);
        }
        self.event(from.node.0, self.here().1, EventKind::Send, id, at);
        let envelope = Box::new(Envelope {
            id,
            from,
            to,
            payload,
            type_name,
        });
        self.schedule(at, Event::Deliver(envelope));
    }

    /// Who owns an address, for people: the task that bound it, else the node and port.
    pub(crate) fn addr_label(&self, addr: Addr) -> String {
        match self.net.bound.get(&addr) {
            Some(&slot) if self.net.mailboxes[slot as usize].owner != NONE => {
                self.task_name(self.net.mailboxes[slot as usize].owner)
            }
            _ => match self.nodes.get(addr.node.index()) {
                Some(n) if addr.port == 0 => n.name.to_string(),
                Some(n) => format!("{}:{}", n.name, addr.port),
                None => addr.to_string(),
            },
        }
    }

    fn describe(&self, from: Addr, to: Addr, payload: &dyn Payload) -> String {
        format!(
            "{}'s {} to {}",
            self.addr_label(from),
            payload.describe(),
            self.addr_label(to)
        )
    }

    pub(crate) fn describe_message(&self, e: &Envelope) -> String {
        self.describe(e.from, e.to, &*e.payload)
    }

    /// Delivers a message whose time has come.
    pub(crate) fn deliver(&mut self, envelope: Envelope) {
        let Envelope {
            id,
            from,
            to,
            payload,
            type_name,
        } = envelope;
        if self.net.link_last.get(&(from, to)) == Some(&self.now) {
            self.net.link_last.remove(&(from, to));
        }
        let node = to.node.0;
        let lost = if self.net.is_blocked(from.node, to.node) {
            Some(0)
        } else if self.nodes[node as usize].state == NodeState::Crashed {
            Some(1)
        } else if !self.net.bound.contains_key(&to) {
            Some(2)
        } else {
            None
        };
        if let Some(why) = lost {
            self.event(node, NONE, EventKind::Lost, id, why);
            return;
        }
        let slot = self.net.bound[&to];
        let capacity = self.cfg.mailbox_capacity;
        let m = &mut self.net.mailboxes[slot as usize];
        if (*payload).type_id() != m.expects {
            let message = format!(
                "a message of type {type_name} was sent to {to}, an endpoint of type {}",
                m.expects_name
            );
            self.fail(FailureKind::Panic, message);
            return;
        }
        if m.queue.len() >= capacity {
            let message =
                format!("mailbox {to} holds more than {capacity} messages (mailbox_capacity)");
            self.fail(FailureKind::LimitExceeded, message);
            return;
        }
        m.queue.push_back((from, payload));
        if let Some(w) = m.waker.take() {
            w.wake();
        }
        self.event(node, NONE, EventKind::Deliver, id, u64::from(to.port));
    }

    pub(crate) fn set_link(&mut self, from: u32, to: u32, blocked: bool) {
        let n = self.net.node_count;
        let cell = &mut self.net.blocked[from as usize * n + to as usize];
        if *cell != blocked {
            *cell = blocked;
            self.event(
                from,
                u32::from(blocked),
                EventKind::Link,
                u64::from(from),
                u64::from(to),
            );
        }
    }

    pub(crate) fn repair_all(&mut self) {
        let n = self.net.node_count as u32;
        for from in 0..n {
            for to in 0..n {
                self.set_link(from, to, false);
            }
        }
    }
}
