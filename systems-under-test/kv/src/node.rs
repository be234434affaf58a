//! A node of the store: its configuration, its state, start-up (recovery, then serving) and
//! the dispatch of requests. Every node runs the same code: it coordinates clients' requests,
//! is a replica for the partitions it owns, and runs gossip, handoff and anti-entropy.

use crate::bugs::{Bug, Bugs};
use crate::object::Object;
use crate::protocol::{Dump, Msg, Reply, KV_PORT};
use crate::ring::Ring;
use crate::storage::Storage;
use crate::version::{Actor, PruneLimits};
use crate::{aae, coordinator, gossip, handoff, replica};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;
use weft::net::{Addr, Endpoint, Request};
use weft::NodeId;
use weft::{task, time};

/// How often the background activities run and how long requests wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// A coordinator's wait for replicas (and every node-to-node call).
    pub request: Duration,
    /// Between two gossip rounds of a node.
    pub gossip: Duration,
    /// Between two handoff passes of a node.
    pub handoff: Duration,
    /// Between two anti-entropy exchanges started by a node.
    pub aae: Duration,
    /// After an acknowledged delete, before its coordinator tries to reap the tombstone.
    pub delete_delay: Duration,
    /// How long a node that did not answer is passed over for fallbacks.
    pub suspect: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            request: Duration::from_millis(100),
            gossip: Duration::from_millis(100),
            handoff: Duration::from_millis(100),
            aae: Duration::from_millis(100),
            delete_delay: Duration::from_millis(300),
            suspect: Duration::from_millis(300),
        }
    }
}

/// A node's configuration (every node of a cluster gets the same, but for `seed`).
#[derive(Clone, Debug)]
pub struct KvConfig {
    /// The members of the initial ring.
    pub members: Vec<NodeId>,
    /// For a node that is not an initial member: the node it asks to join through.
    pub seed: Option<NodeId>,
    /// Partitions in the ring (default 64).
    pub partition_count: usize,
    /// Replicas per key, N (default 3).
    pub n_val: usize,
    /// Planted bugs (none by default).
    pub bugs: Bugs,
    /// Intervals and timeouts.
    pub timing: Timing,
    /// When version vectors are pruned.
    pub prune: PruneLimits,
}

impl Default for KvConfig {
    fn default() -> Self {
        KvConfig {
            members: Vec::new(),
            seed: None,
            partition_count: 64,
            n_val: 3,
            bugs: Bugs::none(),
            timing: Timing::default(),
            prune: PruneLimits {
                small: 10,
                big: 20,
                young_ns: 1_000_000_000,
                old_ns: 60_000_000_000,
            },
        }
    }
}

/// One replica (or fallback) a coordinator sends to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub node: NodeId,
    pub primary: bool,
}

/// A node's mutable state. Never borrowed across an await.
pub(crate) struct State {
    pub actor: Actor,
    /// The highest counter this actor has issued in this life.
    pub counter: u64,
    /// Per key, the highest dot this actor issued for it.
    pub issued: BTreeMap<String, u64>,
    pub ring: Ring,
    pub objects: BTreeMap<String, Object>,
    /// Changes made to `objects` in this life (anti-entropy skips peers it found equal since).
    pub changes: u64,
    /// Nodes that did not answer, and until when they are passed over (simulated ns).
    pub suspects: BTreeMap<NodeId, u64>,
    /// Reply addresses of recent writes and events (each call has its own), oldest first:
    /// a duplicated request is dropped, so one write makes one event.
    pub recent: VecDeque<Addr>,
}

/// Requests remembered for deduplication.
const RECENT_MAX: usize = 1024;

/// A running node.
pub(crate) struct Node {
    pub config: KvConfig,
    pub me: NodeId,
    pub storage: Storage,
    pub state: RefCell<State>,
}

/// The address of `node`'s store.
pub fn addr(node: NodeId) -> Addr {
    Addr::new(node, KV_PORT)
}

impl Node {
    pub fn bug(&self, bug: Bug) -> bool {
        self.config.bugs.has(bug)
    }

    pub fn ring(&self) -> Ring {
        self.state.borrow().ring.clone()
    }

