//! The client side: a request goes to a chosen node and follows redirects to the leader;
//! a request that gets no answer is retried (with its id, so it is applied at most once)
//! until its deadline, after which its outcome is unknown.

use crate::protocol::{ClientRequest, Op, Reply, CLIENT_PORT};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use weft::net::{call, Addr};
use weft::NodeId;

/// How long one attempt waits for its answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a request may take in all, retries included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A handle to the cluster: its nodes (Raft id `i + 1` is `nodes[i]`) and the source of
/// request ids.
#[derive(Clone)]
pub struct Cluster {
    /// The nodes, by Raft id minus one.
    pub nodes: Vec<NodeId>,
    next_id: Rc<Cell<u64>>,
}

impl Cluster {
    /// A handle to `nodes`.
    pub fn new(nodes: Vec<NodeId>) -> Cluster {
        Cluster {
            nodes,
            next_id: Rc::new(Cell::new(1)),
        }
    }

    fn addr(&self, index: usize) -> Addr {
        Addr::new(self.nodes[index], CLIENT_PORT)
    }

    /// Runs `op` starting at node `via` (an index into the nodes). `None`: no answer before
    /// the deadline, so the outcome is unknown.
    pub async fn request(&self, via: usize, op: Op) -> Option<Reply> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let request = ClientRequest { id, op };
        let deadline = weft::time::Instant::now().after(REQUEST_TIMEOUT);
        let count = self.nodes.len();
        let mut target = via % count;
        while weft::time::Instant::now() < deadline {
            match call::<ClientRequest, Reply>(self.addr(target), request, ATTEMPT_TIMEOUT).await {
                Ok(Reply::NotLeader(hint)) => {
                    let hinted = hint.map(|id| (id - 1) as usize);
                    target = match hinted {
                        Some(leader) if leader != target && leader < count => leader,
                        _ => (target + 1) % count,
                    };
                    weft::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(reply) => return Some(reply),
                Err(_) => target = (target + 1) % count,
            }
        }
        None
    }
}
