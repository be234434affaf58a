//! The `kv-growth` scenario, after the talks' story of a Riak cluster grown from 11 to about 80
//! nodes in a month: a cluster of the store ([`weft_kv`]) grows from 11 to 80 nodes one join
//! at a time while clients keep adding unique elements to a set of keys by read-modify-write
//! through random coordinators, with background crashes, pauses and partitions (the
//! simulator's fault injector) and message loss, duplication and reordering, disk errors and
//! torn writes.
//!
//! Every node that will ever join is added to the simulation at the start but stays dormant
//! (its start-up code returns at once) until the driver admits it: then it starts, and the
//! driver asks a random member to add it to the ring (`Kv::join`), waits (bounded) for the
//! ring to reach every live member and for ownership handoff to drain, and goes on with the
//! next. A supervisor restarts crashed nodes and resumes paused ones after half a second and
//! repairs every partition each two seconds, as an operator would: without it, faults pile up
//! over a run of minutes, since the injector restarts a random node, rarely the crashed one.
//!
//! At the end every fault heals and stops (`weft::fault::calm`) and the cluster must come to
//! rest within a bound; then: every acknowledged element is in the merged read of its key and
//! nothing never added is; every partition's preference list has N distinct live members and
//! each primary of every key written holds that key; no node owns more than 1.5 times its fair
//! share of the ring; and the ring has all 80 members.

mod check;
mod client;

use client::{Book, Clients};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::Run;
use weft::NodeId;
use weft::{net, node, task, time, Config, Detail, Sim, Source};
use weft_kv::{Dump, Kv, KvConfig};

/// Nodes in the initial ring.
pub const NODES_START: usize = 11;
/// Nodes once the growth is over.
pub const NODES_END: usize = 80;
/// Partitions in the ring. The default 64 cannot be shared by 80 nodes: the fair share is
/// 0.8 of a partition, so 16 nodes would own nothing (and hold no data), and a join into a
/// ring of 64 or more members takes nothing at all (a newcomer claims `64 / members`
/// partitions, rounded down). Riak's advice is at least ten partitions per node, hence 1024
/// (12.8 per node at 80 nodes; a node may own at most 19).
pub const PARTITIONS: usize = 1024;
/// Client tasks writing during the growth.
const CLIENTS: usize = 3;
/// Keys the clients add elements to.
const KEYS: usize = 24;
/// How long a crashed or paused node stays down before the supervisor brings it back.
const DOWN_MAX: Duration = Duration::from_millis(500);
/// How often the supervisor repairs every partition.
const REPAIR_EVERY: Duration = Duration::from_secs(2);
/// Between two background fault ticks.
const FAULT_INTERVAL: Duration = Duration::from_millis(100);
/// How long the driver waits for one join to settle before it goes on.
const SETTLE_MAX: Duration = Duration::from_secs(10);
/// How long the cluster has to come to rest once faults stop.
const REST_MAX: Duration = Duration::from_secs(60);
/// Between two polls of the cluster's state.
const POLL: Duration = Duration::from_millis(200);
/// A dump request's wait (short: a dump is answered at once by a node that is up).
const DUMP_TIMEOUT: Duration = Duration::from_millis(200);

/// What a run of the growth ended with (when it got to the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grown {
    /// Members in the final ring.
    pub members: usize,
    /// Ring version at the end.
    pub ring_version: u64,
    /// Most partitions any node owns at the end.
    pub owned_max: usize,
    /// Fewest partitions any node owns at the end.
    pub owned_min: usize,
    /// Adds acknowledged.
    pub acked: usize,
    /// Adds whose outcome is unknown.
    pub unknown: usize,
    /// Adds that failed before writing.
    pub not_written: usize,
    /// Joins that had to be asked again because the ring lost them.
    pub rejoins: usize,
    /// Joins after which the cluster had not settled within `SETTLE_MAX` (the driver went on).
    pub unsettled: usize,
    /// Crashed or paused nodes the supervisor brought back.
    pub restarts: usize,
    /// Simulated time when the growth was over (before the final checks).
    pub grown_at_ns: u64,
}

/// The cluster being grown, shared by the driver, the clients and the supervisor.
pub(crate) struct Cluster {
    /// Every node of the run, initial ones first.
    all: Vec<NodeId>,
    /// Nodes allowed to run (the initial ones and those admitted so far).
    admitted: Rc<RefCell<BTreeSet<NodeId>>>,
    /// Nodes the driver has joined (clients pick coordinators among them).
    joined: RefCell<Vec<NodeId>>,
    /// Set when the growth is over: clients and the supervisor stop.
    done: Cell<bool>,
    rejoins: Cell<usize>,
    unsettled: Cell<usize>,
    restarts: Cell<usize>,
}

