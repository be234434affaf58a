//! Raft's durable state on the node's simulated disk: the log in one file of checksummed
//! frames, the hard state in another file of two alternating slots.
//!
//! Log (`raft/log`): every frame is a magic byte, the payload's length, its FNV-1a checksum
//! and the payload; the payload starts with the boot it was written in and its sequence
//! number. A batch of entries starting at index `i` replaces every entry from `i` on (Raft
//! truncates a conflicting suffix by appending over it). Frames are written at the end of the
//! valid prefix found at start-up, so a torn or lost unsynced tail is overwritten; recovery
//! keeps frames while their sequence numbers follow each other and their boots do not go
//! back, so a stale frame of an earlier life that happens to line up after new ones is not
//! taken for a new one.
//!
//! Hard state (`raft/hardstate`): two fixed-size slots written alternately, each a frame
//! with a version number; recovery takes the valid slot with the higher version. Overwriting
//! in place would let a torn write destroy the only copy.
//!
//! Durability: [`Log::persist`] writes and fsyncs the entries, then writes and fsyncs the
//! hard state, before it returns; the node sends the messages that depend on them only after
//! that. The planted bug `vote-not-persisted` skips the hard state's fsync.

use raft::eraftpb::{Entry, EntryType, HardState};
use weft::disk::{self, DiskError};

const MAGIC: u8 = 0xB7;
const LOG: &str = "raft/log";
const HARD_STATE: &str = "raft/hardstate";
/// Bytes of one hard-state slot: a frame of version, term, vote and commit.
const SLOT_BYTES: u64 = 9 + 32;
const ENTRIES: u8 = 1;

/// The node's durable Raft state, open for writing.
pub struct Log {
    boot: u32,
    seq: u64,
    end: u64,
    hard_state_version: u64,
}

/// What recovery found on the disk.
pub struct Recovered {
    /// The log, ready for writes.
    pub log: Log,
    /// The entries, in index order (the first at index 1).
    pub entries: Vec<Entry>,
    /// The newest durable hard state (the default when none).
    pub hard_state: HardState,
}

fn fnv32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    out.push(MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&fnv32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of the frame at the start of `bytes` and the frame's length, if valid.
fn frame_at(bytes: &[u8]) -> Option<(&[u8], usize)> {
    if bytes.len() < 9 || bytes[0] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(bytes[1..5].try_into().ok()?) as usize;
    let sum = u32::from_le_bytes(bytes[5..9].try_into().ok()?);
    let payload = bytes.get(9..9 + len)?;
    (fnv32(payload) == sum).then_some((payload, 9 + len))
}

/// A little-endian reader over a payload.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        Some(self.take(n)?.to_vec())
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode_entries(boot: u32, seq: u64, entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&boot.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.push(ENTRIES);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.push(e.get_entry_type() as u8);
        out.extend_from_slice(&e.get_term().to_le_bytes());
        out.extend_from_slice(&e.get_index().to_le_bytes());
        put_bytes(&mut out, e.get_data());
        put_bytes(&mut out, e.get_context());
    }
    out
}

/// A log frame's boot, sequence number and entries.
fn decode_entries(payload: &[u8]) -> Option<(u32, u64, Vec<Entry>)> {
    let mut r = Reader(payload);
    let (boot, seq) = (r.u32()?, r.u64()?);
    if r.u8()? != ENTRIES {
        return None;
    }
    let count = r.u32()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let mut e = Entry::default();
        e.set_entry_type(match r.u8()? {
            0 => EntryType::EntryNormal,
            1 => EntryType::EntryConfChange,
            _ => EntryType::EntryConfChangeV2,
        });
        e.set_term(r.u64()?);
        e.set_index(r.u64()?);
        e.set_data(r.bytes()?.into());
        e.set_context(r.bytes()?.into());
        entries.push(e);
    }
    Some((boot, seq, entries))
}

fn encode_hard_state(version: u64, hs: &HardState) -> Vec<u8> {
    let mut out = Vec::new();
    for n in [version, hs.get_term(), hs.get_vote(), hs.get_commit()] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    frame(&out)
}

fn decode_hard_state(slot: &[u8]) -> Option<(u64, HardState)> {
    let (payload, _) = frame_at(slot)?;
    let mut r = Reader(payload);
    let version = r.u64()?;
    let mut hs = HardState::default();
    hs.set_term(r.u64()?);
    hs.set_vote(r.u64()?);
    hs.set_commit(r.u64()?);
    Some((version, hs))
}

