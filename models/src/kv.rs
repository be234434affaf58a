//! A key/value map with get, put and append (a missing key reads as `""`), with a compact
//! exact state.
//!
//! [`Kv::compile`] turns operations on strings into operations on small integers. A key's
//! value only matters through the gets that may read it: values that are not a prefix of any
//! string a get returned for that key can never be read again (appends only extend them), so
//! they are all equivalent. Each key's live values are the nodes of a trie of the strings its
//! gets returned, and every other value is one `DEAD` node. A state is one node per key plus
//! an incrementally maintained hash: comparing, hashing and storing it is cheap, and exact.

use std::collections::HashMap; // hygiene: allowed (interning for the checker, outside the simulation; never iterated)
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use weft_lincheck::{Model, Operation};

/// An operation on the map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Read a key.
    Get(String),
    /// Replace a key's value.
    Put(String, String),
    /// Append to a key's value.
    Append(String, String),
}

/// The result of an operation on the map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvResult {
    /// A get returned this value.
    Value(String),
    /// A put or append was done.
    Ok,
}

/// The value node that stands for every value no get can return.
const DEAD: u32 = u32::MAX;

/// The strings a key's gets returned, as a trie over bytes; node 0 is `""`.
#[derive(Clone, Debug, Default)]
struct Trie {
    parent: Vec<u32>,
    byte: Vec<u8>,
    /// Children of node `n`: `labels/targets[start[n]..start[n + 1]]`.
    start: Vec<u32>,
    labels: Vec<u8>,
    targets: Vec<u32>,
}

impl Trie {
    fn build<'a>(strings: impl IntoIterator<Item = &'a str>) -> Trie {
        let mut parent = vec![0u32];
        let mut byte = vec![0u8];
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        for s in strings {
            let mut node = 0u32;
            for &b in s.as_bytes() {
                let found = children[node as usize].iter().find(|(l, _)| *l == b);
                node = match found {
                    Some(&(_, child)) => child,
                    None => {
                        let child = parent.len() as u32;
                        children[node as usize].push((b, child));
                        parent.push(node);
                        byte.push(b);
                        children.push(Vec::new());
                        child
                    }
                };
            }
        }
        let mut trie = Trie {
            parent,
            byte,
            ..Trie::default()
        };
        for edges in &children {
            trie.start.push(trie.labels.len() as u32);
            for &(l, t) in edges {
                trie.labels.push(l);
                trie.targets.push(t);
            }
        }
        trie.start.push(trie.labels.len() as u32);
        trie
    }

    #[inline]
    fn child(&self, node: u32, b: u8) -> u32 {
        let (s, e) = (self.start[node as usize], self.start[node as usize + 1]);
        for i in s as usize..e as usize {
            if self.labels[i] == b {
                return self.targets[i];
            }
        }
        DEAD
    }

    /// The node of `str(node) + bytes`, or `DEAD`.
    #[inline]
    fn walk(&self, mut node: u32, bytes: &[u8]) -> u32 {
        for &b in bytes {
            if node == DEAD {
                break;
            }
            node = self.child(node, b);
        }
        node
    }

    fn text(&self, mut node: u32) -> String {
        let mut bytes = Vec::new();
        while node != 0 {
            bytes.push(self.byte[node as usize]);
            node = self.parent[node as usize];
        }
        bytes.reverse();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A compiled operation: a key and strings by number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvInput {
    key: u32,
    kind: KvKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KvKind {
    Get,
    Put { node: u32, text: u32 },
    Append { text: u32 },
}

/// A compiled result: for a get, the value read (its trie node and its text).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvOutput {
    node: u32,
    text: u32,
}

/// The map's state: each key's value node, and a hash maintained incrementally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvState {
    hash: u64,
    nodes: Arc<[u32]>,
}

impl Hash for KvState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

