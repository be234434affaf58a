//! Running the set-add model's commands against a real cluster of the store.

use super::{Clients, KvCmd, KvResult, KEYS, NODES};

/// When the cluster is up and clients start (simulated time).
const STARTUP_NS: u64 = 10_000_000;

/// Heals every partition `ms` milliseconds from now.
fn heal_after(ms: u16) {
    task::spawn(async move {
        time::sleep(Duration::from_millis(u64::from(ms))).await;
        net::repair_all();
    });
}
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;
use weft::task::JoinHandle;
use weft::NodeId;
use weft::{net, node, task, time, Sim};
use weft_kv::{Bugs, Context, Kv, KvConfig, ReadOptions, WriteOptions};

/// How a write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The write was acknowledged.
    Acked,
    /// The write failed or timed out: it may or may not have taken effect.
    Unknown,
    /// The read before the write failed: nothing was written.
    NotWritten,
}

/// What a background operation writes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Write {
    /// Adds this element.
    Add(u32),
    /// Deletes the key; the elements its read saw.
    Delete(BTreeSet<u32>),
}

/// A background operation once it ended.
#[derive(Clone, Debug)]
struct Done {
    key: u8,
    write: Write,
    outcome: Outcome,
    /// Simulated time of its start and its end.
    start: u64,
    end: u64,
}

/// A background operation still running: its key, start, and task (which returns what it
/// wrote, how that ended, and when).
type Running = (u8, u64, JoinHandle<(Write, Outcome, u64)>);

/// What the test knows of the operations it started.
#[derive(Default)]
struct Book {
    running: Vec<Running>,
    done: Vec<Done>,
    probes: usize,
}

impl Book {
    fn on_key(&self, key: u8) -> impl Iterator<Item = &Done> {
        self.done.iter().filter(move |d| d.key == key)
    }

    /// Elements added to `key` whose write was acknowledged, and every element any add tried.
    fn adds(&self, key: u8) -> (BTreeSet<u32>, BTreeSet<u32>) {
        let (mut acked, mut attempted) = (BTreeSet::new(), BTreeSet::new());
        for d in self.on_key(key) {
            if let Write::Add(e) = d.write {
                attempted.insert(e);
                if d.outcome == Outcome::Acked {
                    acked.insert(e);
                }
            }
        }
        (acked, attempted)
    }

    /// When the add of `element` to `key` started.
    fn add_start(&self, key: u8, element: u32) -> Option<u64> {
        self.on_key(key)
            .find(|d| d.write == Write::Add(element))
            .map(|d| d.start)
    }

    /// Elements of `key` that a delete which may have taken effect saw.
    fn deleted(&self, key: u8) -> BTreeSet<u32> {
        self.on_key(key)
            .filter(|d| d.outcome != Outcome::NotWritten)
            .filter_map(|d| match &d.write {
                Write::Delete(seen) => Some(seen.clone()),
                Write::Add(_) => None,
            })
            .flatten()
            .collect()
    }

    /// The acknowledged delete that must have emptied `key`: the last operation on it, every
    /// other operation (adds and earlier deletes) ended with a known outcome before it
    /// started, and its read saw every acknowledged element that no earlier acknowledged
    /// delete saw. (Every version written then descends from one it read, so its context
    /// covers them all.)
    fn final_delete(&self, key: u8) -> Option<&Done> {
        let last = self.on_key(key).max_by_key(|d| d.start)?;
        let Write::Delete(seen) = &last.write else {
            return None;
        };
        let earlier = || self.on_key(key).filter(|d| !std::ptr::eq(*d, last));
        let alone = earlier().all(|d| d.end < last.start && d.outcome != Outcome::Unknown);
        let deleted_before: BTreeSet<u32> = earlier()
            .filter(|d| d.outcome == Outcome::Acked)
            .filter_map(|d| match &d.write {
                Write::Delete(seen) => Some(seen.iter().copied()),
                Write::Add(_) => None,
            })
            .flatten()
            .collect();
        let (acked, _) = self.adds(key);
        let saw_all = acked
            .iter()
            .all(|e| seen.contains(e) || deleted_before.contains(e));
        (last.outcome == Outcome::Acked && alone && saw_all).then_some(last)
    }
}