/// Retries a disk operation until it succeeds: injected I/O errors leave the file as it was
/// (the write or fsync did not happen), so trying again is sound.
async fn retry<T, F: std::future::Future<Output = Result<T, DiskError>>>(
    mut op: impl FnMut() -> F,
) -> T {
    loop {
        match op().await {
            Ok(value) => return value,
            Err(DiskError::Io) => weft::time::sleep(std::time::Duration::from_millis(1)).await,
            Err(DiskError::NotFound) => panic!("raft storage: a file written before is missing"),
        }
    }
}

async fn read_or_empty(path: &str) -> Vec<u8> {
    loop {
        match disk::read(path).await {
            Ok(bytes) => return bytes,
            Err(DiskError::NotFound) => return Vec::new(),
            Err(DiskError::Io) => weft::time::sleep(std::time::Duration::from_millis(1)).await,
        }
    }
}

/// The log's valid prefix in `bytes`: its entries, the sequence number of its last frame,
/// and where the prefix ends (the next frame is written there).
pub fn parse_log(bytes: &[u8]) -> (Vec<Entry>, u64, u64) {
    let (mut at, mut seq, mut last_boot) = (0usize, 0u64, 0u32);
    let mut entries: Vec<Entry> = Vec::new();
    while let Some((payload, used)) = frame_at(&bytes[at..]) {
        let Some((frame_boot, frame_seq, batch)) = decode_entries(payload) else {
            break;
        };
        if frame_seq != seq + 1 || frame_boot < last_boot {
            break;
        }
        let Some(first) = batch.first() else { break };
        let keep = (first.get_index() as usize).saturating_sub(1);
        if keep > entries.len() {
            break; // a gap: cannot happen for frames written in order
        }
        entries.truncate(keep);
        entries.extend(batch);
        (at, seq, last_boot) = (at + used, frame_seq, frame_boot);
    }
    (entries, seq, at as u64)
}

/// Reads the node's durable state: the log's valid prefix and the newest hard state.
/// `boot` numbers this life (the node's incarnation: it grows with every restart).
pub async fn recover(boot: u32) -> Recovered {
    let (entries, seq, end) = parse_log(&read_or_empty(LOG).await);
    let slots = read_or_empty(HARD_STATE).await;
    let newest = [0, SLOT_BYTES as usize]
        .iter()
        .filter_map(|&offset| slots.get(offset..).and_then(decode_hard_state))
        .max_by_key(|(version, _)| *version);
    let (hard_state_version, hard_state) = newest.unwrap_or_default();
    Recovered {
        log: Log {
            boot,
            seq,
            end,
            hard_state_version,
        },
        entries,
        hard_state,
    }
}

impl Log {
    /// Makes `entries` (which replace the log from their first index on) and `hard_state`
    /// durable: written, then fsynced, before this returns. With `sync_hard_state` false (the
    /// planted bug `vote-not-persisted`) the hard state is written but not fsynced.
    pub async fn persist(
        &mut self,
        entries: &[Entry],
        hard_state: Option<&HardState>,
        sync_hard_state: bool,
    ) {
        if !entries.is_empty() {
            self.seq += 1;
            let bytes = frame(&encode_entries(self.boot, self.seq, entries));
            let end = self.end;
            retry(|| disk::write(LOG, end, &bytes)).await;
            retry(|| disk::fsync(LOG)).await;
            self.end += bytes.len() as u64;
        }
        // After the entries' fsync: a hard state that survives a crash never has a commit
        // index beyond the durable log.
        if let Some(hs) = hard_state {
            self.hard_state_version += 1;
            let bytes = encode_hard_state(self.hard_state_version, hs);
            debug_assert_eq!(bytes.len() as u64, SLOT_BYTES);
            let offset = (self.hard_state_version % 2) * SLOT_BYTES;
            retry(|| disk::write(HARD_STATE, offset, &bytes)).await;
            if sync_hard_state {
                retry(|| disk::fsync(HARD_STATE)).await;
            }
        }
    }
}

/// A log frame of `entries`, as [`Log::persist`] writes it (for tests of recovery).
pub fn log_frame(boot: u32, seq: u64, entries: &[Entry]) -> Vec<u8> {
    frame(&encode_entries(boot, seq, entries))
}