    pub fn is_primary(&self, key: &str) -> bool {
        let state = self.state.borrow();
        state.ring.is_primary_for(key, self.config.n_val, self.me)
    }

    pub fn suspect(&self, node: NodeId) {
        if node != self.me {
            let until = time::now_ns() + self.config.timing.suspect.as_nanos() as u64;
            self.state.borrow_mut().suspects.insert(node, until);
        }
    }

    pub fn trust(&self, node: NodeId) {
        self.state.borrow_mut().suspects.remove(&node);
    }

    /// The sloppy preference list: the primaries not suspected, and for each suspected one
    /// the next fallback not suspected.
    pub fn targets(&self, key: &str) -> Vec<Target> {
        let state = self.state.borrow();
        let now = time::now_ns();
        let suspect = |node: &NodeId| state.suspects.get(node).is_some_and(|until| *until > now);
        let n = self.config.n_val;
        let order = state.ring.walk_from(state.ring.partition_of(key));
        let (primaries, fallbacks) = order.split_at(n.min(order.len()));
        let mut targets: Vec<Target> = Vec::with_capacity(n);
        let mut missing = 0;
        for node in primaries {
            if suspect(node) {
                missing += 1;
            } else {
                targets.push(Target {
                    node: *node,
                    primary: true,
                });
            }
        }
        let up = fallbacks.iter().filter(|f| !suspect(f)).take(missing);
        targets.extend(up.map(|node| Target {
            node: *node,
            primary: false,
        }));
        targets
    }

    fn dump(&self) -> Dump {
        let state = self.state.borrow();
        let n = self.config.n_val;
        let objects = state
            .objects
            .iter()
            .map(|(k, o)| {
                let primary = state.ring.is_primary_for(k, n, self.me);
                (k.clone(), o.clone(), primary)
            })
            .collect();
        Dump {
            node: self.me,
            actor: state.actor,
            ring: state.ring.clone(),
            objects,
        }
    }
}

/// A node's start-up code: recover from disk, then serve until the node crashes.
pub async fn serve(config: KvConfig) {
    let reuse = config.bugs.has(Bug::ActorReuseAfterDiskLoss);
    let recovered = loop {
        match Storage::open(reuse).await {
            Ok(recovered) => break recovered,
            Err(_) => time::sleep(Duration::from_millis(10)).await,
        }
    };
    let me = weft::node::current();
    let state = State {
        actor: Actor {
            node: me.index() as u32,
            epoch: recovered.epoch,
        },
        counter: 0,
        issued: BTreeMap::new(),
        ring: recovered
            .ring
            .filter(|r| r.partition_count() == config.partition_count)
            .unwrap_or_else(|| Ring::new(config.partition_count, &config.members)),
        objects: recovered.objects,
        changes: 0,
        suspects: BTreeMap::new(),
        recent: VecDeque::new(),
    };
    let node = Rc::new(Node {
        config,
        me,
        storage: recovered.storage,
        state: RefCell::new(state),
    });
    let endpoint =
        Endpoint::<Request<Msg, Reply>>::bind(KV_PORT).expect("the store's port is free");
    task::spawn_named("background", background(node.clone()));
    if node.config.seed.is_some() {
        task::spawn_named("join", gossip::join_loop(node.clone()));
    }
    loop {
        let (_, request) = endpoint.recv().await;
        dispatch(&node, request);
    }
}

/// A node's background work, each at its own interval: gossip, handoff and anti-entropy
/// rounds, one after the other in one task (one timer for the three).
async fn background(node: Rc<Node>) {
    let timing = node.config.timing.clone();
    let (mut gossip, mut aae) = (gossip::Gossip::default(), aae::Aae::default());
    let start = time::now_ns();
    let nanos = |d: Duration| d.as_nanos() as u64;
    let mut due = [
        start + nanos(timing.gossip),
        start + nanos(timing.handoff),
        start + nanos(timing.aae),
    ];
    loop {
        let next = due.iter().copied().min().expect("three");
        let now = time::now_ns();
        if next > now {
            time::sleep(Duration::from_nanos(next - now)).await;
        }
        let now = time::now_ns();
        if due[0] <= now {
            gossip.round(&node).await;
            due[0] += nanos(timing.gossip).max(1);
        }
        if due[1] <= now {
            handoff::pass(&node).await;
            due[1] = time::now_ns() + nanos(timing.handoff).max(1);
        }
        if due[2] <= now {
            aae.round(&node).await;
            due[2] = time::now_ns() + nanos(timing.aae).max(1);
        }
    }
}

