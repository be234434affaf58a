//! Storage on the node's simulated disk: an append-only log of whole-object records, one
//! segment per boot, and an identity file holding the node's actor epoch.
//!
//! Every record is a frame: a magic byte, the payload's length, its FNV-1a checksum, the
//! payload. Recovery keeps every valid frame and skips torn ones: only unsynced writes can be
//! torn or lost (a crash), and every record is a whole object's snapshot, so a record that
//! survived without its predecessor is still a consistent version. Nothing is acknowledged
//! before [`Storage::put`] returns, and it returns after the fsync.
//!
//! Ring: every ring the node adopts is appended to its own file and fsynced; a restart
//! recovers the newest, so that a node does not come back with the initial ring (and hand off,
//! drop and coordinate by it, or apply a join to it that the cluster's newer ring then
//! discards) until gossip brings it the current one, as riak_core's ring manager persists the
//! ring.
//!
//! Identity: each boot takes the stored epoch plus one and fsyncs it before serving, so an
//! actor's counters never repeat. With no identity on disk (a new node, or a lost disk) the
//! node takes a fresh epoch from its incarnation; the planted bug
//! `actor-reuse-after-disk-loss` takes epoch 0 instead, its first life's actor id (kv679).

use crate::codec::{fnv32, Decoder, Encoder};
use crate::object::Object;
use crate::ring::Ring;
use std::collections::BTreeMap;
use weft::disk::{self, DiskError};

const MAGIC: u8 = 0xA5;
const IDENTITY: &str = "kv/identity";
const RING: &str = "kv/ring";
const SEGMENT_PREFIX: &str = "kv/log.";
const PUT: u8 = 1;
const DROP: u8 = 2;

/// The log of one node.
pub struct Storage {
    segment: String,
}

/// What recovery found.
pub struct Recovered {
    /// The log, ready for appends.
    pub storage: Storage,
    /// This life's actor epoch.
    pub epoch: u32,
    /// Every key's latest durable object.
    pub objects: BTreeMap<String, Object>,
    /// The newest ring the node persisted, if any.
    pub ring: Option<Ring>,
}

/// Bytes of a frame before its payload: magic, length, checksum.
const HEADER_LEN: usize = 9;

/// Wraps `payload` in a frame.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    framed(|e| e.bytes.extend_from_slice(payload))
}

/// The frame of the payload `write` appends, encoded in place (no copy of the payload).
fn framed(write: impl FnOnce(&mut Encoder)) -> Vec<u8> {
    // Most records fit: one allocation.
    let mut e = Encoder {
        bytes: Vec::with_capacity(256),
    };
    e.bytes.resize(HEADER_LEN, 0);
    write(&mut e);
    let len = (e.bytes.len() - HEADER_LEN) as u32;
    let sum = fnv32(&e.bytes[HEADER_LEN..]);
    e.bytes[0] = MAGIC;
    e.bytes[1..5].copy_from_slice(&len.to_le_bytes());
    e.bytes[5..9].copy_from_slice(&sum.to_le_bytes());
    e.bytes
}

/// The payloads of the valid frames of `bytes`. A torn frame, or the zeros a lost write or a
/// lost disk leaves, is skipped byte by byte until a valid frame starts again (a frame is
/// valid when its magic, length and checksum agree).
pub fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match frame_at(&bytes[at..]) {
            Some((payload, used)) => {
                out.push(payload);
                at += used;
            }
            None => at += 1,
        }
    }
    out
}

fn frame_at(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut d = Decoder::new(bytes);
    if d.u8()? != MAGIC {
        return None;
    }
    let (len, sum) = (d.u32()?, d.u32()?);
    let payload = d.raw(len as usize)?;
    (fnv32(&payload) == sum).then_some((payload, HEADER_LEN + len as usize))
}

async fn read_or_empty(path: &str) -> Result<Vec<u8>, DiskError> {
    match disk::read(path).await {
        Err(DiskError::NotFound) => Ok(Vec::new()),
        other => other,
    }
}

/// Reads the identity and takes this life's epoch (persisted before it is returned).
async fn take_epoch(reuse_after_loss: bool) -> Result<u32, DiskError> {
    let stored = frames(&read_or_empty(IDENTITY).await?)
        .last()
        .and_then(|p| Decoder::new(p).u32());
    let epoch = match stored {
        Some(epoch) => epoch + 1,
        None if reuse_after_loss => 0,
        None => weft::node::incarnation(weft::node::current()) << 16,
    };
    save_epoch(epoch).await?;
    Ok(epoch)
}

