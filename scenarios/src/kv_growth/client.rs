//! The growth's clients: each adds unique elements to random keys by read-modify-write (read
//! the siblings, merge them, add the element, write with the read's context) through a random
//! member, and books how every add ended.

use super::{pick, Cluster};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;
use weft::task::{self, JoinHandle};
use weft::time;
use weft_kv::Kv;

/// Elements of one client are `id * ELEMENTS_MAX + i`: unique across clients.
const ELEMENTS_MAX: u32 = 1_000_000;

/// How an add ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The write was acknowledged: the element must survive.
    Acked,
    /// The write failed or timed out: the element may or may not be there.
    Unknown,
    /// The read before the write failed: nothing was written.
    NotWritten,
}

/// One add.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Add {
    pub key: usize,
    pub element: u32,
    pub outcome: Outcome,
}

/// Every add of every client.
#[derive(Default)]
pub(crate) struct Book {
    pub adds: Vec<Add>,
}

impl Book {
    /// Adds that ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.adds.iter().filter(|a| a.outcome == outcome).count()
    }

    /// Elements of `key` whose add was acknowledged, and every element an add may have written.
    pub fn elements(&self, key: usize) -> (BTreeSet<u32>, BTreeSet<u32>) {
        let (mut acked, mut attempted) = (BTreeSet::new(), BTreeSet::new());
        for add in self.adds.iter().filter(|a| a.key == key) {
            if add.outcome != Outcome::NotWritten {
                attempted.insert(add.element);
            }
            if add.outcome == Outcome::Acked {
                acked.insert(add.element);
            }
        }
        (acked, attempted)
    }

    /// Keys with an acknowledged add.
    pub fn written_keys(&self) -> BTreeSet<usize> {
        let acked = self.adds.iter().filter(|a| a.outcome == Outcome::Acked);
        acked.map(|a| a.key).collect()
    }
}

/// The name of key `key`.
pub(crate) fn key_name(key: usize) -> String {
    format!("k{key}")
}

/// A set as the store holds it: its elements, comma-separated.
fn encode(set: &BTreeSet<u32>) -> Vec<u8> {
    let items: Vec<String> = set.iter().map(u32::to_string).collect();
    items.join(",").into_bytes()
}

/// The elements of a stored set.
pub(crate) fn decode(bytes: &[u8]) -> BTreeSet<u32> {
    let text = String::from_utf8_lossy(bytes);
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

/// One read-modify-write adding `element` to `key`.
async fn add(kv: Kv, key: &str, element: u32) -> Outcome {
    let Ok(read) = kv.get(key).await else {
        return Outcome::NotWritten;
    };
    let mut set: BTreeSet<u32> = read.values.iter().flat_map(|v| decode(v)).collect();
    set.insert(element);
    match kv.put(key, encode(&set), &read.context).await {
        Ok(()) => Outcome::Acked,
        Err(_) => Outcome::Unknown,
    }
}

/// One client: adds until the growth is over, with a random pause between adds.
async fn client(cluster: Rc<Cluster>, id: u32, keys: usize) -> Vec<Add> {
    let mut adds = Vec::new();
    for i in 0..ELEMENTS_MAX {
        if cluster.done.get() {
            break;
        }
        let via = pick(&cluster.joined.borrow());
        let key = weft::rand::below(keys as u64) as usize;
        let element = id * ELEMENTS_MAX + i;
        let outcome = add(Kv::connect(via), &key_name(key), element).await;
        adds.push(Add {
            key,
            element,
            outcome,
        });
        time::sleep(Duration::from_millis(weft::rand::range(20..100))).await;
    }
    adds
}

/// The running clients.
pub(crate) struct Clients {
    tasks: Vec<JoinHandle<Vec<Add>>>,
}

impl Clients {
    /// Starts `count` clients adding to `keys` keys.
    pub fn start(cluster: Rc<Cluster>, count: usize, keys: usize) -> Clients {
        let tasks = (1..=count as u32)
            .map(|id| task::spawn_named(format!("client {id}"), client(cluster.clone(), id, keys)))
            .collect();
        Clients { tasks }
    }

    /// Waits for every client to finish its last add (they stop once the growth is over).
    pub async fn stop(self) -> Book {
        let mut book = Book::default();
        for task in self.tasks {
            match task.await {
                Ok(adds) => book.adds.extend(adds),
                Err(e) => weft::fail(format!("a client task ended early: {e:?}")),
            }
        }
        book
    }
}
