//! Addresses before nodes exist: `Sim::node_id` names a node so that peers can be configured
//! with its address before it is added; `add_node` with that name fills it in.

use std::time::Duration;
use weft::net::{call, Addr, Endpoint, Request};
use weft::{Config, Sim, Source};

#[test]
fn a_node_named_first_is_the_one_added_later_and_peers_reach_it() {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    let pong = sim.node_id("pong");
    assert_eq!(
        sim.node_id("pong"),
        pong,
        "naming twice gives the same node"
    );
    // "ping" is added first and told pong's address before pong exists.
    let ping = sim.add_node("ping", move || async move {
        let endpoint = Endpoint::<Request<u64, u64>>::bind(1).unwrap();
        loop {
            let (_, request) = endpoint.recv().await;
            let answer = call::<u64, u64>(Addr::new(pong, 1), request.body, Duration::from_secs(1));
            request.reply(answer.await.unwrap() + 1);
        }
    });
    let added = sim.add_node("pong", || async {
        let endpoint = Endpoint::<Request<u64, u64>>::bind(1).unwrap();
        loop {
            let (_, request) = endpoint.recv().await;
            request.reply(request.body * 10);
        }
    });
    assert_eq!(added, pong);
    let (report, out) = sim.run(async move {
        let answer = call::<u64, u64>(Addr::new(ping, 1), 4, Duration::from_secs(1)).await;
        (answer.unwrap(), weft::node::name(pong), weft::node::count())
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    assert_eq!(out.unwrap(), (41, "pong".to_string(), 3));
}

#[test]
#[should_panic(expected = "node \"ghost\" was named (Sim::node_id) but never added")]
fn a_node_named_but_never_added_is_an_error() {
    let mut sim = Sim::new(Config::default(), Source::zeros());
    sim.node_id("ghost");
    let _ = sim.run(async {});
}
