//! Dotted version vectors: descends, merge (sync), siblings from concurrent writes, a
//! read-modify-write superseding what it read, pruning, and the planted bugs' clock variants.

use weft_kv::{Actor, Context, Dvv, PruneLimits, PruneOrder};

type V = Dvv<&'static str>;

fn actor(node: u32) -> Actor {
    Actor { node, epoch: 0 }
}

fn put(dvv: &V, context: &Context, value: &'static str, node: u32) -> V {
    let counter = dvv.counter(actor(node)).max(context.get(actor(node))) + 1;
    dvv.update(context, value, actor(node), counter, u64::from(node))
}

fn values(dvv: &V) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = dvv.values().into_iter().copied().collect();
    out.sort();
    out
}

#[test]
fn concurrent_puts_give_siblings_and_a_read_modify_write_supersedes_them() {
    let empty = V::new();
    let a = put(&empty, &Context::default(), "a", 1);
    let both = put(&a, &Context::default(), "b", 1);
    assert_eq!(values(&both), ["a", "b"], "a blind write is concurrent");
    let merged = put(&both, &both.context(), "ab", 2);
    assert_eq!(values(&merged), ["ab"]);
    assert!(merged.descends(&both) && !both.descends(&merged));
}

#[test]
fn a_stale_context_supersedes_only_what_it_saw() {
    let x = put(&V::new(), &Context::default(), "x", 1);
    let seen_x = x.context();
    let a = put(&x, &seen_x, "a", 1);
    let seen_a = a.context();
    let ab = put(&a, &seen_x, "b", 2);
    assert_eq!(values(&ab), ["a", "b"]);
    // The writer who saw `a` supersedes `a` but not `b` (a DVV tracks dots per value).
    let c = put(&ab, &seen_a, "c", 1);
    assert_eq!(values(&c), ["b", "c"]);
}

#[test]
fn sync_is_a_join_commutative_idempotent_and_keeps_unseen_values() {
    let base = put(&V::new(), &Context::default(), "x", 1);
    let left = put(&base, &base.context(), "l", 1);
    let right = put(&base, &base.context(), "r", 2);
    let lr = left.sync(&right);
    assert_eq!(lr, right.sync(&left));
    assert_eq!(lr.sync(&lr), lr);
    assert_eq!(values(&lr), ["l", "r"], "x is superseded on both sides");
    assert!(lr.descends(&left) && lr.descends(&right));
    assert!(!left.descends(&right) && !right.descends(&left));
    // A replica that missed everything cannot bring back what both sides superseded.
    assert_eq!(lr.sync(&base), lr);
}

#[test]
fn a_value_superseded_on_one_replica_is_dropped_by_sync() {
    let base = put(&V::new(), &Context::default(), "x", 1);
    let newer = put(&base, &base.context(), "y", 2);
    assert_eq!(values(&newer.sync(&base)), ["y"]);
    assert_eq!(values(&base.sync(&newer)), ["y"]);
}

#[test]
fn per_replica_clocks_grow_siblings_where_dots_do_not() {
    // Two clients alternate read-modify-writes, each writing with the context of its own
    // previous read (riak_test #383's interleaving).
    let (mut dvv, mut vv) = (V::new(), V::new());
    let (mut ctx_dvv, mut ctx_vv) = (
        [Context::default(), Context::default()],
        [Context::default(), Context::default()],
    );
    let names = ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3"];
    for (i, value) in names.into_iter().enumerate() {
        let client = i % 2;
        let counter = dvv.counter(actor(1)) + 1;
        dvv = dvv.update(&ctx_dvv[client], value, actor(1), counter, 0);
        ctx_dvv[client] = dvv.context();
        let counter = vv.counter(actor(1)) + 1;
        vv = vv.update_per_replica(&ctx_vv[client], value, actor(1), counter, 0);
        ctx_vv[client] = vv.context();
    }
    assert!(
        dvv.values().len() <= 2,
        "dots: at most one sibling per writer: {dvv:?}"
    );
    assert!(
        vv.values().len() > 4,
        "per-replica clocks: siblings pile up: {vv:?}"
    );
}

