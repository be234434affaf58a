//! The store: one task answers requests in order. A lease request gets the value and a lease
//! until `now + LEASE` on the store's clock; a write first sleeps until every lease granted
//! has run out, then applies.

use crate::{StoreCall, StoreReply, StoreReq, LEASE, PORT};
use weft::net::Endpoint;
use weft::time::{self, Instant};

pub(crate) async fn serve(fronts: usize) {
    let endpoint = Endpoint::<StoreCall>::bind(PORT).expect("the store's port is free");
    let mut value = 0;
    // When each front-end's lease runs out, on this node's clock.
    let mut leased_until = vec![Instant::now(); fronts];
    loop {
        let (_, request) = endpoint.recv().await;
        match request.body {
            StoreReq::Lease { front } => {
                leased_until[front] = Instant::now().after(LEASE);
                request.reply(StoreReply::Leased(value));
            }
            StoreReq::Put(new) => {
                let last = leased_until.iter().copied().max();
                if let Some(last) = last {
                    time::sleep_until(last).await;
                }
                value = new;
                request.reply(StoreReply::Written);
            }
        }
    }
}
