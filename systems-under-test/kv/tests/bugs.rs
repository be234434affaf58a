//! Each planted bug's mechanism, shown on a cluster by a fixed sequence: the same steps are
//! run on the correct store and with the bug switched on, and only the bug loses or corrupts
//! something. (Finding them by search is the `kv` scenario's job.)

mod common;

use common::{copies, placement, run, strings, wait};
use std::time::Duration;
use weft::net;
use weft::node;
use weft_kv::{Bug, Bugs, Context, Kv, KvConfig, KvError};

fn config(bug: Option<Bug>) -> KvConfig {
    let bugs = bug.map_or(Bugs::none(), |b| Bugs::none().with(b));
    KvConfig {
        bugs,
        ..KvConfig::default()
    }
}

/// Runs `steps` on the correct store and with `bug`; returns (correct, buggy) results.
fn both<T: 'static, F: std::future::Future<Output = T> + 'static>(
    count: usize,
    bug: Bug,
    tweak: impl Fn(&mut KvConfig),
    steps: impl Fn(Vec<weft::NodeId>) -> F,
) -> (T, T) {
    let mut correct = config(None);
    tweak(&mut correct);
    let mut buggy = config(Some(bug));
    tweak(&mut buggy);
    (run(count, correct, &steps), run(count, buggy, &steps))
}

#[test]
fn last_write_wins_loses_one_of_two_concurrent_writes() {
    let (correct, buggy) = both(
        3,
        Bug::LastWriteWins,
        |_| {},
        |nodes| async move {
            let (a, b) = (Kv::connect(nodes[0]), Kv::connect(nodes[1]));
            let read = a.get("k").await.unwrap();
            a.put("k", "1", &read.context).await.unwrap();
            b.put("k", "2", &read.context).await.unwrap();
            strings(&a.get("k").await.unwrap().values)
        },
    );
    assert_eq!(
        correct,
        ["1", "2"],
        "siblings keep both acknowledged writes"
    );
    assert_eq!(buggy.len(), 1, "one acknowledged write is gone: {buggy:?}");
}

#[test]
fn ack_before_quorum_acknowledges_a_write_a_quorum_read_misses() {
    let (correct, buggy) = both(
        3,
        Bug::AckBeforeQuorum,
        |_| {},
        |nodes| async move {
            net::partition(nodes[0], nodes[1]);
            net::partition(nodes[0], nodes[2]);
            let put = Kv::connect(nodes[0])
                .put("k", "v", &Context::default())
                .await;
            let read = Kv::connect(nodes[1]).get("k").await.unwrap();
            (put, read.values.len())
        },
    );
    assert_eq!(correct.0, Err(KvError::Unavailable { got: 1, needed: 2 }));
    assert_eq!(
        buggy,
        (Ok(()), 0),
        "acknowledged, yet R=2 of N=3 does not see it"
    );
}

#[test]
fn volatile_hints_lose_a_write_acknowledged_by_fallbacks() {
    let (correct, buggy) = both(
        5,
        Bug::VolatileHints,
        |_| {},
        |nodes| async move {
            let (primaries, fallbacks) = placement(&nodes, "k");
            for p in &primaries {
                for f in &fallbacks {
                    net::partition(*p, *f);
                }
            }
            let kv = Kv::connect(fallbacks[0]);
            let mut acked = false;
            for _ in 0..5 {
                if kv.put("k", "v", &Context::default()).await.is_ok() {
                    acked = true;
                    break;
                }
            }
            assert!(acked, "two fallbacks acknowledge");
            for f in &fallbacks {
                node::crash(*f);
            }
            wait(10).await;
            for f in &fallbacks {
                node::restart(*f);
            }
            net::repair_all();
            wait(2_000).await;
            let mut values = strings(&Kv::connect(primaries[0]).get("k").await.unwrap().values);
            values.dedup(); // each retry of the blind write is a sibling of its own
            values
        },
    );
    assert_eq!(correct, ["v"], "the hints were durable and handed off");
    assert!(
        buggy.is_empty(),
        "the acknowledged write is gone: {buggy:?}"
    );
}

#[test]
fn read_repair_dropping_siblings_erases_an_acknowledged_sibling() {
    let (correct, buggy) = both(
        3,
        Bug::ReadRepairDropsSiblings,
        |_| {},
        |nodes| async move {
            let (a, b) = (Kv::connect(nodes[0]), Kv::connect(nodes[1]));
            let read = a.get("k").await.unwrap();
            a.put("k", "x", &read.context).await.unwrap();
            net::isolate(nodes[2]);
            b.put("k", "y", &read.context).await.unwrap();
            net::repair_all();
            a.get("k").await.unwrap(); // repairs the third replica
            wait(1_000).await; // anti-entropy spreads the repair
            strings(&a.get("k").await.unwrap().values)
        },
    );
    assert_eq!(correct, ["x", "y"]);
    assert_eq!(buggy.len(), 1, "one sibling erased everywhere: {buggy:?}");
}

