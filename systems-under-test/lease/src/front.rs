//! A front-end: answers reads from its cache while its lease holds, else fetches the value
//! with a new lease from the store; forwards writes to the store. Each request runs in a task
//! of its own; a lease is ended by a timer task that sleeps on this node's clock.

use crate::{Bug, Bugs, ClientCall, ClientReply, ClientReq, StoreReply, StoreReq};
use crate::{CALL_TIMEOUT, DRIFT_MAX_PPM, LEASE, PORT};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use weft::net::{call, Addr, Endpoint};
use weft::time::{self, Instant};
use weft::NodeId;

/// The cache: the value while a lease holds, and how many leases were taken (a timer ends
/// only the lease it was started for).
#[derive(Default)]
struct Cache {
    value: Option<u64>,
    lease: u64,
}

/// How long a lease may be used on this node's clock.
fn usable(bugs: Bugs) -> Duration {
    if bugs.has(Bug::NoDriftMargin) {
        return LEASE;
    }
    // LEASE * (1 - 2ε): safe for clocks within ε of true time either way.
    let margin = LEASE * 2 * DRIFT_MAX_PPM / 1_000_000;
    LEASE - margin
}

pub(crate) async fn serve(index: usize, store: NodeId, bugs: Bugs) {
    let endpoint = Endpoint::<ClientCall>::bind(PORT).expect("the front-end's port is free");
    let cache = Rc::new(RefCell::new(Cache::default()));
    loop {
        let (_, request) = endpoint.recv().await;
        let cache = cache.clone();
        let name = match request.body {
            ClientReq::Get => "get",
            ClientReq::Put(_) => "put",
        };
        weft::task::spawn_named(name, async move {
            if let Some(reply) = answer(index, store, bugs, &cache, &request.body).await {
                request.reply(reply);
            }
        });
    }
}

async fn answer(
    index: usize,
    store: NodeId,
    bugs: Bugs,
    cache: &Rc<RefCell<Cache>>,
    req: &ClientReq,
) -> Option<ClientReply> {
    let to = Addr::new(store, PORT);
    match *req {
        ClientReq::Put(value) => {
            let reply = call::<StoreReq, StoreReply>(to, StoreReq::Put(value), CALL_TIMEOUT);
            match reply.await.ok()? {
                StoreReply::Written => Some(ClientReply::Written),
                StoreReply::Leased(_) => None,
            }
        }
        ClientReq::Get => {
            if let Some(value) = cache.borrow().value {
                return Some(ClientReply::Value(value));
            }
            // The lease counts from the moment of asking: the grant is later.
            let asked = Instant::now();
            let req = StoreReq::Lease { front: index };
            let StoreReply::Leased(value) = call(to, req, CALL_TIMEOUT).await.ok()? else {
                return None;
            };
            let lease = {
                let mut cache = cache.borrow_mut();
                cache.lease += 1;
                cache.value = Some(value);
                cache.lease
            };
            let (cache, until) = (cache.clone(), asked.after(usable(bugs)));
            weft::task::spawn_named("lease timer", async move {
                time::sleep_until(until).await;
                let mut cache = cache.borrow_mut();
                if cache.lease == lease {
                    cache.value = None;
                }
            });
            Some(ClientReply::Value(value))
        }
    }
}