/// The simulation: faults on for the whole growth (the final phase calls `calm`).
pub fn config(detail: Detail) -> Config {
    let mut cfg = Config::chaos();
    cfg.faults.interval_ns = FAULT_INTERVAL.as_nanos() as u64;
    cfg.faults.until_ns = cfg.sim_time_max_ns;
    cfg.buggify = false;
    cfg.steps_max = 200_000_000;
    cfg.tasks_max = 20_000_000;
    cfg.detail = detail;
    cfg
}

/// Adds the 80 nodes: the first 11 form the ring, the others are dormant until admitted.
fn add_nodes(sim: &mut Sim, admitted: &Rc<RefCell<BTreeSet<NodeId>>>) -> Vec<NodeId> {
    let initial: Vec<NodeId> = (1..=NODES_START as u32)
        .map(|i| NodeId::from_index(i as usize))
        .collect();
    let config = KvConfig {
        members: initial.clone(),
        partition_count: PARTITIONS,
        ..KvConfig::default()
    };
    let mut all = Vec::with_capacity(NODES_END);
    for i in 0..NODES_END {
        let (config, admitted) = (config.clone(), admitted.clone());
        let node = sim.add_node(&weft_kv::node_name(i), move || {
            let (config, admitted) = (config.clone(), admitted.clone());
            async move {
                if admitted.borrow().contains(&node::current()) {
                    weft_kv::serve(config).await;
                }
            }
        });
        all.push(node);
    }
    assert_eq!(all[..NODES_START], initial[..], "the initial ring's ids");
    admitted.borrow_mut().extend(initial.iter().copied());
    all
}

/// Runs the growth from `source`; returns the run and, if it got to the end, what it ended
/// with.
pub fn grow(source: Source, detail: Detail) -> (Run, Option<Grown>) {
    let mut sim = Sim::new(config(detail), source);
    let admitted = Rc::new(RefCell::new(BTreeSet::new()));
    let all = add_nodes(&mut sim, &admitted);
    let cluster = Rc::new(Cluster {
        joined: RefCell::new(all[..NODES_START].to_vec()),
        all,
        admitted,
        done: Cell::new(false),
        rejoins: Cell::new(0),
        unsettled: Cell::new(0),
        restarts: Cell::new(0),
    });
    let (report, grown) = sim.run(drive(cluster));
    (Run::plain(report), grown)
}

/// The driver: clients and the supervisor in the background, the joins one by one, then the
/// final phase.
async fn drive(cluster: Rc<Cluster>) -> Grown {
    let clients = Clients::start(cluster.clone(), CLIENTS, KEYS);
    let supervisor = task::spawn_named("supervisor", supervise(cluster.clone()));
    for index in NODES_START..NODES_END {
        let newcomer = cluster.all[index];
        join_one(&cluster, newcomer).await;
        settle(&cluster, newcomer).await;
    }
    let grown_at_ns = time::now_ns();
    cluster.done.set(true);
    let book = clients.stop().await;
    let _ = supervisor.await;
    weft::fault::calm();
    let dumps = check::rest(&cluster, REST_MAX).await;
    check::all(&cluster, &book, &dumps).await;
    summary(&cluster, &book, &dumps, grown_at_ns)
}

fn summary(cluster: &Cluster, book: &Book, dumps: &[Dump], grown_at_ns: u64) -> Grown {
    let ring = &dumps[0].ring;
    let owned = ring.owned_counts();
    Grown {
        members: ring.members().len(),
        ring_version: ring.version().0,
        owned_max: owned.values().copied().max().unwrap_or(0),
        owned_min: owned.values().copied().min().unwrap_or(0),
        acked: book.count(client::Outcome::Acked),
        unknown: book.count(client::Outcome::Unknown),
        not_written: book.count(client::Outcome::NotWritten),
        rejoins: cluster.rejoins.get(),
        unsettled: cluster.unsettled.get(),
        restarts: cluster.restarts.get(),
        grown_at_ns,
    }
}

/// A random node of `nodes` (a decision of the run).
pub(crate) fn pick(nodes: &[NodeId]) -> NodeId {
    nodes[weft::rand::below(nodes.len() as u64) as usize]
}

