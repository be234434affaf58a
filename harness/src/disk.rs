//! Per-node durable storage with write and fsync. Synced data survives a crash; on a crash,
//! each unsynced write survives, is lost, or is torn (a decision, when `DiskConfig::torn_writes`
//! is on; otherwise unsynced writes are lost). Operations may fail when disk errors are on.

use crate::decision::DecisionKind;
use crate::sim::world::{with, World};
use crate::sim::EventKind;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

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
    pending: Vec<(u64, Vec<u8>)>,
}

#[derive(Default)]
pub(crate) struct DiskState {
    files: BTreeMap<String, File>,
}

fn apply(buffer: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let offset = offset as usize;
    if buffer.len() < offset + data.len() {
        buffer.resize(offset + data.len(), 0);
    }
    buffer[offset..offset + data.len()].copy_from_slice(data);
}

async fn operation<R>(
    f: impl FnOnce(&mut World, u32) -> Result<R, DiskError>,
) -> Result<R, DiskError> {
    let (result, latency) = with(|w| {
        let node = w.current_node();
        let failed = w.cfg.disk.errors && w.decide(DecisionKind::DiskError, 2) == 1;
        if failed {
            w.note(DecisionKind::DiskError, 1, |w| {
                format!(
                    "a disk operation of {} failed (injected error)",
                    w.task_name(w.current)
                )
            });
        }
        let result = if failed {
            w.event(node, w.current, EventKind::Disk, 3, 0);
            Err(DiskError::Io)
        } else {
            f(w, node)
        };
        (result, w.cfg.disk.latency_ns)
    });
    if latency > 0 {
        crate::time::sleep(Duration::from_nanos(latency)).await;
    } else {
        crate::task::yield_now().await;
    }
    result
}

/// Writes `data` at `offset` of `path` (creating it). Not durable until [`fsync`].
pub async fn write(path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
    operation(|w, node| {
        w.event(node, w.current, EventKind::Disk, 0, data.len() as u64);
        let file = w.nodes[node as usize]
            .disk
            .files
            .entry(path.to_string())
            .or_default();
        apply(&mut file.current, offset, data);
        file.pending.push((offset, data.to_vec()));
        Ok(())
    })
    .await
}

/// Appends `data` to `path` and returns the offset it was written at.
pub async fn append(path: &str, data: &[u8]) -> Result<u64, DiskError> {
    operation(|w, node| {
        w.event(node, w.current, EventKind::Disk, 0, data.len() as u64);
        let file = w.nodes[node as usize]
            .disk
            .files
            .entry(path.to_string())
            .or_default();
        let offset = file.current.len() as u64;
        apply(&mut file.current, offset, data);
        file.pending.push((offset, data.to_vec()));
        Ok(offset)
    })
    .await
}

/// Makes every write to `path` durable.
pub async fn fsync(path: &str) -> Result<(), DiskError> {
    operation(|w, node| {
        w.event(node, w.current, EventKind::Disk, 1, 0);
        let file = w.nodes[node as usize]
            .disk
            .files
            .get_mut(path)
            .ok_or(DiskError::NotFound)?;
        file.durable.clone_from(&file.current);
        file.pending.clear();
        Ok(())
    })
    .await
}

/// Reads the whole of `path` as the node currently sees it.
pub async fn read(path: &str) -> Result<Vec<u8>, DiskError> {
    operation(|w, node| {
        let file = w.nodes[node as usize]
            .disk
            .files
            .get(path)
            .ok_or(DiskError::NotFound)?;
        let data = file.current.clone();
        w.event(node, w.current, EventKind::Disk, 2, data.len() as u64);
        Ok(data)
    })
    .await
}

/// The files on the calling node's disk.
pub fn list() -> Vec<String> {
    with(|w| {
        let node = w.current_node();
        w.nodes[node as usize].disk.files.keys().cloned().collect()
    })
}

impl World {
    /// A crash: unsynced writes survive, are lost or are torn.
    pub(crate) fn crash_disk(&mut self, node: u32) {
        let mut files = std::mem::take(&mut self.nodes[node as usize].disk.files);
        for file in files.values_mut() {
            let mut image = file.durable.clone();
            for (offset, data) in std::mem::take(&mut file.pending) {
                let (fate, kept) = if self.cfg.disk.torn_writes {
                    match self.decide(DecisionKind::DiskTorn, 3) {
                        0 => (0, data.len()),
                        1 => (1, 0),
                        _ => (
                            2,
                            self.decide(DecisionKind::DiskTorn, data.len() as u64) as usize,
                        ),
                    }
                } else {
                    (1, 0)
                };
                self.event(node, u32::MAX, EventKind::DiskCrash, fate, kept as u64);
                self.note(DecisionKind::DiskTorn, fate, |w| {
                    let what = if fate == 1 {
                        "lost".to_string()
                    } else {
                        format!("torn ({kept} of {} bytes kept)", data.len())
                    };
                    format!(
                        "an unsynced write on {} was {what} in the crash",
                        w.nodes[node as usize].name
                    )
                });
                apply(&mut image, offset, &data[..kept]);
            }
            file.durable.clone_from(&image);
            file.current = image;
        }
        self.nodes[node as usize].disk.files = files;
    }
}
