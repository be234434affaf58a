//! The ABA race over a network with latency (`aba-net`): a race in the order messages arrive.
//! PCTCP-style priorities over senders find it in a few hundred cases; the README's race table
//! shows random and PCT missing it within 20,000 on most seeds.

use weft::decision::DecisionKind;
use weft::internals::fuzz::{fuzz, FuzzConfig};
use weft::internals::scenario::{Scenario, Setup};
use weft::internals::shrink::nondefault_execution;
use weft::internals::Run;
use weft::strategy::StrategyKind;
use weft::{Detail, Source};
use weft_scenarios::aba::ABA_NET;

fn run(source: Source, detail: Detail) -> Run {
    ABA_NET.run(
        &Setup {
            detail,
            ..Setup::default()
        },
        source,
    )
}

#[test]
fn pctcp_finds_the_message_order_race_and_it_shrinks_to_one_slow_message() {
    for seed in 0..3 {
        let cfg = FuzzConfig {
            strategy: StrategyKind::Pctcp,
            ..FuzzConfig::new("aba-net", seed, 5_000)
        };
        let found = fuzz(&run, &cfg)
            .found
            .unwrap_or_else(|| panic!("pctcp seed {seed}: not found in 5,000 cases"));
        assert!(found.shrink.as_ref().unwrap().cut_short.is_none());
        let decisions = nondefault_execution(&found.run.report.log);
        assert!(
            !decisions.is_empty()
                && decisions
                    .iter()
                    .any(|(_, d)| d.kind == DecisionKind::Latency),
            "seed {seed}: the race is in message timing, not in the default run: {decisions:?}\n{}",
            found.counterexample
        );
        weft::internals::shrink::check_local_minimum(&|s| run(s, Detail::Quiet), &found.run)
            .unwrap_or_else(|why| panic!("pctcp seed {seed}: {why}"));
    }
}
