//! The growth's final checks, once every fault has healed: the cluster comes to rest (bounded),
//! then nothing acknowledged is lost, every partition has N live replicas, the ring is
//! balanced and has every node.

use super::client::{decode, key_name, Book};
use super::{dump_live, Cluster, NODES_END, POLL};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use weft::{node, time, NodeId};
use weft_kv::{Dump, Kv, Object, ReadOptions, Ring};

/// Replicas per key (the store's default N).
const N: usize = 3;

/// Waits until the cluster is at rest (see [`at_rest`]), at most `bound`; fails the run if it
/// does not get there. Returns every node's dump at rest.
pub(super) async fn rest(cluster: &Cluster, bound: Duration) -> Vec<Dump> {
    let start = time::now_ns();
    loop {
        let dumps = dump_live(&cluster.all).await;
        let why = match at_rest(&dumps) {
            Ok(()) => return dumps,
            Err(why) => why,
        };
        if time::now_ns() - start >= bound.as_nanos() as u64 {
            weft::fail(format!(
                "not at rest {} after every fault healed: {why}",
                weft::internals::format_ns(bound.as_nanos() as u64)
            ));
        }
        time::sleep(POLL).await;
    }
}

/// At rest: every node answers and holds the same ring, no node holds a key it is not a
/// primary of, and every key's N primaries hold the same object.
fn at_rest(dumps: &[Dump]) -> Result<(), String> {
    if dumps.len() != NODES_END {
        return Err(format!("{} of {NODES_END} nodes answered", dumps.len()));
    }
    if let Some(d) = dumps.iter().find(|d| d.ring != dumps[0].ring) {
        return Err(format!(
            "{} holds {:?}, {} holds {:?}",
            node::name(d.node),
            d.ring,
            node::name(dumps[0].node),
            dumps[0].ring
        ));
    }
    let mut copies: BTreeMap<&str, Vec<(NodeId, &Object)>> = BTreeMap::new();
    for dump in dumps {
        for (key, object, primary) in &dump.objects {
            if !*primary {
                return Err(format!(
                    "{} still holds a hint for {key}",
                    node::name(dump.node)
                ));
            }
            copies.entry(key).or_default().push((dump.node, object));
        }
    }
    for (key, holders) in copies {
        if holders.len() != N || holders.iter().any(|(_, o)| *o != holders[0].1) {
            let who: Vec<String> = holders.iter().map(|(n, _)| node::name(*n)).collect();
            return Err(format!(
                "{key}'s copies differ or are not {N}: {}",
                who.join(", ")
            ));
        }
    }
    Ok(())
}

/// Every check at rest.
pub(super) async fn all(cluster: &Cluster, book: &Book, dumps: &[Dump]) {
    let ring = &dumps[0].ring;
    membership(cluster, ring);
    balance(ring);
    replicas(book, ring, dumps);
    for key in 0..super::KEYS {
        elements(cluster, book, key).await;
    }
}

/// The ring has exactly the 80 nodes of the run.
fn membership(cluster: &Cluster, ring: &Ring) {
    let all: BTreeSet<NodeId> = cluster.all.iter().copied().collect();
    let members: BTreeSet<NodeId> = ring.members().iter().copied().collect();
    let missing: Vec<String> = all.difference(&members).map(|n| node::name(*n)).collect();
    weft::ensure!(
        members == all,
        "the final ring has {} members, not {NODES_END}: missing {missing:?}",
        members.len()
    );
}

/// No node owns more than 1.5 times its fair share of the partitions.
fn balance(ring: &Ring) {
    let fair = ring.partition_count() as f64 / ring.members().len() as f64;
    for (node, owned) in ring.owned_counts() {
        weft::ensure!(
            owned as f64 <= 1.5 * fair,
            "{} owns {owned} of {} partitions, more than 1.5 times its fair share {fair:.1}",
            node::name(node),
            ring.partition_count()
        );
    }
}

/// Every partition's preference list has N distinct live members, and each primary of every
/// key written holds that key.
fn replicas(book: &Book, ring: &Ring, dumps: &[Dump]) {
    for partition in 0..ring.partition_count() {
        let list = ring.preflist(partition, N);
        let distinct: BTreeSet<&NodeId> = list.iter().collect();
        let live = list.iter().all(|n| ring.is_member(*n) && node::is_up(*n));
        weft::ensure!(
            distinct.len() == N && live,
            "partition {partition}'s preference list is {list:?}: not {N} distinct live members"
        );
    }
    let held: BTreeMap<NodeId, BTreeSet<&str>> = dumps
        .iter()
        .map(|d| {
            (
                d.node,
                d.objects.iter().map(|(k, _, _)| k.as_str()).collect(),
            )
        })
        .collect();
    for key in book.written_keys() {
        let name = key_name(key);
        for primary in ring.preflist_for(&name, N) {
            weft::ensure!(
                held[&primary].contains(name.as_str()),
                "{name}'s primary {} does not hold it",
                node::name(primary)
            );
        }
    }
}

/// The merged read of `key` (all N primaries, through the first node that answers) holds
/// every acknowledged element and nothing never added.
async fn elements(cluster: &Cluster, book: &Book, key: usize) {
    let options = ReadOptions { r: N, pr: N };
    let mut read = None;
    for via in &cluster.all {
        if let Ok(r) = Kv::connect(*via).get_with(&key_name(key), options).await {
            read = Some(r);
            break;
        }
    }
    let Some(read) = read else {
        weft::fail(format!(
            "no node could read k{key} from its {N} primaries at rest"
        ));
    };
    let found: BTreeSet<u32> = read.values.iter().flat_map(|v| decode(v)).collect();
    let (acked, attempted) = book.elements(key);
    let lost: Vec<&u32> = acked.difference(&found).collect();
    weft::ensure!(
        lost.is_empty(),
        "k{key} lost acknowledged elements {lost:?} ({} acknowledged, {} read)",
        acked.len(),
        found.len()
    );
    let phantom: Vec<&u32> = found.difference(&attempted).collect();
    weft::ensure!(
        phantom.is_empty(),
        "k{key} holds never-added elements {phantom:?}"
    );
}
