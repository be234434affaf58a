//! The network's state and behaviour inside the executor: links, mailboxes, sending through
//! the network model (drop, duplication, latency, reordering) and delivery. The public API is
//! `weft::net`.

pub(crate) use super::payload::Payload;
use super::trace::Lost;
use super::world::{Envelope, Event, NodeState, Wait, World};
use super::{EventKind, FailureKind};
use crate::decision::{mix, DecisionKind};
use crate::ids::{Addr, NodeId, TaskId};
use std::any::TypeId;
use std::collections::{HashMap, VecDeque}; // hygiene: allowed (fixed hasher: AddrHasher)
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::task::Waker;

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

pub(crate) struct Mailbox {
    addr: Addr,
    /// The task that bound it (`None`: bound from outside any task).
    owner: Option<TaskId>,
    generation: u32,
    open: bool,
    expects: TypeId,
    expects_name: &'static str,
    queue: VecDeque<(Addr, Payload)>,
    waker: Option<Waker>,
}

/// The hasher of the network's map of bound addresses: a few
/// instructions per key, and the same in every process (never randomly seeded; nothing
/// depends on the maps' order anyway).
#[derive(Clone, Copy, Default)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The 128-bit product folded: every bit of the state reaches the low bits (the table
        // index) and the high ones (its control bytes).
        let r = u128::from(self.0) * u128::from(0xd6e8_feb8_6659_fd93u64);
        (r as u64) ^ ((r >> 64) as u64)
    }
}

type AddrMap<K, V> = HashMap<K, V, BuildHasherDefault<AddrHasher>>; // hygiene: allowed (fixed hasher)

/// The network's state: links, bound addresses and their mailboxes, in-flight FIFO order.
#[derive(Default)]
pub(crate) struct NetState {
    node_count: usize,
    /// `blocked[from * n + to]`: messages from `from` to `to` are lost.
    blocked: Vec<bool>,
    bound: AddrMap<Addr, u32>,
    mailboxes: Vec<Mailbox>,
    free: Vec<u32>,
    /// Each FIFO link's last message: its delivery time and the sequence number of its
    /// delivery event. The message is still in flight while that time is ahead, or is now
    /// and its event came after the last drain ([`NetState::drained`]); an entry whose
    /// message has arrived counts as absent (and may be dropped when the table is rebuilt),
    /// so delivering a message touches no map.
    link_last: super::links::LinkTable,
    /// The event sequence number when the executor last fired everything due (every message
    /// scheduled before it and due by now has been delivered).
    drained: u64,
    next_message: u64,
    /// Whether the message being sent is a reply to a request (for its description).
    replying: bool,
}

impl NetState {
    /// A message on the FIFO link `(from, to)` that would arrive at `at` arrives strictly after
    /// the last one still in flight there: its delivery time, now the link's last (with `seq`,
    /// the sequence number its delivery event will have).
    #[inline(always)]
    fn fifo_after_last(&mut self, link: (Addr, Addr), at: u64, now: u64, seq: u64) -> u64 {
        let drained = self.drained;
        let in_flight =
            |(last, last_seq): (u64, u64)| last > now || (last == now && last_seq > drained);
        self.link_last.last(link, in_flight, |last| {
            let at = match *last {
                Some(last) if in_flight(last) => at.max(last.0 + 1),
                _ => at,
            };
            *last = Some((at, seq));
            at
        })
    }

    /// Everything due by now has been fired and delivered; `seq` is the last event sequence
    /// number given out.
    pub(crate) fn set_drained(&mut self, seq: u64) {
        self.drained = seq;
    }

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

    pub(crate) fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.blocked[from.index() * self.node_count + to.index()]
    }
}

