//! One node: a `raft::RawNode` driven by weft's clock, network and disk.
//!
//! The loop waits for a Raft message, a client request or the next tick; steps every message
//! waiting; then handles the `Ready` as the crate's protocol requires: messages that need no
//! persistence (a leader's appends) go out at once, committed entries are applied, new
//! entries and the hard state are written and fsynced, and only then do the messages that
//! depend on them (votes, append responses) go out. A restarted node reads its log and hard
//! state back and applies its committed entries again from index 1 (there are no snapshots).
//!
//! Randomness: the crate draws each election timeout from `rand::thread_rng` (OS
//! randomness, outside weft's decision stream). The node pins that range to one value
//! (`min_election_tick` = `max_election_tick` - 1) and randomizes the length of its ticks
//! instead, from weft's stream, at start-up and whenever its term changes. The draw is offset
//! by the node's id, so that in the least surprising run (every decision at its default) the
//! nodes still tick at different rates: with equal timeouts, elections split forever.

use crate::bugs::{Bug, Bugs};
use crate::oracle::Oracle;
use crate::protocol::{ClientRequest, Key, Op, Reply, Value, CLIENT_PORT, RAFT_PORT};
use crate::storage::{self, Log};
use raft::eraftpb::{ConfState, Entry, EntryType, Message};
use raft::storage::MemStorage;
use raft::{RawNode, StateRole};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;
use weft::net::{Addr, Endpoint, Request};
use weft::NodeId;

/// Ticks without a heartbeat before a follower stands for election.
pub const ELECTION_TICKS: usize = 10;
/// Ticks between a leader's heartbeats.
pub const HEARTBEAT_TICKS: usize = 2;
/// The tick lengths a node chooses from, in microseconds.
const TICK_US: [u64; 3] = [5_000, 4_000, 6_000];

/// How a node is set up.
#[derive(Clone)]
pub struct NodeConfig {
    /// Its Raft id (1, 2, 3...).
    pub id: u64,
    /// Every node of the cluster, by Raft id minus one (filled in once all are added).
    pub members: Rc<RefCell<Vec<NodeId>>>,
    /// Planted mistakes switched on.
    pub bugs: Bugs,
    /// The shared safety checks.
    pub oracle: Oracle,
}

type ClientCall = Request<ClientRequest, Reply>;

enum Event {
    Raft(Message),
    Client(ClientCall),
    Tick,
}

/// The node's start-up code (run again by every restart).
pub async fn serve(config: NodeConfig) {
    let raft_endpoint = Endpoint::<Message>::bind(RAFT_PORT).expect("the Raft port is free");
    let client_endpoint = Endpoint::<ClientCall>::bind(CLIENT_PORT).expect("the port is free");
    let boot = weft::node::incarnation(weft::node::current());
    let recovered = storage::recover(boot).await;
    let mut node = Node::start(config, recovered);
    node.run(&raft_endpoint, &client_endpoint).await;
}

struct Node {
    id: u64,
    peers: Vec<Addr>,
    raw: RawNode<MemStorage>,
    log: Log,
    bugs: Bugs,
    oracle: Oracle,
    /// The replicated state machine.
    data: BTreeMap<Key, Value>,
    /// The result of every write applied, by request id (a retried write is applied once).
    results: BTreeMap<u64, Reply>,
    /// Index of the last entry applied.
    applied: u64,
    /// Clients waiting for their write to be applied, by request id.
    writes: BTreeMap<u64, Vec<ClientCall>>,
    /// Reads waiting for their read index, by request id.
    reads: BTreeMap<u64, ClientCall>,
    /// Reads that know their read index, waiting for it to be applied.
    ready_reads: Vec<(u64, ClientCall)>,
    tick: Duration,
    term: u64,
}