fn mix(key: u32, node: u32) -> u64 {
    let mut h = (u64::from(key) << 32 | u64::from(node)) ^ 0x2545_f491_4f6c_dd1d;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The key/value model, compiled for one history by [`Kv::compile`].
#[derive(Clone, Debug)]
pub struct Kv {
    keys: Vec<String>,
    tries: Vec<Trie>,
    texts: Vec<String>,
    per_key: bool,
}

impl Kv {
    /// Compiles `ops` into the model and its operations (same order). With `per_key`, the
    /// model splits the history into one part per key (P-compositionality); otherwise the
    /// whole map is one state.
    // Over 70 lines: one pass that numbers keys and compiles each operation kind.
    pub fn compile(
        ops: &[Operation<KvOp, KvResult>],
        per_key: bool,
    ) -> (Kv, Vec<Operation<KvInput, KvOutput>>) {
        let mut key_ids: HashMap<&str, u32> = HashMap::new(); // hygiene: allowed (lookups only)
        let mut keys: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut reads: Vec<Vec<&str>> = Vec::new();
        let mut compiled_keys = Vec::with_capacity(ops.len());
        for op in ops {
            let key = match &op.input {
                KvOp::Get(k) | KvOp::Put(k, _) | KvOp::Append(k, _) => k.as_str(),
            };
            let id = *key_ids.entry(key).or_insert_with(|| {
                keys.push(key.to_string());
                reads.push(Vec::new());
                (keys.len() - 1) as u32
            });
            compiled_keys.push(id);
            if let (KvOp::Get(_), Some(KvResult::Value(v))) = (&op.input, &op.output) {
                reads[id as usize].push(v.as_str());
            }
        }
        let tries: Vec<Trie> = reads
            .iter()
            .map(|r| Trie::build(r.iter().copied()))
            .collect();
        let mut owned_ids: HashMap<String, u32> = HashMap::new(); // hygiene: allowed (lookups only)
        let mut intern = |s: &str, texts: &mut Vec<String>| -> u32 {
            if let Some(&id) = owned_ids.get(s) {
                return id;
            }
            let id = texts.len() as u32;
            texts.push(s.to_string());
            owned_ids.insert(s.to_string(), id);
            id
        };
        let compiled = ops
            .iter()
            .zip(compiled_keys)
            .map(|(op, key)| {
                let trie = &tries[key as usize];
                let kind = match &op.input {
                    KvOp::Get(_) => KvKind::Get,
                    KvOp::Put(_, v) => KvKind::Put {
                        node: trie.walk(0, v.as_bytes()),
                        text: intern(v, &mut texts),
                    },
                    KvOp::Append(_, v) => KvKind::Append {
                        text: intern(v, &mut texts),
                    },
                };
                let output = op.output.as_ref().map(|out| match out {
                    KvResult::Value(v) => KvOutput {
                        node: trie.walk(0, v.as_bytes()),
                        text: intern(v, &mut texts),
                    },
                    KvResult::Ok => KvOutput {
                        node: DEAD,
                        text: u32::MAX,
                    },
                });
                Operation {
                    client: op.client,
                    input: KvInput { key, kind },
                    output,
                    call: op.call,
                    ret: op.ret,
                }
            })
            .collect();
        let model = Kv {
            keys,
            tries,
            texts,
            per_key,
        };
        (model, compiled)
    }

    /// The key an operation is about.
    pub fn key_of(&self, input: &KvInput) -> &str {
        self.keys.get(input.key as usize).map_or("", String::as_str)
    }

    fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", String::as_str)
    }

    fn value_text(&self, key: usize, node: u32) -> String {
        match (node, self.tries.get(key)) {
            (DEAD, _) | (_, None) => "<a value no get returns>".to_string(),
            (n, Some(trie)) => format!("{:?}", trie.text(n)),
        }
    }
}

impl Model for Kv {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        let nodes: Arc<[u32]> = vec![0; self.keys.len()].into();
        let hash = (0..self.keys.len() as u32).fold(0, |h, k| h ^ mix(k, 0));
        KvState { hash, nodes }
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        let key = input.key as usize;
        let old = *state.nodes.get(key)?;
        let new = match &input.kind {
            KvKind::Get => {
                return match output {
                    Some(out) if out.node != old || old == DEAD => None,
                    _ => Some(state.clone()),
                };
            }
            KvKind::Put { node, .. } => *node,
            KvKind::Append { text } => {
                let trie = self.tries.get(key)?;
                trie.walk(old, self.text(*text).as_bytes())
            }
        };
        if new == old {
            return Some(state.clone());
        }
        let mut nodes = state.nodes.to_vec();
        nodes[key] = new;
        let hash = state.hash ^ mix(input.key, old) ^ mix(input.key, new);
        Some(KvState {
            hash,
            nodes: nodes.into(),
        })
    }

    fn is_read_only(&self, input: &KvInput) -> bool {
        matches!(input.kind, KvKind::Get)
    }

    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        if !self.per_key {
            return vec![(0..ops.len()).collect()];
        }
        let mut parts = vec![Vec::new(); self.keys.len()];
        for (i, op) in ops.iter().enumerate() {
            if let Some(part) = parts.get_mut(op.input.key as usize) {
                part.push(i);
            }
        }
        parts.retain(|p| !p.is_empty());
        parts
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let key = self.key_of(input);
        let done = if output.is_some() { "" } else { " → ?" };
        match (&input.kind, output) {
            (KvKind::Get, Some(out)) => format!("get({key:?}) → {:?}", self.text(out.text)),
            (KvKind::Get, None) => format!("get({key:?}) → ?"),
            (KvKind::Put { text, .. }, _) => format!("put({key:?}, {:?}){done}", self.text(*text)),
            (KvKind::Append { text }, _) => {
                format!("append({key:?}, {:?}){done}", self.text(*text))
            }
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        let items: Vec<String> = state
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, &n)| n != 0)
            .map(|(k, &n)| format!("{:?}: {}", self.keys[k], self.value_text(k, n)))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}