impl World {
    /// Binds `addr` to a fresh mailbox for messages of type `M`: its slot and generation.
    pub(crate) fn bind<M: 'static>(&mut self, addr: Addr) -> Result<(u32, u32), NetError> {
        if self.net.bound.contains_key(&addr) {
            return Err(NetError::AddrInUse(addr));
        }
        let owner = self.current;
        let mailbox = |generation, queue| Mailbox {
            addr,
            owner,
            generation,
            open: true,
            expects: TypeId::of::<M>(),
            expects_name: std::any::type_name::<M>(),
            queue,
            waker: None,
        };
        let slot = match self.net.free.pop() {
            Some(slot) => {
                let old = &mut self.net.mailboxes[slot as usize];
                let generation = old.generation.wrapping_add(1);
                // The freed mailbox's queue (empty) keeps its room for the next one.
                let mut queue = std::mem::take(&mut old.queue);
                queue.clear();
                *old = mailbox(generation, queue);
                slot
            }
            None => {
                self.net.mailboxes.push(mailbox(0, VecDeque::new()));
                (self.net.mailboxes.len() - 1) as u32
            }
        };
        self.net.bound.insert(addr, slot);
        Ok((slot, self.net.mailboxes[slot as usize].generation))
    }

    pub(crate) fn unbind(&mut self, slot: u32, generation: u32) {
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
    pub(crate) fn unbind_node(&mut self, node: NodeId) {
        let mut addrs: Vec<Addr> = self
            .net
            .bound
            .keys()
            .filter(|a| a.node == node)
            .copied()
            .collect();
        // In address order, whatever the map's.
        addrs.sort_unstable();
        for addr in addrs {
            if let Some(slot) = self.net.bound.remove(&addr) {
                let m = &mut self.net.mailboxes[slot as usize];
                m.open = false;
                m.queue.clear();
                m.waker = None;
            }
        }
    }

    #[inline]
    pub(crate) fn take_message(
        &mut self,
        slot: u32,
        generation: u32,
        waker: Option<&Waker>,
    ) -> Option<(Addr, Payload)> {
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
            let (node, port) = (m.addr.node, m.addr.port);
            self.set_wait(Wait::Recv(node, port));
        }
        None
    }

    /// Sends a message through the network model.
    pub(crate) fn send(&mut self, from: Addr, to: Addr, payload: Payload) {
        let id = self.net.next_message;
        self.net.next_message += 1;
        if !self.addressed {
            return self.send_as(id, 0, from, to, payload);
        }
        let ident = self.message_subject(to);
        // The message's draws (drop, duplicate, latency, reorder) are addressed by the
        // message, not by how many things its sender did before.
        self.with_draw_ctx(ident, |w| w.send_as_outlined(id, ident, from, to, payload));
    }

    /// [`World::send_as`], out of line: the addressed runs' path (the usual one has it inline).
    #[inline(never)]
    fn send_as_outlined(&mut self, id: u64, ident: u64, from: Addr, to: Addr, payload: Payload) {
        self.send_as(id, ident, from, to, payload);
    }

    /// A stable identity for the next message to `to` (in addressed runs): its sender's
    /// identity, its receiver's (the task that bound `to`, else the address) and how many
    /// messages that pair exchanged before. A server's reply to one client keeps its
    /// address when another client's commands are deleted.
    fn message_subject(&mut self, to: Addr) -> u64 {
        use super::world::salt;
        let sender = if let Some((subject, _)) = self.draw_ctx {
            subject
        } else if let Some(current) = self.current {
            self.tasks[current.index()].ident
        } else {
            salt::LOOSE
        };
        let owner =
            (self.net.bound.get(&to)).and_then(|&slot| self.net.mailboxes[slot as usize].owner);
        let receiver = match owner {
            Some(owner) => self.tasks[owner.index()].ident,
            None => mix(
                salt::ADDR,
                (to.node.index() as u64) << 32 | u64::from(to.port),
            ),
        };
        let count = self.link_sends.entry((sender, receiver)).or_insert(0);
        *count += 1;
        mix(mix(salt::MESSAGE, mix(sender, receiver)), u64::from(*count))
    }

    /// Sends message `id`, whose stable identity is `ident` (0 outside addressed runs).
    #[inline(always)]
    fn send_as(&mut self, id: u64, ident: u64, from: Addr, to: Addr, payload: Payload) {
        let (node, task) = (Some(from.node), self.current);
        if let Some(task) = task.filter(|_| self.notes.is_some()) {
            let text = self.describe(from, to, &payload);
            self.sends.push((self.step, task, text));
        }
        if self.net.is_blocked(from.node, to.node) {
            self.event(node, task, EventKind::Send, id, u64::MAX);
            return;
        }
        let drop = self
            .cfg
            .net
            .drop
            .then(|| self.decide(DecisionKind::Drop, 2));
        if let Some(drop) = drop.filter(|d| d.value == 1) {
            self.event(node, task, EventKind::Send, id, u64::MAX);
            self.note(drop, |w| {
                format!("{} was dropped", w.describe(from, to, &payload))
            });
            return;
        }
        let duplicate = self
            .cfg
            .net
            .duplicate
            .then(|| self.decide(DecisionKind::Duplicate, 2));
        let duplicate = if let Some(duplicate) = duplicate.filter(|d| d.value == 1) {
            self.note(duplicate, |w| {
                format!("{} was duplicated", w.describe(from, to, &payload))
            });
            Some(payload.clone_payload())
        } else {
            None
        };
        self.dispatch((id, ident), from, to, payload);
        if let Some(copy) = duplicate {
            self.dispatch_outlined((id, ident), from, to, copy);
        }
    }

    /// Sends a reply to a request: as [`World::send`], described as a reply.
    pub(crate) fn send_reply(&mut self, from: Addr, to: Addr, payload: Payload) {
        self.net.replying = true;
        self.send(from, to, payload);
        self.net.replying = false;
    }

    /// [`World::dispatch`], out of line: a duplicate's path (the usual one has it inline).
    #[inline(never)]
    fn dispatch_outlined(&mut self, message: (u64, u64), from: Addr, to: Addr, payload: Payload) {
        self.dispatch(message, from, to, payload);
    }

    #[inline(always)]
    fn dispatch(&mut self, (id, ident): (u64, u64), from: Addr, to: Addr, payload: Payload) {
        let net = &self.cfg.net;
        let (min, max, buckets) = (
            net.latency_min_ns,
            net.latency_max_ns,
            u64::from(net.latency_buckets.max(1)),
        );
        let latency = if max > min && buckets > 1 {
            let sender = self.current;
            let drawn = self.decide_by(DecisionKind::Latency, buckets, |strategy| {
                strategy.next_latency(sender, buckets)
            });
            let latency = min + (max - min) * drawn.value / (buckets - 1);
            self.note(drawn, |w| {
                format!(
                    "{} took {} instead of {}",
                    w.describe(from, to, &payload),
                    crate::sim::format_ns(latency),
                    crate::sim::format_ns(min)
                )
            });
            latency
        } else {
            min
        };
        // Not `bool::then` with a closure: the closure was compiled out of line.
        let overtake = if self.cfg.net.reorder {
            let reorder = self.decide_inline(DecisionKind::Reorder, 2);
            if reorder.value == 1 {
                self.note(reorder, |w| {
                    format!(
                        "{} may overtake earlier messages on its link",
                        w.describe(from, to, &payload)
                    )
                });
            }
            reorder.value == 1
        } else {
            false
        };
        let mut at = self.now + latency;
        if !overtake {
            // FIFO link: strictly after the previous message still in flight on it.
            let seq = self.event_seq + 1; // the sequence number `schedule` gives it
            at = self.net.fifo_after_last((from, to), at, self.now, seq);
        }
        self.event(Some(from.node), self.current, EventKind::Send, id, at);
        let envelope = Envelope {
            id,
            from,
            to,
            payload,
            reply: self.net.replying,
            ident,
            sender: self.current,
        };
        self.schedule_inline(at, Event::Deliver(envelope));
    }

    /// Who owns an address, for people: the task that bound it, else the node and port.
    pub(crate) fn addr_label(&self, addr: Addr) -> String {
        let owner =
            (self.net.bound.get(&addr)).and_then(|&slot| self.net.mailboxes[slot as usize].owner);
        match owner {
            Some(owner) => {
                // A server bound by its node's start-up code is named by its node.
                let owner = self.task_name(owner);
                match owner.strip_suffix(":init") {
                    Some(node) => node.to_string(),
                    None => owner,
                }
            }
            _ => match self.nodes.get(addr.node.index()) {
                Some(n) if addr.port == 0 => n.name.to_string(),
                Some(n) => format!("{}:{}", n.name, addr.port),
                None => addr.to_string(),
            },
        }
    }

    fn describe(&self, from: Addr, to: Addr, payload: &Payload) -> String {
        self.describe_as((from, self.current), to, payload, self.net.replying)
    }

    fn describe_as(
        &self,
        (from, sender): (Addr, Option<TaskId>),
        to: Addr,
        payload: &Payload,
        reply: bool,
    ) -> String {
        format!(
            "{}'s {}{} to {}",
            self.sender_label(from, sender),
            if reply { "reply " } else { "" },
            payload.describe(),
            self.addr_label(to)
        )
    }

    /// Who sent a message, for people: the sending task when it is named and sends through its
    /// node's connection or an address another task bound (clients on one driver node are
    /// told apart: "client 1's checkout"), else the address's owner.
    fn sender_label(&self, from: Addr, sender: Option<TaskId>) -> String {
        let owner =
            (self.net.bound.get(&from)).map(|&slot| self.net.mailboxes[slot as usize].owner);
        let named = sender.filter(|s| self.tasks.get(s.index()).is_some_and(|t| t.name.is_some()));
        match (owner, named) {
            (Some(owner), Some(sender)) if owner != Some(sender) => self.task_name(sender),
            (None, Some(sender)) => self.task_name(sender),
            _ => self.addr_label(from),
        }
    }

    pub(crate) fn describe_message(&self, e: &Envelope) -> String {
        self.describe_as((e.from, e.sender), e.to, &e.payload, e.reply)
    }

    /// Delivers a message whose time has come.
    #[inline(always)]
    pub(crate) fn deliver(&mut self, envelope: Envelope) {
        let Envelope {
            id,
            from,
            to,
            payload,
            ..
        } = envelope;
        self.deliver_parts(id, from, to, payload);
    }

    /// [`World::deliver`], given the envelope's parts.
    #[inline(always)]
    pub(crate) fn deliver_parts(&mut self, id: u64, from: Addr, to: Addr, payload: Payload) {
        let node = to.node;
        let bound = self.net.bound.get(&to).copied();
        let lost = if self.net.is_blocked(from.node, to.node) {
            Some(Lost::Partitioned)
        } else if self.nodes[node.index()].state == NodeState::Crashed {
            Some(Lost::NodeDown)
        } else if bound.is_none() {
            Some(Lost::NoEndpoint)
        } else {
            None
        };
        let (Some(slot), None) = (bound, lost) else {
            let why = lost.expect("a message not delivered was lost");
            self.event(Some(node), None, EventKind::Lost, id, why.code());
            return;
        };
        let capacity = self.cfg.mailbox_capacity;
        let m = &mut self.net.mailboxes[slot as usize];
        if payload.value_type() != m.expects {
            let message = format!(
                "a message of type {} was sent to {to}, an endpoint of type {}",
                payload.type_name(),
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
            // A task's own waker, with no wake waiting to be collected: the task is made
            // runnable now, as collecting its wake next would (the same order: first).
            match super::world::task_of(&w) {
                Some(task) if super::world::none_woken() => self.make_runnable(task),
                _ => w.wake(),
            }
        }
        self.event(Some(node), None, EventKind::Deliver, id, u64::from(to.port));
    }

    pub(crate) fn set_link(&mut self, from: NodeId, to: NodeId, blocked: bool) {
        let n = self.net.node_count;
        let cell = &mut self.net.blocked[from.index() * n + to.index()];
        if *cell != blocked {
            *cell = blocked;
            let (to, blocked) = (to.index() as u64, u64::from(blocked));
            self.event(Some(from), None, EventKind::Link, to, blocked);
        }
    }

    pub(crate) fn repair_all(&mut self) {
        let n = self.net.node_count;
        for from in 0..n {
            for to in 0..n {
                self.set_link(NodeId::from_index(from), NodeId::from_index(to), false);
            }
        }
    }
}
