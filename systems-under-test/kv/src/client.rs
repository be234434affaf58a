//! The client side: the [`Kv`] handle, in Riak's shape. A handle talks to one node, which
//! coordinates its requests; handles to different nodes reach the same data.

use crate::node::addr;
use crate::protocol::{Dump, KvError, Msg, ReadResult, Reply};
use crate::version::Context;
use std::time::Duration;
use weft::net::call;
use weft::NodeId;

/// How long a request waits for its coordinator's answer by default.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);

/// Read quorums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Replies needed (default 2).
    pub r: usize,
    /// Replies from primaries needed (default 0).
    pub pr: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { r: 2, pr: 0 }
    }
}

/// Write quorums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Acknowledgements needed (default 2).
    pub w: usize,
    /// Acknowledgements from primaries needed (default 0).
    pub pw: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { w: 2, pw: 0 }
    }
}

/// A handle to the store through one coordinating node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kv {
    node: NodeId,
    timeout: Duration,
}

impl Kv {
    /// A handle whose requests `node` coordinates.
    pub fn connect(node: NodeId) -> Kv {
        Kv {
            node,
            timeout: CLIENT_TIMEOUT,
        }
    }

    /// The same handle with another request timeout.
    pub fn with_timeout(self, timeout: Duration) -> Kv {
        Kv { timeout, ..self }
    }

    /// The coordinating node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    async fn request(&self, msg: Msg) -> Result<Reply, KvError> {
        match call::<Msg, Reply>(addr(self.node), msg, self.timeout).await {
            Ok(Reply::Failed(e)) => Err(e),
            Ok(reply) => Ok(reply),
            Err(_) => Err(KvError::Timeout),
        }
    }

    /// Reads `key` (R=2): its values (siblings when concurrent writes left several; none
    /// when absent or deleted) and the context to write with.
    pub async fn get(&self, key: &str) -> Result<ReadResult, KvError> {
        self.get_with(key, ReadOptions::default()).await
    }

    /// Reads `key` with explicit quorums.
    pub async fn get_with(&self, key: &str, options: ReadOptions) -> Result<ReadResult, KvError> {
        let msg = Msg::Get {
            key: key.to_string(),
            r: options.r,
            pr: options.pr,
        };
        match self.request(msg).await? {
            Reply::Read(result) => Ok(result),
            _ => Err(KvError::Timeout),
        }
    }

    /// Writes `value` to `key` (W=2), superseding the values `context` (from a read) covers.
    /// On error the write may or may not have happened.
    pub async fn put(
        &self,
        key: &str,
        value: impl Into<Vec<u8>>,
        context: &Context,
    ) -> Result<(), KvError> {
        self.put_with(key, Some(value.into()), context, WriteOptions::default())
            .await
    }

    /// Deletes `key`: a tombstone superseding what `context` covers.
    pub async fn delete(&self, key: &str, context: &Context) -> Result<(), KvError> {
        self.put_with(key, None, context, WriteOptions::default())
            .await
    }

    /// Writes (`Some`) or deletes (`None`) with explicit quorums.
    pub async fn put_with(
        &self,
        key: &str,
        value: Option<Vec<u8>>,
        context: &Context,
        options: WriteOptions,
    ) -> Result<(), KvError> {
        let msg = Msg::Put {
            key: key.to_string(),
            value,
            context: context.clone(),
            w: options.w,
            pw: options.pw,
        };
        self.request(msg).await.map(|_| ())
    }

    /// The node's ring, actor and stored objects (for tests and checks).
    pub async fn dump(&self) -> Result<Dump, KvError> {
        match self.request(Msg::Dump).await? {
            Reply::Dump(dump) => Ok(dump),
            _ => Err(KvError::Timeout),
        }
    }

    /// Asks the node to add `joiner` to the ring.
    pub async fn join(&self, joiner: NodeId) -> Result<(), KvError> {
        self.request(Msg::Join(joiner)).await.map(|_| ())
    }

    /// Asks the node to remove `leaver` from the ring; the leaver hands its data off.
    pub async fn leave(&self, leaver: NodeId) -> Result<(), KvError> {
        self.request(Msg::Leave(leaver)).await.map(|_| ())
    }
}
