//! Per-node durable storage with write and fsync. Synced data survives a crash; on a crash,
//! each unsynced write survives, is lost, or is torn (a decision, when `DiskConfig::torn_writes`
//! is on; otherwise unsynced writes are lost). Operations may fail when disk errors are on.

use crate::decision::DecisionKind;
use crate::ids::NodeId;
pub use crate::sim::storage::DiskError;
use crate::sim::world::{with, World};
use crate::sim::EventKind;
use std::time::Duration;

async fn operation<R>(
    f: impl FnOnce(&mut World, NodeId) -> Result<R, DiskError>,
) -> Result<R, DiskError> {
    let (result, latency) = with(|w| {
        let (node, task) = (w.current_node(), w.current_task());
        let drawn = w
            .cfg
            .disk
            .errors
            .then(|| w.decide(DecisionKind::DiskError, 2));
        let failed = drawn.is_some_and(|d| d.value == 1);
        if failed {
            w.note(drawn.expect("drawn when failed"), |w| {
                format!(
                    "a disk operation of {} failed (injected error)",
                    w.task_name(task)
                )
            });
        }
        let result = if failed {
            w.event(Some(node), Some(task), EventKind::Disk, 3, 0);
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
        w.event(Some(node), w.current, EventKind::Disk, 0, data.len() as u64);
        w.nodes[node.index()].disk.write(path, offset, data);
        Ok(())
    })
    .await
}

/// Appends `data` to `path` and returns the offset it was written at.
pub async fn append(path: &str, data: &[u8]) -> Result<u64, DiskError> {
    operation(|w, node| {
        w.event(Some(node), w.current, EventKind::Disk, 0, data.len() as u64);
        Ok(w.nodes[node.index()].disk.append(path, data))
    })
    .await
}

/// Makes every write to `path` durable.
pub async fn fsync(path: &str) -> Result<(), DiskError> {
    operation(|w, node| {
        w.event(Some(node), w.current, EventKind::Disk, 1, 0);
        w.nodes[node.index()].disk.fsync(path)
    })
    .await
}

/// Reads the whole of `path` as the node currently sees it.
pub async fn read(path: &str) -> Result<Vec<u8>, DiskError> {
    operation(|w, node| {
        let data = w.nodes[node.index()].disk.read(path)?;
        w.event(Some(node), w.current, EventKind::Disk, 2, data.len() as u64);
        Ok(data)
    })
    .await
}

/// The files on the calling node's disk.
pub fn list() -> Vec<String> {
    with(|w| {
        let node = w.current_node();
        w.nodes[node.index()].disk.list()
    })
}