/// Whether `request` is a duplicate of a write or event already taken (the network may
/// duplicate messages); remembers it otherwise.
fn is_duplicate(node: &Node, request: &Request<Msg, Reply>) -> bool {
    if !matches!(request.body, Msg::Put { .. } | Msg::Coordinate { .. }) {
        return false;
    }
    let mut state = node.state.borrow_mut();
    let from = request.reply_to();
    if state.recent.contains(&from) {
        return true;
    }
    if state.recent.len() == RECENT_MAX {
        state.recent.pop_front();
    }
    state.recent.push_back(from);
    false
}

fn dispatch(node: &Rc<Node>, mut request: Request<Msg, Reply>) {
    if is_duplicate(node, &request) {
        return;
    }
    let n = node.clone();
    // The body is taken (the request is kept only to reply to).
    match std::mem::replace(&mut request.body, Msg::Dump) {
        Msg::Get { key, r, pr } => {
            task::spawn_named("get", coordinator::get(n, request, key, r, pr));
        }
        Msg::Put {
            key,
            value,
            context,
            w,
            pw,
        } => {
            let write = coordinator::Write {
                key,
                value,
                context,
                w,
                pw,
            };
            task::spawn_named("put", coordinator::put(n, request, write));
        }
        Msg::Coordinate {
            key,
            value,
            context,
        } => {
            task::spawn_named("coordinate", async move {
                let reply = replica::coordinate(&n, &key, value, &context).await;
                request.reply(reply);
            });
        }
        Msg::Store { key, object } => {
            task::spawn_named("store", async move {
                request.reply(replica::store(&n, &key, &object).await)
            });
        }
        Msg::Reap { key, object } => {
            task::spawn_named("reap", async move {
                request.reply(replica::reap(&n, &key, &object).await)
            });
        }
        Msg::Fetch { key } => request.reply(replica::fetch(node, &key)),
        Msg::Gossip(ring) => request.reply(gossip::receive(node, ring)),
        Msg::Join(joiner) => {
            task::spawn_named("join", async move {
                request.reply(gossip::join(&n, joiner).await)
            });
        }
        Msg::Leave(leaver) => {
            task::spawn_named("leave", async move {
                request.reply(gossip::leave(&n, leaver).await)
            });
        }
        Msg::Exchange { partitions, hashes } => {
            request.reply(aae::diff(node, &partitions, &hashes));
        }
        Msg::Dump => request.reply(Reply::Dump(node.dump())),
    }
}

/// Adds `count` nodes (named a, b, c, ...) forming the initial ring, each running [`serve`]
/// with `config` (its `members` filled in).
pub fn add_cluster(sim: &mut weft::Sim, count: usize, config: KvConfig) -> Vec<NodeId> {
    let members: Rc<RefCell<Vec<NodeId>>> = Rc::new(RefCell::new(Vec::new()));
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let (members, config) = (members.clone(), config.clone());
        let node = sim.add_node(&node_name(i), move || {
            let mut config = config.clone();
            config.members = members.borrow().clone();
            serve(config)
        });
        nodes.push(node);
    }
    *members.borrow_mut() = nodes.clone();
    nodes
}

/// Adds a node that is not in the initial ring; it joins through `config.seed` when the
/// simulation starts.
pub fn add_joiner(sim: &mut weft::Sim, name: &str, config: KvConfig) -> NodeId {
    assert!(config.seed.is_some(), "a joiner needs a seed");
    sim.add_node(name, move || serve(config.clone()))
}

/// The name of the `i`-th node of a cluster: a, b, c, ..., then n26, n27, ...
pub fn node_name(i: usize) -> String {
    if i < 26 {
        ((b'a' + i as u8) as char).to_string()
    } else {
        format!("n{i}")
    }
}
