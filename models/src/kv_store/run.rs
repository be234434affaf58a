//! Running the set-add model's commands against a real cluster of the store.

use super::{KvCmd, KvResult, KEYS, NODES};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;
use weft::task::JoinHandle;
use weft::NodeId;
use weft::{net, node, task, time, Sim};
use weft_kv::{Bugs, Context, Kv, KvConfig, ReadOptions, WriteOptions};

/// How an add ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The write was acknowledged: the element must survive.
    Acked,
    /// The write failed or timed out: the element may or may not be there.
    Unknown,
    /// The read before the write failed: nothing was written.
    NotWritten,
}

/// What the test knows about the elements of each key.
#[derive(Default)]
struct Book {
    running: Vec<(u8, u32, JoinHandle<Outcome>)>,
    acked: BTreeMap<u8, BTreeSet<u32>>,
    attempted: BTreeMap<u8, BTreeSet<u32>>,
    unknown: usize,
    probes: usize,
}

/// The system under test: the cluster's nodes and the book of adds.
#[derive(Clone)]
pub struct KvSystem {
    nodes: Vec<NodeId>,
    book: Rc<RefCell<Book>>,
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
async fn add(kv: Kv, key: String, element: u32, blind: bool) -> Outcome {
    let read = if blind {
        weft_kv::ReadResult {
            values: Vec::new(),
            context: Default::default(),
        }
    } else {
        match kv.get(&key).await {
            Ok(read) => read,
            Err(_) => return Outcome::NotWritten,
        }
    };
    let mut set: BTreeSet<u32> = read.values.iter().flat_map(|v| decode(v)).collect();
    set.insert(element);
    match kv.put(&key, encode(&set), &read.context).await {
        Ok(()) => Outcome::Acked,
        Err(_) => Outcome::Unknown,
    }
}

impl KvSystem {
    pub(super) fn new(sim: &mut Sim, bugs: Bugs) -> KvSystem {
        let config = KvConfig {
            bugs,
            ..KvConfig::default()
        };
        KvSystem {
            nodes: weft_kv::add_cluster(sim, usize::from(NODES), config),
            book: Rc::new(RefCell::new(Book::default())),
        }
    }

    pub(super) async fn run(&self, command: &KvCmd) -> KvResult {
        match command {
            KvCmd::Add { key, via, element } | KvCmd::BlindAdd { key, via, element } => {
                let kv = Kv::connect(self.nodes[usize::from(*via)]);
                let blind = matches!(command, KvCmd::BlindAdd { .. });
                let handle = task::spawn(add(kv, key_name(*key), *element, blind));
                let mut book = self.book.borrow_mut();
                book.attempted.entry(*key).or_default().insert(*element);
                book.running.push((*key, *element, handle));
            }
            KvCmd::Crash { node } => self.crash(*node, false).await,
            KvCmd::LoseDisk { node } => self.crash(*node, true).await,
            KvCmd::Isolate { node } => {
                let node = self.nodes[usize::from(*node)];
                net::isolate(node);
                task::spawn(async move {
                    time::sleep(Duration::from_millis(200)).await;
                    net::repair_all();
                });
            }
            KvCmd::Check => return self.check().await,
        }
        KvResult::Ok
    }

    /// Crashes a node (after wiping its disk, for a disk loss) and restarts it 50 ms later;
    /// the adds in flight go on meanwhile.
    async fn crash(&self, index: u8, lose_disk: bool) {
        let node = self.nodes[usize::from(index)];
        if lose_disk && node::is_up(node) {
            let wipe = task::spawn_on(node, "lose disk", weft_kv::lose_disk());
            let _ = wipe.await;
        }
        node::crash(node);
        time::sleep(Duration::from_millis(50)).await;
        node::restart(node);
    }

    async fn settle_adds(&self) {
        let running = std::mem::take(&mut self.book.borrow_mut().running);
        for (key, element, handle) in running {
            let outcome = handle.await.unwrap_or(Outcome::Unknown);
            let mut book = self.book.borrow_mut();
            match outcome {
                Outcome::Acked => {
                    book.acked.entry(key).or_default().insert(element);
                }
                Outcome::Unknown => book.unknown += 1,
                Outcome::NotWritten => {}
            }
        }
    }

    fn heal(&self) {
        net::repair_all();
        for node in &self.nodes {
            if !node::is_up(*node) {
                node::resume(*node);
                node::restart(*node);
            }
        }
    }

    async fn check(&self) -> KvResult {
        self.settle_adds().await;
        self.heal();
        // Past the fault window: background faults stop, and heal, at its end.
        let end = Duration::from_nanos(super::chaos().faults.until_ns);
        let now = Duration::from_nanos(time::now_ns());
        time::sleep(end.saturating_sub(now) + Duration::from_millis(10)).await;
        self.heal();
        let mut problems = Vec::new();
        if let Err(why) = self.converge().await {
            problems.push(why);
        }
        if let Err(why) = self.sibling_probe().await {
            problems.push(why);
        }
        if let Err(why) = self.quorum_probe().await {
            problems.push(why);
        }
        let mut summary = Vec::new();
        let mut lost_keys = Vec::new();
        for key in 0..KEYS {
            let (found, siblings) = self.read(key).await;
            let book = self.book.borrow();
            let acked = book.acked.get(&key).cloned().unwrap_or_default();
            let attempted = book.attempted.get(&key).cloned().unwrap_or_default();
            let lost: Vec<&u32> = acked.difference(&found).collect();
            let phantom: Vec<&u32> = found.difference(&attempted).collect();
            if !lost.is_empty() {
                problems.push(format!("k{key} lost acknowledged elements {lost:?}"));
                lost_keys.push(key);
            }
            if !phantom.is_empty() {
                problems.push(format!("k{key} holds never-added elements {phantom:?}"));
            }
            summary.push(format!(
                "k{key}: acked {acked:?}, read {found:?} ({siblings} siblings)"
            ));
        }
        for key in lost_keys {
            problems.push(format!("k{key}'s copies: {}", self.copies(key).await));
        }
        let unknown = self.book.borrow().unknown;
        KvResult::Checked {
            problems,
            summary: format!("{}; {unknown} adds of unknown outcome", summary.join(", ")),
        }
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
    async fn read(&self, key: u8) -> (BTreeSet<u32>, usize) {
        let options = ReadOptions { r: 2, pr: 2 };
        for _ in 0..20 {
            for node in &self.nodes {
                if let Ok(read) = Kv::connect(*node).get_with(&key_name(key), options).await {
                    let set = read.values.iter().flat_map(|v| decode(v)).collect();
                    return (set, read.values.len());
                }
            }
            time::sleep(Duration::from_millis(100)).await;
        }
        (BTreeSet::new(), 0)
    }

    /// Waits (up to 5 s) until every primary of every key holds the same object and no node
    /// holds a key it is not a primary for.
    async fn converge(&self) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..50 {
            time::sleep(Duration::from_millis(100)).await;
            match self.diverged().await {
                None => return Ok(()),
                Some(why) => last = why,
            }
        }
        Err(format!("replicas did not converge after healing: {last}"))
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
