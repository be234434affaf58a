//! PCT extended to messages, after PCTCP (Ozkan, Majumdar, Niksic, Befrouei, Weissenbacher,
//! "Randomized testing of distributed systems with probabilistic guarantees", OOPSLA 2018).
//!
//! PCTCP partitions a run's messages into chains (each chain ordered by causality), gives
//! every chain a random priority, and always delivers the highest-priority pending message; at
//! `depth - 1` change points the chain of the message being delivered drops below every other.
//! A bug that needs `d` ordering constraints among messages is then found with a probability
//! bounded below in the number of chains and messages, not in the number of interleavings.
//!
//! weft delivers a message at its send time plus a latency, so the priorities act through the
//! two decisions a message has:
//! - its latency: every message takes the network's least latency except those of the
//!   lowest-priority sender, which take a longer one, drawn uniformly (PCTCP starves the lowest
//!   chain while any other has a message pending; on a timed network the starved chain's
//!   messages are the slow ones, and how slow is drawn, since the greatest delay would also
//!   outlast every timeout);
//! - the order of messages due at the same instant: the highest sender priority first.
//!
//! The chains are the messages each task sends: a task's sends are ordered by its program, so
//! this is a valid chain partition, if not always the smallest one. The same priorities order
//! the tasks, as in PCT: one priority per task governs both what runs and whose messages arrive
//! first. Change points fall among scheduling decisions and sends (the run length is learned
//! from pilot runs, as for PCT); at one, the task about to run, or the task sending, drops below
//! every other.

use super::pct::Priorities;
use super::{below, draw_value, Rates, Strategy};
use crate::decision::DecisionKind;
use crate::ids::TaskId;

/// The PCTCP-style strategy: see the module's documentation.
pub struct Pctcp {
    priorities: Priorities,
    rates: Rates,
}

impl Pctcp {
    /// A strategy for bug depth `depth` (at least 1) over runs of about `steps_estimate`
    /// scheduling decisions and sends.
    pub fn new(seed: u64, rates: Rates, depth: u32, steps_estimate: u64) -> Pctcp {
        Pctcp {
            priorities: Priorities::new(seed, depth, steps_estimate),
            rates,
        }
    }
}

impl Strategy for Pctcp {
    fn next_task(&mut self, options: &[TaskId]) -> usize {
        self.priorities.next_task(options)
    }

    fn next_value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        draw_value(&mut self.priorities.rng, &self.rates, kind, bound)
    }

    fn next_latency(&mut self, sender: Option<TaskId>, bound: u64) -> u64 {
        // A message sent from outside any task (the test's set-up) takes the least latency.
        let Some(sender) = sender else {
            return 0;
        };
        self.priorities.step(|_| sender);
        let (above, seen) = self.priorities.rank(sender);
        if seen >= 2 && above == seen - 1 {
            1 + below(&mut self.priorities.rng, bound - 1)
        } else {
            0
        }
    }

    fn next_delivery(&mut self, senders: &[Option<TaskId>]) -> usize {
        self.priorities.highest_of(senders.iter().copied())
    }

    fn name(&self) -> &'static str {
        "pctcp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(n: usize) -> Vec<TaskId> {
        (0..n).map(TaskId::from_index).collect()
    }

    #[test]
    fn the_lowest_priority_sender_takes_a_longer_latency_and_the_others_the_least() {
        let mut s = Pctcp::new(7, Rates::default(), 1, 100);
        let all = tasks(4);
        let order: Vec<TaskId> = {
            let mut order = all.clone();
            order.sort_by_key(|&t| std::cmp::Reverse(s.priorities.priority(t)));
            order
        };
        let latencies: Vec<u64> = order.iter().map(|&t| s.next_latency(Some(t), 10)).collect();
        assert_eq!(latencies[..3], [0, 0, 0]);
        assert!((1..10).contains(&latencies[3]), "{latencies:?}");
    }

    #[test]
    fn simultaneous_messages_are_delivered_highest_sender_first() {
        let mut s = Pctcp::new(3, Rates::default(), 1, 100);
        let all = tasks(3);
        let best = all
            .iter()
            .copied()
            .max_by_key(|&t| s.priorities.priority(t))
            .unwrap();
        let senders: Vec<Option<TaskId>> = all.iter().map(|&t| Some(t)).collect();
        assert_eq!(senders[s.next_delivery(&senders)], Some(best));
        // A message from outside any task comes after every task's.
        assert_eq!(s.next_delivery(&[None, Some(best)]), 1);
    }

    #[test]
    fn a_change_point_at_a_send_demotes_the_sender_to_a_longer_latency() {
        let mut s = Pctcp::new(5, Rates::default(), 2, 1);
        let all = tasks(3);
        let top = all
            .iter()
            .copied()
            .max_by_key(|&t| s.priorities.priority(t))
            .unwrap();
        // depth 2 over a run of 1 step: the one change point is the first step, this send.
        assert!(s.next_latency(Some(top), 10) >= 1);
        assert_eq!(s.next_task(&all), s.priorities.highest(&all));
        assert_ne!(all[s.next_task(&all)], top);
    }
}
