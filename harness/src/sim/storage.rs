//! Each node's disk inside the executor: files with durable and current images, pending
//! unsynced writes, and what a crash does to them. The public API is `weft::disk`.

use super::world::World;
use super::EventKind;
use crate::decision::DecisionKind;
use crate::ids::NodeId;
use std::collections::BTreeMap;
use std::fmt;

/// A failed disk operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// An injected I/O error.
    Io,
    /// The file does not exist.
    NotFound,
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::Io => f.write_str("disk I/O error"),
            DiskError::NotFound => f.write_str("file not found"),
        }
    }
}

impl std::error::Error for DiskError {}

#[derive(Default, Clone)]
struct File {
    durable: Vec<u8>,
    current: Vec<u8>,
    /// The unsynced writes, in order: each one's offset and the range of its bytes in
    /// `pending_bytes` (one buffer for all of them: no allocation per write).
    pending: Vec<(u64, std::ops::Range<usize>)>,
    pending_bytes: Vec<u8>,
}

impl File {
    fn write(&mut self, offset: u64, data: &[u8]) {
        apply(&mut self.current, offset, data);
        let start = self.pending_bytes.len();
        self.pending_bytes.extend_from_slice(data);
        self.pending.push((offset, start..self.pending_bytes.len()));
    }
}

/// One node's disk.
#[derive(Default)]
pub(crate) struct DiskState {
    files: BTreeMap<String, File>,
}

impl DiskState {
    /// Writes `data` at `offset` of `path` (creating it), not yet durable.
    pub fn write(&mut self, path: &str, offset: u64, data: &[u8]) {
        if let Some(file) = self.files.get_mut(path) {
            return file.write(offset, data);
        }
        self.files
            .entry(path.to_string())
            .or_default()
            .write(offset, data);
    }

    /// Appends `data` to `path`, not yet durable; returns the offset it was written at.
    pub fn append(&mut self, path: &str, data: &[u8]) -> u64 {
        if let Some(file) = self.files.get_mut(path) {
            let offset = file.current.len() as u64;
            file.write(offset, data);
            return offset;
        }
        self.write(path, 0, data);
        0
    }

    /// Makes every write to `path` durable.
    pub fn fsync(&mut self, path: &str) -> Result<(), DiskError> {
        let file = self.files.get_mut(path).ok_or(DiskError::NotFound)?;
        // The current image is the durable one with the pending writes applied in order:
        // applying them is that image, without copying the whole file at every fsync.
        for (offset, range) in file.pending.drain(..) {
            apply(&mut file.durable, offset, &file.pending_bytes[range]);
        }
        file.pending_bytes.clear();
        debug_assert!(file.durable == file.current);
        Ok(())
    }

    /// The whole of `path` as the node currently sees it.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, DiskError> {
        self.files
            .get(path)
            .map(|f| f.current.clone())
            .ok_or(DiskError::NotFound)
    }

    /// The files, in name order.
    pub fn list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }
}

fn apply(buffer: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let offset = offset as usize;
    if buffer.len() < offset + data.len() {
        buffer.resize(offset + data.len(), 0);
    }
    buffer[offset..offset + data.len()].copy_from_slice(data);
}

impl World {
    /// A crash: unsynced writes survive, are lost or are torn.
    pub(crate) fn crash_disk(&mut self, node: NodeId) {
        let mut files = std::mem::take(&mut self.nodes[node.index()].disk.files);
        for (path, file) in files.iter_mut() {
            let mut image = file.durable.clone();
            for (offset, range) in std::mem::take(&mut file.pending) {
                let data = &file.pending_bytes[range];
                let kept = self.crash_write(node, path, data.len());
                apply(&mut image, offset, &data[..kept]);
            }
            file.pending_bytes.clear();
            file.durable.clone_from(&image);
            file.current = image;
        }
        self.nodes[node.index()].disk.files = files;
    }

    /// The fate of one unsynced write of `len` bytes to `path` in a crash: how many of its
    /// bytes survive. Without torn writes every unsynced write is lost, with no decision.
    fn crash_write(&mut self, node: NodeId, path: &str, len: usize) -> usize {
        if !self.cfg.disk.torn_writes {
            self.event(Some(node), None, EventKind::DiskCrash, 1, 0);
            return 0;
        }
        let fate = self.decide(DecisionKind::DiskTorn, 3);
        let (kept, torn) = match fate.value {
            0 => (len, None),
            1 => (0, None),
            _ => {
                let torn = self.decide(DecisionKind::DiskTorn, len as u64);
                (torn.value as usize, Some(torn))
            }
        };
        self.event(
            Some(node),
            None,
            EventKind::DiskCrash,
            fate.value,
            kept as u64,
        );
        let name = self.nodes[node.index()].name.to_string();
        self.note(fate, |_| {
            let what = if fate.value == 1 {
                "lost".to_string()
            } else {
                format!("torn ({kept} of {len} bytes kept)")
            };
            format!("an unsynced write of {len} bytes to {path} on {name} was {what} in the crash")
        });
        if let Some(torn) = torn {
            self.note(torn, |_| {
                format!("the torn write to {path} on {name} kept {kept} of its {len} bytes")
            });
        }
        kept
    }
}