/// The merged read of a key at rest.
#[derive(Default)]
struct Found {
    /// The union of the siblings' elements.
    elements: BTreeSet<u32>,
    /// How many values.
    siblings: usize,
    /// Whether a tombstone is among the siblings.
    deleted: bool,
}

/// The system under test: the cluster's nodes and the book of operations.
#[derive(Clone)]
pub struct KvSystem {
    nodes: Vec<NodeId>,
    book: Rc<RefCell<Book>>,
    clients: Clients,
}

fn key_name(key: u8) -> String {
    format!("k{key}")
}

/// A set as the store holds it: its elements, comma-separated.
fn encode(set: &BTreeSet<u32>) -> Vec<u8> {
    let items: Vec<String> = set.iter().map(u32::to_string).collect();
    items.join(",").into_bytes()
}

fn decode(bytes: &[u8]) -> BTreeSet<u32> {
    let text = String::from_utf8_lossy(bytes);
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

/// One read-modify-write: read the siblings, merge them, add `element`, write with the
/// read's context; or, `blind`, write `{element}` with an empty context.
async fn add(kv: Kv, key: String, element: u32, blind: bool) -> (Write, Outcome) {
    let write = Write::Add(element);
    let read = if blind {
        weft_kv::ReadResult {
            values: Vec::new(),
            context: Default::default(),
            deleted: false,
        }
    } else {
        match kv.get(&key).await {
            Ok(read) => read,
            Err(_) => return (write, Outcome::NotWritten),
        }
    };
    let mut set: BTreeSet<u32> = read.values.iter().flat_map(|v| decode(v)).collect();
    set.insert(element);
    match kv.put(&key, encode(&set), &read.context).await {
        Ok(()) => (write, Outcome::Acked),
        Err(_) => (write, Outcome::Unknown),
    }
}

/// Reads `key` and deletes what was read, with the read's context.
async fn delete(kv: Kv, key: String) -> (Write, Outcome) {
    let Ok(read) = kv.get(&key).await else {
        return (Write::Delete(BTreeSet::new()), Outcome::NotWritten);
    };
    let seen = read.values.iter().flat_map(|v| decode(v)).collect();
    let outcome = match kv.delete(&key, &read.context).await {
        Ok(()) => Outcome::Acked,
        Err(_) => Outcome::Unknown,
    };
    (Write::Delete(seen), outcome)
}

impl KvSystem {
    pub(super) fn new(sim: &mut Sim, bugs: Bugs, clients: Clients) -> KvSystem {
        let mut config = KvConfig {
            bugs,
            ..KvConfig::default()
        };
        config.prune = super::PRUNE;
        // A node that did not answer is passed over for a second (longer partitions keep
        // it suspected: every call that fails again renews it), as a failure detector that
        // marks a node down until it is seen again would.
        config.timing.suspect = Duration::from_secs(1);
        // Tombstones are reaped 100 ms after the delete (retried up to four times), within
        // the partitions of a case, so a delete's tombstone may be reaped on the primaries
        // that saw it while a fallback holds it for a primary cut off.
        config.timing.delete_delay = Duration::from_millis(100);
        // The ring never changes in these cases (no join or leave), so gossip every second
        // only confirms it and feeds the failure detector; handoff and anti-entropy every
        // 300 ms still converge well within the liveness bound (a node meets each of its four
        // peers within 1.2 s). The store's defaults (100 ms each) cost twice the steps.
        config.timing.gossip = Duration::from_secs(1);
        config.timing.handoff = Duration::from_millis(300);
        config.timing.aae = Duration::from_millis(300);
        KvSystem {
            nodes: weft_kv::add_cluster(sim, usize::from(NODES), config),
            book: Rc::new(RefCell::new(Book::default())),
            clients,
        }
    }

    pub(super) async fn run(&self, command: &KvCmd) -> KvResult {
        // Clients start once the cluster is up: each node replays its log from disk first.
        let now = time::now_ns();
        if now < STARTUP_NS {
            time::sleep(Duration::from_nanos(STARTUP_NS - now)).await;
        }
        match command {
            KvCmd::Add { key, via, element } | KvCmd::BlindAdd { key, via, element } => {
                let kv = Kv::connect(self.nodes[usize::from(*via)]);
                let blind = matches!(command, KvCmd::BlindAdd { .. });
                let name = format!("add {element}");
                self.start(*key, name, add(kv, key_name(*key), *element, blind));
            }
            KvCmd::Delete { key, via } => {
                let kv = Kv::connect(self.nodes[usize::from(*via)]);
                let name = format!("delete k{key}");
                self.start(*key, name, delete(kv, key_name(*key)));
            }
            KvCmd::Crash { node } => self.crash(&[*node], false).await,
            KvCmd::LoseDisk { node } => self.crash(&[*node], true).await,
            KvCmd::PowerLoss => {
                let all: Vec<u8> = (0..NODES).collect();
                self.crash(&all, false).await;
            }
            KvCmd::Wait { ms } => time::sleep(Duration::from_millis(u64::from(*ms))).await,
            KvCmd::Isolate { node, ms } => {
                net::isolate(self.nodes[usize::from(*node)]);
                heal_after(*ms);
            }
            KvCmd::Split { a, b, ms } => {
                let minority = [self.nodes[usize::from(*a)], self.nodes[usize::from(*b)]];
                let rest: Vec<NodeId> = self
                    .nodes
                    .iter()
                    .copied()
                    .filter(|n| !minority.contains(n))
                    .collect();
                net::split(&[&minority, &rest]);
                heal_after(*ms);
            }
        }
        if self.clients == Clients::Sequential {
            // The next command starts once this one's operation ended.
            self.settle_ops().await;
        }
        KvResult
    }

    /// Starts `op` on `key` in the background.
    fn start(
        &self,
        key: u8,
        name: String,
        op: impl std::future::Future<Output = (Write, Outcome)> + 'static,
    ) {
        let handle = task::spawn_named(name, async move {
            let (write, outcome) = op.await;
            (write, outcome, time::now_ns())
        });
        let now = time::now_ns();
        self.book.borrow_mut().running.push((key, now, handle));
    }

    /// Crashes nodes (after wiping the disk, for a disk loss) and restarts them 50 ms later;
    /// the operations in flight go on meanwhile.
    async fn crash(&self, indices: &[u8], lose_disk: bool) {
        let nodes: Vec<NodeId> = indices
            .iter()
            .map(|i| self.nodes[usize::from(*i)])
            .collect();
        for node in &nodes {
            if lose_disk && node::is_up(*node) {
                let wipe = task::spawn_on(*node, "lose disk", weft_kv::lose_disk());
                let _ = wipe.await;
            }
            node::crash(*node);
        }
        time::sleep(Duration::from_millis(50)).await;
        for node in nodes {
            node::restart(node);
        }
    }

    /// Waits for every background operation to end (their requests time out), noting how.
    pub(super) async fn settle_ops(&self) {
        let running = std::mem::take(&mut self.book.borrow_mut().running);
        for (key, start, handle) in running {
            // An operation never fails to end (its requests time out); if its task did, its
            // write may have happened at any time.
            let (write, outcome, end) = handle.await.unwrap_or((
                Write::Delete(BTreeSet::new()),
                Outcome::Unknown,
                u64::MAX,
            ));
            let done = Done {
                key,
                write,
                outcome,
                start,
                end,
            };
            self.book.borrow_mut().done.push(done);
        }
    }

    /// Convergence: every primary of every key holds the same object, and no node holds a
    /// key it is not a primary for (every hint was handed off).
    pub(super) async fn converged(&self) -> Result<(), String> {
        match self.diverged().await {
            None => Ok(()),
            Some(why) => Err(format!("replicas did not converge: {why}")),
        }
    }

    /// The checks at rest: every key's elements, then the sibling bound and quorum
    /// intersection probes.
    pub(super) async fn check_at_rest(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut summary = Vec::new();
        for key in 0..KEYS {
            let read = self.read(key).await;
            let mut wrong = self.judge(key, &read);
            let (found, siblings) = (read.elements, read.siblings);
            if !wrong.is_empty() {
                wrong.push(format!("k{key}'s copies: {}", self.copies(key).await));
            }
            problems.extend(wrong);
            let (acked, _) = self.book.borrow().adds(key);
            summary.push(format!(
                "k{key}: acked {acked:?}, read {found:?} ({siblings} siblings)"
            ));
        }
        if let Err(why) = self.sibling_probe().await {
            problems.push(why);
        }
        if let Err(why) = self.quorum_probe().await {
            problems.push(why);
        }
        if problems.is_empty() {
            return Ok(());
        }
        let clocks = self.clocks().await;
        let book = self.book.borrow();
        let unknown = book.done.iter().filter(|d| d.outcome == Outcome::Unknown);
        Err(format!(
            "{}; {}; {} writes of unknown outcome{clocks}",
            problems.join("; "),
            summary.join(", "),
            unknown.count()
        ))
    }

    /// How the nodes' wall clocks (what a last-write-wins write is stamped with) differ from
    /// the first node's, as "; clocks: d's runs 2ms ahead of a's", or "" when they agree to
    /// the millisecond.
    async fn clocks(&self) -> String {
        let mut offsets = Vec::new();
        for node in &self.nodes {
            let read = task::spawn_on(*node, "clock", async {
                weft::time::wall_clock_ns() as i128 - i128::from(time::now_ns())
            });
            offsets.push((*node, read.await.ok()));
        }
        let Some((first, Some(base))) = offsets.first().copied() else {
            return String::new();
        };
        let skewed: Vec<String> = offsets
            .iter()
            .filter_map(|(node, offset)| {
                let ms = (offset.as_ref()? - base) as f64 / 1e6;
                let way = if ms > 0.0 { "ahead of" } else { "behind" };
                (ms.abs() >= 1.0).then(|| {
                    format!(
                        "{}'s runs {:.0}ms {way} {}'s",
                        node::name(*node),
                        ms.abs(),
                        node::name(first)
                    )
                })
            })
            .collect();
        if skewed.is_empty() {
            String::new()
        } else {
            format!("; clocks: {}", skewed.join(", "))
        }
    }

    /// What is wrong with `found`, the merged read of `key` at rest.
    fn judge(&self, key: u8, read: &Found) -> Vec<String> {
        let found = &read.elements;
        let book = self.book.borrow();
        let (acked, attempted) = book.adds(key);
        let deleted = book.deleted(key);
        let mut problems = Vec::new();
        let lost: Vec<&u32> = acked
            .difference(found)
            .filter(|e| !deleted.contains(e))
            .collect();
        if !lost.is_empty() {
            problems.push(format!("k{key} lost acknowledged elements {lost:?}"));
        }
        let phantom: Vec<&u32> = found.difference(&attempted).collect();
        if !phantom.is_empty() {
            problems.push(format!("k{key} holds never-added elements {phantom:?}"));
        }
        let prune_safe_ns = super::prune_safe_ns(&super::chaos());
        let young = |delete: &Done| {
            // Pruning may bring back versions written long enough before the delete
            // (`prune_safe_ns`), as siblings of the delete's tombstone; every element of such
            // a version was added before it.
            !found.is_empty() && !read.deleted
                || found.iter().any(|e| {
                    book.add_start(key, *e)
                        .is_none_or(|start| start.saturating_add(prune_safe_ns) > delete.end)
                })
        };
        if let Some(delete) = book.final_delete(key).filter(|d| young(d)) {
            let why = if read.deleted {
                format!(
                    "some added less than {} before it ended, too recently for clock pruning to bring them back",
                    weft::internals::format_ns(prune_safe_ns)
                )
            } else {
                "and its tombstone is gone".to_string()
            };
            problems.push(format!(
                "k{key} holds {found:?} after an acknowledged delete at {} that saw every write and had nothing concurrent ({why})",
                weft::internals::format_ns(delete.start),
            ));
        }
        problems
    }

    /// The sibling bound (riak_test #383): two clients interleave read-modify-writes on a
    /// fresh key, each writing with the context of its own latest read (strict quorums, so
    /// each read sees every acknowledged write). With dots the key never holds more distinct
    /// values than there are writers. A failed request gives no verdict.
    async fn sibling_probe(&self) -> Result<(), String> {
        let key = {
            let mut book = self.book.borrow_mut();
            book.probes += 1;
            format!("probe{}", book.probes)
        };
        let clients = [Kv::connect(self.nodes[0]), Kv::connect(self.nodes[1])];
        let mut contexts = [Context::default(), Context::default()];
        let strict_write = WriteOptions { w: 2, pw: 2 };
        let strict_read = ReadOptions { r: 2, pr: 2 };
        for round in 0..6u8 {
            let c = usize::from(round % 2);
            let value = Some(format!("{c}.{round}").into_bytes());
            if clients[c]
                .put_with(&key, value, &contexts[c], strict_write)
                .await
                .is_err()
            {
                return Ok(());
            }
            match clients[c].get_with(&key, strict_read).await {
                Ok(read) => contexts[c] = read.context,
                Err(_) => return Ok(()),
            }
        }
        let Ok(read) = clients[0].get_with(&key, strict_read).await else {
            return Ok(());
        };
        let mut values: Vec<String> = read
            .values
            .iter()
            .map(|v| String::from_utf8_lossy(v).to_string())
            .collect();
        values.sort();
        values.dedup();
        if values.len() > 2 {
            return Err(format!(
                "sibling explosion: two writers interleaving read-modify-writes left {} siblings on {key}: {values:?}",
                values.len()
            ));
        }
        Ok(())
    }

    /// Quorum intersection: with PW=2 and PR=2 of N=3 (strict quorums, faults healed), a
    /// read that starts after a write was acknowledged returns it.
    async fn quorum_probe(&self) -> Result<(), String> {
        let key = format!("quorum{}", self.book.borrow().probes);
        let writer = Kv::connect(self.nodes[2]);
        let written = writer
            .put_with(
                &key,
                Some(b"q".to_vec()),
                &Context::default(),
                WriteOptions { w: 2, pw: 2 },
            )
            .await;
        if written.is_err() {
            return Ok(());
        }
        let reader = Kv::connect(self.nodes[3]);
        match reader.get_with(&key, ReadOptions { r: 2, pr: 2 }).await {
            Ok(read) if read.values.is_empty() => Err(format!(
                "quorum intersection: {} acknowledged a write of {key} with PW=2, then a read through {} with PR=2 missed it",
                node::name(writer.node()),
                node::name(reader.node())
            )),
            _ => Ok(()),
        }
    }

    /// Every node's copy of `key`, as text.
    async fn copies(&self, key: u8) -> String {
        let mut out = Vec::new();
        for node in &self.nodes {
            let copy = match Kv::connect(*node).dump().await {
                Ok(dump) => dump
                    .objects
                    .into_iter()
                    .find(|(k, _, _)| *k == key_name(key))
                    .map_or("none".to_string(), |(_, o, _)| format!("{o:?}")),
                Err(_) => "no answer".to_string(),
            };
            out.push(format!("{}: {copy}", node::name(*node)));
        }
        out.join(", ")
    }

    /// The union of the siblings of `key`, read from two primaries (a sloppy read may be
    /// answered by fallbacks that hold nothing yet) through the first node that can.
    async fn read(&self, key: u8) -> Found {
        let options = ReadOptions { r: 2, pr: 2 };
        for _ in 0..20 {
            for node in &self.nodes {
                if let Ok(read) = Kv::connect(*node).get_with(&key_name(key), options).await {
                    return Found {
                        elements: read.values.iter().flat_map(|v| decode(v)).collect(),
                        siblings: read.values.len(),
                        deleted: read.deleted,
                    };
                }
            }
            time::sleep(Duration::from_millis(100)).await;
        }
        Found::default()
    }

    async fn diverged(&self) -> Option<String> {
        let mut copies: BTreeMap<String, Vec<(NodeId, weft_kv::Object)>> = BTreeMap::new();
        for node in &self.nodes {
            let Ok(dump) = Kv::connect(*node).dump().await else {
                return Some(format!("{} did not answer", node::name(*node)));
            };
            for (key, object, primary) in dump.objects {
                if !primary {
                    return Some(format!(
                        "{} still holds a hint for {key}",
                        node::name(*node)
                    ));
                }
                copies.entry(key).or_default().push((*node, object));
            }
        }
        for (key, holders) in copies {
            if holders.len() != 3 || holders.iter().any(|(_, o)| *o != holders[0].1) {
                let who: Vec<String> = holders
                    .iter()
                    .map(|(n, o)| format!("{}: {o:?}", node::name(*n)))
                    .collect();
                return Some(format!("{key} differs: {}", who.join(", ")));
            }
        }
        None
    }
}