/// Persists `epoch` as the node's identity: the next boot takes a larger one. Also used in
/// the middle of a life, when the node must take a new actor (see `replica::coordinate`).
pub async fn save_epoch(epoch: u32) -> Result<(), DiskError> {
    let mut e = Encoder::default();
    e.u32(epoch);
    disk::append(IDENTITY, &frame(&e.bytes)).await?;
    disk::fsync(IDENTITY).await
}

fn apply(objects: &mut BTreeMap<String, Object>, payload: &[u8]) {
    let mut d = Decoder::new(payload);
    let (Some(kind), Some(key)) = (d.u8(), d.bytes()) else {
        return;
    };
    let Ok(key) = String::from_utf8(key) else {
        return;
    };
    match kind {
        PUT => {
            if let Some(object) = Object::decode(&mut d) {
                objects.insert(key, object);
            }
        }
        DROP => {
            objects.remove(&key);
        }
        _ => {}
    }
}

impl Storage {
    /// Recovers the node's state from its disk and opens a new segment.
    pub async fn open(reuse_after_loss: bool) -> Result<Recovered, DiskError> {
        let epoch = take_epoch(reuse_after_loss).await?;
        let mut segments: Vec<String> = disk::list()
            .into_iter()
            .filter(|f| f.starts_with(SEGMENT_PREFIX))
            .collect();
        segments.sort();
        let mut objects = BTreeMap::new();
        for segment in &segments {
            for payload in frames(&read_or_empty(segment).await?) {
                apply(&mut objects, &payload);
            }
        }
        let segment = format!("{SEGMENT_PREFIX}{:08}", segments.len());
        let storage = Storage { segment };
        let ring = frames(&read_or_empty(RING).await?)
            .iter()
            .filter_map(|payload| Ring::decode(&mut Decoder::new(payload)))
            .max_by_key(Ring::version);
        Ok(Recovered {
            storage,
            epoch,
            objects,
            ring,
        })
    }

    /// Appends `ring` to the ring file and fsyncs. Recovery takes the newest ring of the file,
    /// so rings saved out of order (or a torn last one) are harmless.
    pub async fn save_ring(ring: &Ring) -> Result<(), DiskError> {
        let mut e = Encoder::default();
        ring.encode(&mut e);
        disk::append(RING, &frame(&e.bytes)).await?;
        disk::fsync(RING).await
    }

    /// Appends `key`'s object and fsyncs: when this returns `Ok`, the object is durable.
    pub async fn put(&self, key: &str, object: &Object) -> Result<(), DiskError> {
        let record = framed(|e| {
            e.u8(PUT);
            e.bytes(key.as_bytes());
            object.encode(e);
        });
        self.append_synced(&record).await
    }

    /// Records that `key` is gone from this node (reaped, or handed off), durably.
    pub async fn drop_key(&self, key: &str) -> Result<(), DiskError> {
        let record = framed(|e| {
            e.u8(DROP);
            e.bytes(key.as_bytes());
        });
        self.append_synced(&record).await
    }

    /// Appends one frame to this boot's segment and fsyncs.
    async fn append_synced(&self, frame: &[u8]) -> Result<(), DiskError> {
        disk::append(&self.segment, frame).await?;
        disk::fsync(&self.segment).await
    }
}

/// Emulates the loss of the calling node's disk: every file of the store is overwritten with
/// zeros and synced (weft's disk has no delete and no disk-loss fault). Crash the node
/// afterwards; it restarts with nothing.
pub async fn lose_disk() -> Result<(), DiskError> {
    for path in disk::list() {
        if !path.starts_with("kv/") {
            continue;
        }
        let len = read_or_empty(&path).await?.len();
        disk::write(&path, 0, &vec![0; len]).await?;
        disk::fsync(&path).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_and_zeroed_frames_are_skipped() {
        let mut log = frame(b"one");
        let two = frame(b"two");
        log.extend_from_slice(&two[..two.len() - 2]); // torn
        log.extend_from_slice(&[0; 7]); // a lost write's gap
        log.extend_from_slice(&frame(b"three"));
        assert_eq!(frames(&log), [b"one".to_vec(), b"three".to_vec()]);
        let mut corrupt = frame(b"four");
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert!(frames(&corrupt).is_empty(), "a bad checksum is not a frame");
        assert!(frames(&[0; 32]).is_empty());
    }
}