/// Starts `newcomer` and asks random members to add it to the ring until one answers.
async fn join_one(cluster: &Cluster, newcomer: NodeId) {
    cluster.admitted.borrow_mut().insert(newcomer);
    // Dormant, its start-up code returned (and the injector may have paused or crashed it):
    // crash it, then restart it so that its start-up code runs again, now admitted.
    node::crash(newcomer);
    time::sleep(Duration::from_millis(1)).await;
    node::restart(newcomer);
    ask_join(cluster, newcomer).await;
    cluster.joined.borrow_mut().push(newcomer);
}

/// Asks random members to add `newcomer` until one answers (bounded).
async fn ask_join(cluster: &Cluster, newcomer: NodeId) {
    for _ in 0..200 {
        let via = pick(&cluster.joined.borrow());
        if Kv::connect(via).join(newcomer).await.is_ok() {
            return;
        }
        time::sleep(POLL).await;
    }
    weft::fail(format!(
        "{}: no member answered its join in 200 tries",
        node::name(newcomer)
    ));
}

/// Waits (at most `SETTLE_MAX`) until every live member holds the newest ring, which counts
/// `newcomer` in, and no live node holds a key it is not a primary of (ownership and hinted
/// handoff drained). If the newest ring lost the join (a ring change made on a node that then
/// restarted with an older ring), asks again.
async fn settle(cluster: &Cluster, newcomer: NodeId) {
    let start = time::now_ns();
    while time::now_ns() - start < SETTLE_MAX.as_nanos() as u64 {
        time::sleep(POLL).await;
        let joined = cluster.joined.borrow().clone();
        let dumps = dump_live(&joined).await;
        let Some(newest) = dumps.iter().map(|d| &d.ring).max_by_key(|r| r.version()) else {
            continue;
        };
        if !newest.is_member(newcomer) {
            cluster.rejoins.set(cluster.rejoins.get() + 1);
            ask_join(cluster, newcomer).await;
            continue;
        }
        let agreed = dumps.iter().all(|d| d.ring == *newest);
        let drained = dumps.iter().all(|d| d.objects.iter().all(|(_, _, p)| *p));
        if agreed && drained {
            return;
        }
    }
    cluster.unsettled.set(cluster.unsettled.get() + 1);
}

/// The dumps of the nodes of `nodes` that answer within `DUMP_TIMEOUT`, asked at once.
pub(crate) async fn dump_live(nodes: &[NodeId]) -> Vec<Dump> {
    let asks: Vec<_> = nodes
        .iter()
        .filter(|n| node::is_up(**n))
        .map(|n| {
            let kv = Kv::connect(*n).with_timeout(DUMP_TIMEOUT);
            task::spawn(async move { kv.dump().await })
        })
        .collect();
    let mut dumps = Vec::with_capacity(asks.len());
    for ask in asks {
        if let Ok(Ok(dump)) = ask.await {
            dumps.push(dump);
        }
    }
    dumps
}

/// The supervisor: brings back nodes down for `DOWN_MAX` and repairs every partition each
/// `REPAIR_EVERY`, until the growth is over.
async fn supervise(cluster: Rc<Cluster>) {
    let mut down_since: BTreeMap<NodeId, u64> = BTreeMap::new();
    let mut repaired_at = time::now_ns();
    while !cluster.done.get() {
        time::sleep(Duration::from_millis(100)).await;
        let now = time::now_ns();
        for node in &cluster.all {
            if node::is_up(*node) {
                down_since.remove(node);
                continue;
            }
            let since = *down_since.entry(*node).or_insert(now);
            if now - since >= DOWN_MAX.as_nanos() as u64 {
                node::restart(*node);
                node::resume(*node);
                down_since.remove(node);
                if cluster.admitted.borrow().contains(node) {
                    cluster.restarts.set(cluster.restarts.get() + 1);
                }
            }
        }
        if now - repaired_at >= REPAIR_EVERY.as_nanos() as u64 {
            net::repair_all();
            repaired_at = now;
        }
    }
}

/// The kv-growth scenario.
pub struct KvGrowth;

impl Scenario for KvGrowth {
    fn name(&self) -> &'static str {
        "kv-growth"
    }

    fn about(&self) -> &'static str {
        "the store grown from 11 to 80 nodes one join at a time under writes, crashes and partitions"
    }

    fn run(&self, setup: &Setup, source: Source) -> Run {
        grow(source, setup.detail).0
    }
}