impl Node {
    fn start(config: NodeConfig, recovered: storage::Recovered) -> Node {
        let members = config.members.borrow().clone();
        let voters: Vec<u64> = (1..=members.len() as u64).collect();
        let store = MemStorage::new_with_conf_state(ConfState::from((voters, vec![])));
        {
            let mut core = store.wl();
            core.append(&recovered.entries)
                .expect("recovered entries are contiguous");
            core.set_hardstate(recovered.hard_state.clone());
        }
        let raft_config = raft::Config {
            id: config.id,
            election_tick: ELECTION_TICKS,
            heartbeat_tick: HEARTBEAT_TICKS,
            min_election_tick: ELECTION_TICKS,
            max_election_tick: ELECTION_TICKS + 1,
            max_inflight_msgs: 256,
            // Small limits, as a real deployment sets them: a leader that cannot make
            // progress must not build ever larger messages and logs.
            max_size_per_msg: 16 << 10,
            max_uncommitted_size: 64 << 10,
            // As TiKV runs it: a node whose log is behind (back from a partition) asks
            // before it bumps the term. Without pre-vote, a node with the shortest timeout
            // and a stale log campaigns again and again, every other node steps down at each
            // of its higher terms and never times out itself, and no leader is ever elected
            // (weft's liveness phase found it once the election timeouts were not random).
            pre_vote: true,
            ..raft::Config::default()
        };
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&raft_config, store, &logger).expect("a valid Raft config");
        let term = raw.raft.term;
        Node {
            id: config.id,
            peers: members.iter().map(|n| Addr::new(*n, RAFT_PORT)).collect(),
            raw,
            log: recovered.log,
            bugs: config.bugs,
            oracle: config.oracle,
            data: BTreeMap::new(),
            results: BTreeMap::new(),
            applied: 0,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            ready_reads: Vec::new(),
            tick: draw_tick(config.id),
            term,
        }
    }

    async fn run(&mut self, raft: &Endpoint<Message>, clients: &Endpoint<ClientCall>) {
        let mut next_tick = weft::time::Instant::now().after(self.tick);
        loop {
            match next_event(raft, clients, next_tick).await {
                Event::Raft(message) => self.step(message),
                Event::Client(call) => self.on_client(call),
                Event::Tick => {
                    self.raw.tick();
                    next_tick = weft::time::Instant::now().after(self.tick);
                }
            }
            while let Some((_, message)) = raft.try_recv() {
                self.step(message);
            }
            self.handle_ready(raft).await;
            if self.raw.raft.term != self.term {
                self.term = self.raw.raft.term;
                self.tick = draw_tick(self.id);
            }
            if self.raw.raft.state == StateRole::Leader {
                let log = &self.raw.raft.raft_log;
                let log_term = |index| log.term(index).unwrap_or(0);
                self.oracle.leader(self.raw.raft.term, self.id, log_term);
            }
        }
    }

    fn step(&mut self, message: Message) {
        // Errors are messages from unknown peers or stale ones: dropped, as the crate says.
        let _ = self.raw.step(message);
    }

    fn on_client(&mut self, call: ClientCall) {
        if self.raw.raft.state != StateRole::Leader {
            let leader = self.raw.raft.leader_id;
            call.reply(Reply::NotLeader((leader != 0).then_some(leader)));
            return;
        }
        let ClientRequest { id, op } = call.body;
        if let Some(result) = self.results.get(&id) {
            call.reply(*result);
        } else if op.is_write() {
            // Proposed again on every attempt: an earlier proposal may have been lost with a
            // leader; the id makes sure only the first copy in the log takes effect.
            if self.raw.propose(vec![], encode(id, op)).is_err() {
                call.reply(Reply::NotLeader(None));
                return;
            }
            self.writes.entry(id).or_default().push(call);
        } else {
            self.raw.read_index(id.to_le_bytes().to_vec());
            self.reads.insert(id, call);
        }
    }

    fn send(&self, raft: &Endpoint<Message>, messages: Vec<Message>) {
        for message in messages {
            let to = self.peers[(message.get_to() - 1) as usize];
            raft.send(to, message);
        }
    }

    async fn handle_ready(&mut self, raft: &Endpoint<Message>) {
        if !self.raw.has_ready() {
            return;
        }
        let early = self.bugs.has(Bug::ApplyBeforeCommit);
        let mut ready = self.raw.ready();
        self.send(raft, ready.take_messages());
        for state in ready.take_read_states() {
            let id = u64::from_le_bytes(state.request_ctx[..8].try_into().expect("8 bytes"));
            if let Some(call) = self.reads.remove(&id) {
                self.ready_reads.push((state.index, call));
            }
        }
        let entries = ready.take_entries();
        if early {
            // The mistake: what was appended is applied, committed or not.
            for entry in &entries {
                self.apply_entry(entry);
            }
        }
        self.apply(ready.take_committed_entries());
        let sync_hard_state = !self.bugs.has(Bug::VoteNotPersisted);
        self.log
            .persist(&entries, ready.hs(), sync_hard_state)
            .await;
        {
            let store = self.raw.mut_store();
            let mut core = store.wl();
            core.append(&entries).expect("entries follow the log");
            if let Some(hs) = ready.hs() {
                core.set_hardstate(hs.clone());
            }
        }
        self.send(raft, ready.take_persisted_messages());
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.raw
                .mut_store()
                .wl()
                .mut_hard_state()
                .set_commit(commit);
        }
        self.send(raft, light.take_messages());
        self.apply(light.take_committed_entries());
        self.raw.advance_apply();
        self.answer_reads();
    }

    /// Applies committed entries not applied yet.
    fn apply(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            if entry.get_index() > self.applied {
                self.apply_entry(&entry);
            }
        }
    }

    fn apply_entry(&mut self, entry: &Entry) {
        assert_eq!(
            entry.get_entry_type(),
            EntryType::EntryNormal,
            "no conf changes"
        );
        let (index, term, data) = (entry.get_index(), entry.get_term(), entry.get_data());
        self.oracle
            .applied(self.id, self.raw.raft.term, index, term, data);
        self.applied = index;
        let Some((id, op)) = decode(data) else {
            return; // a new leader's empty entry
        };
        let result = match self.results.get(&id) {
            Some(result) => *result,
            None => {
                let result = self.execute(op);
                self.results.insert(id, result);
                result
            }
        };
        for call in self.writes.remove(&id).unwrap_or_default() {
            call.reply(result);
        }
    }

    fn execute(&mut self, op: Op) -> Reply {
        match op {
            Op::Put { key, value } => {
                self.data.insert(key, value);
                Reply::Written
            }
            Op::Cas { key, from, to } => {
                let swapped = self.data.get(&key).copied() == from;
                if swapped {
                    self.data.insert(key, to);
                }
                Reply::Swapped(swapped)
            }
            Op::Get { key } => Reply::Value(self.data.get(&key).copied()),
        }
    }

    fn answer_reads(&mut self) {
        let applied = self.applied;
        let (done, waiting) = std::mem::take(&mut self.ready_reads)
            .into_iter()
            .partition(|(index, _)| *index <= applied);
        self.ready_reads = waiting;
        for (_, call) in done {
            let Op::Get { key } = call.body.op else {
                unreachable!("only reads wait for a read index")
            };
            call.reply(Reply::Value(self.data.get(&key).copied()));
        }
    }
}

