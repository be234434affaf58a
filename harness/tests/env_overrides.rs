//! WEFT_SEED, WEFT_CASES, WEFT_SHRINK_TIME and WEFT_REPLAY. One test in its own binary, because
//! it sets process environment variables.

use std::time::Duration;
use weft::model::{Gen, StateMachine, Var, Vars};
use weft::net::{call, Addr, Endpoint, Request};
use weft::Sim;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Incr,
}

/// A counter that forgets every fourth increment.
async fn server() {
    let endpoint = Endpoint::<Request<Op, u64>>::bind(1).unwrap();
    let (mut value, mut calls) = (0, 0);
    loop {
        let (_, request) = endpoint.recv().await;
        calls += 1;
        if calls % 4 != 0 {
            value += 1;
        }
        request.reply(value);
    }
}

struct Forgetful;

impl StateMachine for Forgetful {
    type State = u64;
    type Command = Op;
    type Result = u64;
    type System = Addr;
    fn setup(&self, sim: &mut Sim) -> Addr {
        Addr::new(sim.add_node("counter", server), 1)
    }
    fn init(&self) -> u64 {
        0
    }
    fn command(&self, _: &u64, _: &mut Gen) -> Op {
        Op::Incr
    }
    fn next_state(&self, s: &u64, _: &Op, _: Var) -> u64 {
        s + 1
    }
    fn postcondition(&self, s: &u64, _: &Op, r: &u64, _: &Vars<u64>) -> Result<(), String> {
        if *r == s + 1 {
            Ok(())
        } else {
            Err(format!("expected {}, got {r}", s + 1))
        }
    }
    async fn run(&self, a: &Addr, op: &Op, _: &Vars<u64>) -> u64 {
        call(*a, op.clone(), Duration::from_secs(1)).await.unwrap()
    }
}

#[test]
fn environment_overrides() {
    let dir = std::env::temp_dir().join(format!("weft-env-{}", std::process::id()));
    // WEFT_CASES bounds the search (a single case with 0-3 commands cannot fail).
    std::env::set_var("WEFT_CASES", "1");
    std::env::set_var("WEFT_SEED", "3");
    let r = weft::check(Forgetful)
        .name("env")
        .cases(5000)
        .seed(1)
        .regressions(Some(dir.clone()))
        .report();
    assert_eq!((r.cases_run, r.seed), (1, 3));
    // With more cases it fails; WEFT_SHRINK_TIME=0 cuts shrinking short.
    std::env::set_var("WEFT_CASES", "5000");
    std::env::set_var("WEFT_SHRINK_TIME", "0");
    let r = weft::check(Forgetful)
        .name("env")
        .regressions(Some(dir.clone()))
        .report();
    let found = r.found.expect("found");
    assert!(found.shrink.as_ref().unwrap().cut_short.is_some());
    let file = found.replay_file.clone().unwrap();
    std::env::remove_var("WEFT_SHRINK_TIME");
    // WEFT_REPLAY replays exactly that file, whatever the seed and the regressions, in the
    // check that recorded it (named "env")...
    std::env::set_var("WEFT_REPLAY", &file);
    std::env::set_var("WEFT_CASES", "1");
    let r = weft::check(Forgetful)
        .name("env")
        .regressions(None)
        .report();
    assert_eq!(r.cases_run, 1);
    let replayed = r.found.expect("the replay fails");
    assert_eq!(replayed.run.report.log, found.run.report.log);
    // ... and every other check runs as usual: its own one case, which passes.
    let r = weft::check(Forgetful)
        .name("other")
        .regressions(None)
        .report();
    assert_eq!((r.cases_run, r.seed), (1, 3));
    assert!(r.found.is_none(), "not the replay: a search of one case");
    std::env::remove_var("WEFT_REPLAY");
    std::env::remove_var("WEFT_CASES");
    std::env::remove_var("WEFT_SEED");
    std::fs::remove_dir_all(&dir).unwrap();
}