#[test]
fn handoff_dropping_tombstones_brings_a_deleted_key_back() {
    let tweak = |c: &mut KvConfig| {
        c.timing.delete_delay = Duration::from_millis(100);
        c.timing.suspect = Duration::from_secs(1);
    };
    let (correct, buggy) = both(5, Bug::HandoffDropsTombstones, tweak, |nodes| async move {
        let (primaries, fallbacks) = placement(&nodes, "k");
        let kv = Kv::connect(primaries[0]);
        kv.put("k", "v", &Context::default()).await.unwrap();
        net::isolate(primaries[2]);
        let read = kv.get("k").await.unwrap();
        wait(200).await; // the coordinator passes over the isolated primary from now on
        kv.delete("k", &read.context).await.unwrap();
        assert!(
            copies(&[fallbacks[0]], "k").await[0].is_some(),
            "a hinted tombstone"
        );
        wait(300).await; // reaped on the primaries that saw it; the fallback keeps its hint
        assert!(copies(&[fallbacks[0]], "k").await[0].is_some());
        net::repair_all();
        wait(2_000).await;
        strings(&kv.get("k").await.unwrap().values)
    });
    assert!(correct.is_empty(), "the delete holds: {correct:?}");
    assert_eq!(buggy, ["v"], "the deleted value is back");
}

/// The same loss when the delete's coordinator learns of the cut-off primary only from the
/// delete itself: its reap gives the tombstone to the fallback standing in, then reaps it on
/// the two primaries that saw it, all while the primary is still cut off.
#[test]
fn handoff_dropping_tombstones_after_a_reap_that_gave_the_fallback_its_tombstone() {
    let tweak = |c: &mut KvConfig| {
        c.timing.delete_delay = Duration::from_millis(100);
        c.timing.suspect = Duration::from_secs(1);
    };
    let (correct, buggy) = both(5, Bug::HandoffDropsTombstones, tweak, |nodes| async move {
        let (primaries, fallbacks) = placement(&nodes, "k");
        let kv = Kv::connect(primaries[1]);
        kv.put("k", "v", &Context::default()).await.unwrap();
        wait(10).await;
        net::isolate(primaries[2]);
        let read = kv.get("k").await.unwrap();
        kv.delete("k", &read.context).await.unwrap();
        wait(500).await; // reaped on the primaries that saw it; the fallback keeps its copy
        let held = copies(&[primaries[0], primaries[1], fallbacks[0]], "k").await;
        net::repair_all();
        wait(2_000).await;
        (held, strings(&kv.get("k").await.unwrap().values))
    });
    assert!(correct.1.is_empty(), "the delete holds: {correct:?}");
    assert_eq!(buggy.1, ["v"], "the deleted value is back: {buggy:?}");
}

#[test]
fn actor_reuse_after_disk_loss_drops_a_concurrent_write() {
    let (correct, buggy) = both(
        3,
        Bug::ActorReuseAfterDiskLoss,
        |_| {},
        |nodes| async move {
            let kv = Kv::connect(nodes[0]);
            let empty = kv.get("k").await.unwrap();
            kv.put("k", "x", &empty.context).await.unwrap();
            let seen_x = kv.get("k").await.unwrap().context;
            kv.put("k", "y", &seen_x).await.unwrap(); // one client
            weft::task::spawn_on(nodes[0], "lose disk", weft_kv::lose_disk())
                .await
                .unwrap()
                .unwrap();
            node::crash(nodes[0]);
            wait(1).await;
            node::restart(nodes[0]);
            wait(10).await;
            kv.put("k", "z", &seen_x).await.unwrap(); // another, concurrent with y
            wait(1_000).await;
            strings(&Kv::connect(nodes[1]).get("k").await.unwrap().values)
        },
    );
    assert_eq!(correct, ["y", "z"], "a new actor: the writes are siblings");
    assert_eq!(buggy.len(), 1, "the reused dot hides one write: {buggy:?}");
}

#[test]
fn replica_clocks_grow_siblings_under_interleaved_read_modify_writes() {
    let (correct, buggy) = both(
        3,
        Bug::ReplicaClockSiblings,
        |_| {},
        |nodes| async move {
            let clients = [Kv::connect(nodes[0]), Kv::connect(nodes[1])];
            let mut contexts = [Context::default(), Context::default()];
            for round in 0..8 {
                let c = round % 2;
                let value = format!("{c}-{round}");
                clients[c].put("k", value, &contexts[c]).await.unwrap();
                contexts[c] = clients[c].get("k").await.unwrap().context;
            }
            clients[0].get("k").await.unwrap().values.len()
        },
    );
    assert!(correct <= 2, "at most one sibling per writer: {correct}");
    assert!(buggy > 2, "siblings pile up: {buggy}");
}

#[test]
fn actor_reuse_after_disk_loss_drops_a_blind_write() {
    let (correct, buggy) = both(
        5,
        Bug::ActorReuseAfterDiskLoss,
        |_| {},
        |nodes| async move {
            let (primaries, _) = placement(&nodes, "k");
            let kv = Kv::connect(primaries[0]);
            kv.put("k", "x", &Context::default()).await.unwrap();
            let read = kv.get("k").await.unwrap();
            kv.put("k", "y", &read.context).await.unwrap();
            wait(500).await;
            let wipe = weft::task::spawn_on(primaries[0], "lose disk", weft_kv::lose_disk());
            wipe.await.unwrap().unwrap();
            node::crash(primaries[0]);
            wait(50).await;
            node::restart(primaries[0]);
            wait(10).await;
            kv.put("k", "z", &Context::default()).await.unwrap(); // a blind write
            wait(1_000).await;
            strings(&Kv::connect(primaries[1]).get("k").await.unwrap().values)
        },
    );
    assert_eq!(correct, ["y", "z"]);
    assert_eq!(
        buggy,
        ["y"],
        "the blind write's dot was already seen: {buggy:?}"
    );
}