/// A tick length: a decision, offset by the node's id (see the module's documentation).
fn draw_tick(id: u64) -> Duration {
    let n = TICK_US.len() as u64;
    Duration::from_micros(TICK_US[((weft::rand::below(n) + id) % n) as usize])
}

/// The next thing to do: a Raft message, a client request, or the tick at `next_tick`.
async fn next_event(
    raft: &Endpoint<Message>,
    clients: &Endpoint<ClientCall>,
    next_tick: weft::time::Instant,
) -> Event {
    let mut raft_recv = raft.recv();
    let mut client_recv = clients.recv();
    let mut tick = weft::time::sleep_until(next_tick);
    poll_fn(|cx| {
        if let Poll::Ready((_, message)) = Pin::new(&mut raft_recv).poll(cx) {
            return Poll::Ready(Event::Raft(message));
        }
        if let Poll::Ready((_, call)) = Pin::new(&mut client_recv).poll(cx) {
            return Poll::Ready(Event::Client(call));
        }
        if Pin::new(&mut tick).poll(cx).is_ready() {
            return Poll::Ready(Event::Tick);
        }
        Poll::Pending
    })
    .await
}

/// An entry's data: the request id and the operation.
pub fn encode(id: u64, op: Op) -> Vec<u8> {
    let mut out = id.to_le_bytes().to_vec();
    match op {
        Op::Put { key, value } => {
            out.extend([1, key]);
            out.extend(value.to_le_bytes());
        }
        Op::Cas { key, from, to } => {
            out.extend([2, key]);
            out.extend(from.map_or(u64::MAX, u64::from).to_le_bytes());
            out.extend(to.to_le_bytes());
        }
        Op::Get { key } => out.extend([3, key]),
    }
    out
}

/// The request id and operation in an entry's data (`None` for an empty entry).
pub fn decode(data: &[u8]) -> Option<(u64, Op)> {
    let id = u64::from_le_bytes(data.get(..8)?.try_into().ok()?);
    let (kind, key) = (*data.get(8)?, *data.get(9)?);
    let u32_at = |at: usize| Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?));
    let op = match kind {
        1 => Op::Put {
            key,
            value: u32_at(10)?,
        },
        2 => {
            let from = u64::from_le_bytes(data.get(10..18)?.try_into().ok()?);
            Op::Cas {
                key,
                from: u32::try_from(from).ok(),
                to: u32_at(18)?,
            }
        }
        _ => Op::Get { key },
    };
    Some((id, op))
}
