//! What a replica stores for a key: causal versions ([`Dvv`]) or, in last-write-wins mode, one
//! value stamped with the coordinating node's wall clock. A sibling is `Some(bytes)` or
//! `None`, a tombstone.

use crate::codec::{fnv64, Decoder, Encoder};
use crate::version::{decode_value, encode_value, Context, Dvv};
use std::cell::RefCell;
use std::fmt;

/// A value or a tombstone.
pub type Sibling = Option<Vec<u8>>;

/// The stored versions of one key.
#[derive(Clone, PartialEq, Eq)]
pub enum Object {
    /// Dotted version vectors with siblings (the default).
    Causal(Dvv<Sibling>),
    /// Last write wins: the value with the largest (stamp, value) survives a merge.
    Lww {
        /// The coordinating node's `weft::time::wall_clock_ns()` at the write.
        stamp: u64,
        /// The value.
        value: Sibling,
    },
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Causal(dvv) => dvv.fmt_with(f, &show),
            Object::Lww { stamp, value } => write!(f, "lww@{stamp}={}", show(value)),
        }
    }
}

/// A stored value for people: its text when it is UTF-8, else its bytes; a tombstone as such.
fn show(value: &Option<Vec<u8>>) -> String {
    match value {
        None => "tombstone".to_string(),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("{bytes:?}"),
        },
    }
}

impl Object {
    /// The merge of two replicas' objects.
    pub fn sync(&self, other: &Object) -> Object {
        match (self, other) {
            (Object::Causal(a), Object::Causal(b)) => Object::Causal(a.sync(b)),
            (
                Object::Lww {
                    stamp: a,
                    value: va,
                },
                Object::Lww {
                    stamp: b,
                    value: vb,
                },
            ) => {
                if (a, va) >= (b, vb) {
                    self.clone()
                } else {
                    other.clone()
                }
            }
            // The store runs in one mode; a mixed pair keeps the causal side.
            (Object::Causal(_), _) => self.clone(),
            (_, Object::Causal(_)) => other.clone(),
        }
    }

    /// The merge of an optional stored object with an incoming one.
    pub fn sync_into(stored: Option<&Object>, incoming: &Object) -> Object {
        stored.map_or_else(|| incoming.clone(), |s| s.sync(incoming))
    }

    /// Every sibling, tombstones included.
    pub fn siblings(&self) -> Vec<Sibling> {
        self.sibling_refs().cloned().collect()
    }

    /// The siblings, borrowed.
    fn sibling_refs(&self) -> impl Iterator<Item = &Sibling> {
        let (causal, lww) = match self {
            Object::Causal(dvv) => (Some(dvv), None),
            Object::Lww { value, .. } => (None, Some(value)),
        };
        causal.into_iter().flat_map(Dvv::iter_values).chain(lww)
    }

    /// The live values (siblings that are not tombstones).
    pub fn values(&self) -> Vec<Vec<u8>> {
        self.sibling_refs().flatten().cloned().collect()
    }

    /// Whether every sibling is a tombstone.
    pub fn is_tombstone(&self) -> bool {
        self.sibling_refs().all(Option::is_none)
    }

    /// Whether some sibling is a tombstone.
    pub fn has_tombstone(&self) -> bool {
        self.sibling_refs().any(Option::is_none)
    }

    /// The causal context for a read (empty in last-write-wins mode).
    pub fn context(&self) -> Context {
        match self {
            Object::Causal(dvv) => dvv.context(),
            Object::Lww { .. } => Context::default(),
        }
    }

    /// Whether this object has seen everything `other` has (equal counts as descending).
    pub fn descends(&self, other: &Object) -> bool {
        match (self, other) {
            (Object::Causal(a), Object::Causal(b)) => a.descends(b),
            _ => self.sync(other) == *self,
        }
    }

    /// The canonical encoding.
    pub fn encode(&self, e: &mut Encoder) {
        match self {
            Object::Causal(dvv) => {
                e.u8(0);
                dvv.encode(e);
            }
            Object::Lww { stamp, value } => {
                e.u8(1);
                e.u64(*stamp);
                encode_value(e, value);
            }
        }
    }

    /// Reads what [`Object::encode`] wrote.
    pub fn decode(d: &mut Decoder<'_>) -> Option<Object> {
        match d.u8()? {
            0 => Some(Object::Causal(Dvv::decode(d)?)),
            1 => Some(Object::Lww {
                stamp: d.u64()?,
                value: decode_value(d)?,
            }),
            _ => None,
        }
    }

    /// A hash of the canonical encoding (anti-entropy compares these).
    pub fn hash(&self) -> u64 {
        thread_local! {
            // The encoding's buffer, reused: anti-entropy hashes every shared key each round.
            static SCRATCH: RefCell<Encoder> = RefCell::new(Encoder::default());
        }
        SCRATCH.with(|scratch| {
            let mut e = scratch.borrow_mut();
            e.bytes.clear();
            self.encode(&mut e);
            fnv64(&e.bytes)
        })
    }
}