#[test]
fn pruning_removes_old_bare_entries_and_the_bug_removes_the_youngest() {
    let mut dvv = V::new();
    for node in 1..=5 {
        let ctx = dvv.context();
        let counter = dvv.counter(actor(node)) + 1;
        dvv = dvv.update(&ctx, "v", actor(node), counter, u64::from(node) * 1_000);
    }
    assert_eq!(dvv.entries().len(), 5);
    let limits = PruneLimits {
        small: 3,
        big: 4,
        young_ns: 500,
        old_ns: 10_000,
    };
    let correct = dvv.prune(limits, 6_000, PruneOrder::OldestFirst);
    let kept: Vec<u32> = correct.entries().iter().map(|e| e.actor.node).collect();
    assert_eq!(
        kept,
        [2, 3, 4, 5],
        "the oldest bare entry goes, down to `big`"
    );
    let buggy = dvv.prune(limits, 6_000, PruneOrder::YoungestFirst);
    let kept: Vec<u32> = buggy.entries().iter().map(|e| e.actor.node).collect();
    assert_eq!(kept, [1, 2, 3, 5], "the youngest bare entry goes");
    assert_eq!(values(&correct), ["v"]);
    let young = dvv.prune(limits, 1_200, PruneOrder::OldestFirst);
    assert_eq!(young, dvv, "nothing older than young_ns: no pruning");
}

#[test]
fn keep_one_marks_the_other_siblings_seen() {
    let both = put(
        &put(&V::new(), &Context::default(), "a", 1),
        &Context::default(),
        "b",
        2,
    );
    let one = both.keep_one();
    assert_eq!(one.values().len(), 1);
    assert_eq!(one.context(), both.context());
    assert_eq!(
        one.sync(&both).values().len(),
        1,
        "the merge drops the other sibling"
    );
}

#[test]
fn objects_encode_canonically() {
    use weft_kv::codec::{Decoder, Encoder};
    use weft_kv::Object;
    let mut dvv: Dvv<Option<Vec<u8>>> = Dvv::new();
    dvv = dvv.update(&Context::default(), Some(b"a".to_vec()), actor(1), 1, 7);
    dvv = dvv.update(&Context::default(), None, actor(2), 1, 8);
    let object = Object::Causal(dvv);
    let mut e = Encoder::default();
    object.encode(&mut e);
    let decoded = Object::decode(&mut Decoder::new(&e.bytes)).unwrap();
    assert_eq!(decoded, object);
    assert_eq!(decoded.hash(), object.hash());
    assert_eq!(object.values(), [b"a".to_vec()]);
    assert!(!object.is_tombstone());
    let lww = Object::Lww {
        stamp: 5,
        value: None,
    };
    let mut e = Encoder::default();
    lww.encode(&mut e);
    assert_eq!(
        Object::decode(&mut Decoder::new(&e.bytes)),
        Some(lww.clone())
    );
    let later = Object::Lww {
        stamp: 6,
        value: Some(b"x".to_vec()),
    };
    assert_eq!(lww.sync(&later), later, "last write wins");
}

#[test]
fn entries_learned_from_a_context_are_stamped_when_learned_so_pruning_keeps_them() {
    // Another replica holds actor 1's value (written at time 1_000); this replica never saw
    // it, but the client's context did. The write that supersedes it learns actor 1's entry
    // from the context: stamped with the write's time, it is young and pruning keeps it, so
    // the replica holding the value sees it superseded instead of bringing it back.
    let elsewhere = V::new().update(&Context::default(), "old", actor(1), 1, 1_000);
    let here = V::new().update(&Context::default(), "x", actor(3), 1, 1_000);
    let context = elsewhere.sync(&here).context();
    let written = here.update(&context, "new", actor(2), 1, 50_000);
    let learned = written.entries().iter().find(|e| e.actor == actor(1));
    assert_eq!(learned.map(|e| e.stamp), Some(50_000));
    let limits = PruneLimits {
        small: 1,
        big: 1,
        young_ns: 10_000,
        old_ns: u64::MAX,
    };
    let pruned = written.prune(limits, 55_000, PruneOrder::OldestFirst);
    let kept: Vec<u32> = pruned.entries().iter().map(|e| e.actor.node).collect();
    assert_eq!(kept, [1, 2], "only the old entry of actor 3 goes");
    assert_eq!(
        values(&pruned.sync(&elsewhere)),
        ["new"],
        "the old value stays superseded"
    );
}
