//! Shrinking a failing run, PULSE-style: both the commands and the interleaving.
//!
//! Shrinking works on the recorded decision sequence (internal shrinking, as Hypothesis
//! does), with structure: for model-based cases it deletes whole commands, deletes branches,
//! moves commands from a branch into the prefix, and lowers generation choices; for every run
//! it sets non-default execution decisions (preemptions, delays, drops, faults) to 0, deletes
//! them, and lowers them. Each candidate runs with replay-with-fallback (execution decisions
//! matched by address, so an edit does not shift the meaning of later decisions); it is kept
//! only if it fails the same way (the same failure kind, or any violated property: see
//! `FailureKind::shrinks_with`) and is strictly smaller (fewer commands, then fewer
//! branches, then fewer non-default decisions, then smaller values).
//!
//! The result is a local minimum: no single command can be removed, and no single non-default
//! execution decision set to 0, without losing the failure. Shrinking is deterministic; only
//! its time and candidate bounds can cut it short, and then it says so.
//!
//! Which local minimum a shrink reaches depends on where it started. [`shrink_and_search`]
//! then looks for a smaller failure elsewhere: fresh cases of 0, 1, 2... commands whose seeds
//! depend on nothing the search did, so that every search that finds the same bug ends on the
//! same counterexample whenever one of them fails.

use super::Run;
use crate::decision::{Decision, DecisionKind, DecisionLog};
use crate::model::{Span, Structure};
use crate::sim::FailureKind;
use crate::source::Source;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, Instant}; // hygiene: allowed (shrinking runs outside the simulation)

/// Bounds of a shrink.
#[derive(Clone, Debug)]
pub struct ShrinkConfig {
    /// Wall-clock bound.
    pub time_max: Duration,
    /// Most candidates tried.
    pub candidates_max: usize,
    /// Set from outside (an interrupted search, a search out of time) to stop at the smallest
    /// failing run found so far.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Simulated steps spent on fresh cases at each bound on the number of commands by the
    /// search for a smaller case after the local minimum ([`shrink_and_search`]) on free cases,
    /// and half as many on cases held to the local minimum's kinds of command: many short
    /// cases or fewer long ones, for about the same time; 0: no search.
    pub small_steps: u64,
}

impl Default for ShrinkConfig {
    fn default() -> Self {
        ShrinkConfig {
            time_max: Duration::from_secs(60),
            candidates_max: 200_000,
            stop: None,
            small_steps: 40_000,
        }
    }
}

/// The result of a shrink.
#[derive(Debug)]
pub struct Shrunk {
    /// The smallest failing run found.
    pub run: Run,
    /// How the shrink went.
    pub stats: ShrinkStats,
    /// The local minimum the failure as found shrank to, when the search for a smaller case
    /// replaced it (`stats.from_small_case`): kept, so that nothing found is lost.
    pub local: Option<Run>,
    /// The seed of the fresh case the result was shrunk from, when it replaced the local
    /// minimum (a swarm search's profile is drawn from it).
    pub fresh_seed: Option<u64>,
}

/// How a shrink went.
#[derive(Clone, Debug)]
pub struct ShrinkStats {
    /// Candidates run.
    pub candidates: usize,
    /// Candidates kept.
    pub accepted: usize,
    /// Time spent.
    pub elapsed: Duration,
    /// Why shrinking stopped before a local minimum, if it did.
    pub cut_short: Option<String>,
    /// Fresh small cases run by the search after the local minimum.
    pub small_cases: u64,
    /// Whether the result came from that search (a fresh case, shrunk) and tells another
    /// story than the local minimum of the failure as found (which the report then names).
    pub from_small_case: bool,
    /// Why the search for a smaller case stopped before it tried every bound on the number
    /// of commands (out of time, or stopped from outside), if it did: the result is a local
    /// minimum, but another seed's search may end on a smaller counterexample.
    pub small_cut_short: Option<String>,
}

/// The size of a failing run; the derived order is the shrinker's: smaller is simpler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SizeKey {
    commands: u64,
    branches: u64,
    exec_nondefault: u64,
    exec_sum: u64,
    /// Commands in the parallel branches: between cases otherwise equal, the one with more
    /// of its commands in the sequential prefix reads simpler (a value pushed before the
    /// race, not by one of the racing clients).
    parallel: u64,
    gen_nondefault: u64,
    gen_sum: u64,
    /// Generation values weighted by how early they come among the generation decisions:
    /// between cases otherwise equal, the one with the smaller values first is the canonical
    /// one.
    gen_weighted: u64,
    /// Sum of the positions of the non-default execution decisions among the execution
    /// decisions: between runs otherwise equal, the one whose decisions come earlier is the
    /// canonical one.
    exec_positions: u64,
    decisions: u64,
}

/// The generation decisions' part of [`SizeKey`]: `(gen_nondefault, gen_sum, gen_weighted)`.
fn generation_key<'a>(generation: impl Iterator<Item = &'a Decision> + Clone) -> (u64, u64, u64) {
    let len = generation.clone().count() as u64;
    let (mut nondefault, mut sum, mut weighted) = (0, 0, 0u64);
    for (index, d) in generation.enumerate() {
        let value = d.value.min(1 << 20);
        nondefault += u64::from(d.value != 0);
        sum += value;
        weighted = weighted.saturating_add(value.saturating_mul(len - index as u64));
    }
    (nondefault, sum, weighted)
}

fn size_key(r: &Run) -> SizeKey {
    let (mut exec_nondefault, mut exec_sum, mut exec_positions) = (0, 0, 0);
    // Positions count within each kind of decision: how many execution decisions a run draws
    // does not change how its commands compare, nor the reverse.
    let decisions = &r.report.log.decisions;
    let generation = decisions.iter().filter(|d| d.kind.is_generation());
    let (gen_nondefault, gen_sum, gen_weighted) = generation_key(generation);
    let execution = decisions.iter().filter(|d| !d.kind.is_generation());
    for (index, d) in execution.enumerate() {
        exec_nondefault += u64::from(d.value != 0);
        exec_sum += d.value.min(1 << 20);
        if d.value != 0 {
            exec_positions += index as u64;
        }
    }
    let (commands, branches) = r.size();
    let parallel = (r.case.as_ref()).map_or(0, |c| {
        let s = &c.structure;
        s.branches
            .iter()
            .map(|(_, commands)| commands.len())
            .sum::<usize>() as u64
    });
    SizeKey {
        commands: commands as u64,
        branches: branches as u64,
        exec_nondefault,
        exec_sum,
        parallel,
        gen_nondefault,
        gen_sum,
        gen_weighted,
        exec_positions,
        decisions: r.report.log.len() as u64,
    }
}

struct Shrinker<'a> {
    run: &'a dyn Fn(Source) -> Run,
    kind: FailureKind,
    current: Run,
    key: SizeKey,
    config: ShrinkConfig,
    started: Instant,
    candidates: usize,
    accepted: usize,
    cut_short: Option<String>,
    /// Fingerprints of the candidates run: a run is a function of its decisions, and the
    /// size bound only falls, so a candidate not kept once is never kept; the passes meet
    /// the same candidates again after each kept edit elsewhere (a fifth of a store's).
    tried: BTreeSet<(u64, u64)>,
}

fn split(log: &DecisionLog) -> (Vec<Decision>, Vec<Decision>) {
    log.decisions.iter().partition(|d| d.kind.is_generation())
}

/// Two independent 64-bit hashes of a candidate's decisions, addresses included (replay
/// matches execution decisions by address).
fn fingerprint(generation: &[Decision], execution: &[Decision]) -> (u64, u64) {
    let mix = crate::decision::mix;
    let mut hashes = (1, 2);
    for d in generation.iter().chain(execution) {
        let what = (d.value ^ d.bound.rotate_left(32) ^ ((d.kind as u64) << 56))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        hashes = (
            mix(hashes.0 ^ d.address.key, what),
            mix(hashes.1 ^ d.address.target, what.rotate_left(29)),
        );
    }
    hashes
}

fn join(generation: &[Decision], execution: &[Decision]) -> DecisionLog {
    DecisionLog {
        decisions: generation.iter().chain(execution).copied().collect(),
    }
}

impl Shrinker<'_> {
    fn out_of_budget(&mut self) -> bool {
        if self.cut_short.is_some() {
            return true;
        }
        if self.candidates >= self.config.candidates_max {
            self.cut_short = Some(format!(
                "the candidate bound ({}) was reached",
                self.config.candidates_max
            ));
        } else if (self.config.stop.as_ref())
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            self.cut_short = Some("the search was stopped".to_string());
        } else if self.started.elapsed() >= self.config.time_max {
            self.cut_short = Some(format!(
                "the time bound ({:?}) was reached",
                self.config.time_max
            ));
        }
        self.cut_short.is_some()
    }

    /// Runs a candidate; keeps it if it fails the same way and is smaller. A candidate run
    /// before is not run again.
    fn attempt(&mut self, generation: &[Decision], execution: &[Decision]) -> bool {
        let seen = fingerprint(generation, execution);
        if self.tried.contains(&seen) {
            return false;
        }
        self.run_candidate(generation, execution, seen).is_ok()
    }

    /// As [`Shrinker::attempt`]; a candidate that was run and not kept comes back, so that
    /// its decisions can seed variants. `Err(None)`: out of budget, nothing ran.
    fn attempt_or_probe(
        &mut self,
        generation: &[Decision],
        execution: &[Decision],
    ) -> Result<(), Option<Box<Run>>> {
        self.run_candidate(generation, execution, fingerprint(generation, execution))
    }

    /// Runs a candidate whose fingerprint is `seen` (remembered, so that [`Shrinker::attempt`]
    /// does not run it again); as [`Shrinker::attempt_or_probe`].
    fn run_candidate(
        &mut self,
        generation: &[Decision],
        execution: &[Decision],
        seen: (u64, u64),
    ) -> Result<(), Option<Box<Run>>> {
        if self.out_of_budget() {
            return Err(None);
        }
        self.candidates += 1;
        self.tried.insert(seen);
        let log = join(generation, execution);
        let report = (self.run)(Source::replay_with_fallback(&log));
        let same = report
            .report
            .outcome
            .failure()
            .is_some_and(|f| self.kind.shrinks_with(f.kind));
        if !same {
            return Err(Some(Box::new(report)));
        }
        let key = size_key(&report);
        if key >= self.key {
            return Err(Some(Box::new(report)));
        }
        self.key = key;
        self.current = report;
        self.accepted += 1;
        Ok(())
    }

    fn structure(&self) -> Option<Structure> {
        self.current.case.as_ref().map(|c| c.structure.clone())
    }

    /// Tries each structural edit of the generation decisions with the execution decisions
    /// as they are, starting at `start` and going round, then, if none was kept, each edit
    /// marked in `with_variants` paired with variants of the execution decisions. A deleted
    /// command takes its steps and messages with it, and a long-lived task (a server) may
    /// then draw differently, so a decision that mattered may now sit at another address:
    /// the variants move each non-default decision onto a nearby decision of the same kind in
    /// the edited run (or, for a recording without addresses, shift them all earlier by
    /// position). Plain edits first: a long case loses its many irrelevant commands one
    /// candidate each, and the variants (up to 48 per edit) are paid only where the failure
    /// needs them, and only for single edits (a group of commands that needs its decisions
    /// moved goes one command at a time). Returns the index of the edit kept.
    fn attempt_each_then_variants(
        &mut self,
        candidates: &[Vec<Decision>],
        with_variants: &[bool],
        execution: &[Decision],
        start: usize,
    ) -> Option<usize> {
        let n = candidates.len();
        let mut probes: Vec<Option<Vec<Decision>>> = vec![None; n];
        for i in (0..n).map(|k| (start + k) % n) {
            match self.attempt_or_probe(&candidates[i], execution) {
                Ok(()) => return Some(i),
                Err(None) => return None,
                Err(Some(probe)) => probes[i] = Some(split(&probe.report.log).1),
            }
        }
        let addressed = execution.iter().any(|d| d.address.key != 0);
        for (i, seen) in probes.into_iter().enumerate() {
            let Some(seen) = seen.filter(|_| with_variants[i]) else {
                continue;
            };
            let variants = if addressed {
                moved(execution, &seen)
            } else {
                variants(execution)
            };
            if self.try_each(&candidates[i], variants) {
                return Some(i);
            }
        }
        None
    }

    /// Tries candidate execution sequences in order until one is kept.
    fn try_each(
        &mut self,
        generation: &[Decision],
        candidates: impl IntoIterator<Item = Vec<Decision>>,
    ) -> bool {
        candidates.into_iter().any(|e| self.attempt(generation, &e))
    }

    /// Deletes whole commands, largest groups first; then branches; then moves branch
    /// commands into the prefix. After a kept edit the next round starts at the same place in
    /// the new list (and goes round), so a long case loses its commands one after the other in
    /// about one candidate each, not one round of every group each.
    fn commands_pass(&mut self) -> bool {
        let (mut progress, mut at) = (false, 0);
        while let Some(s) = self.structure() {
            let (generation, execution) = split(&self.current.report.log);
            let (candidates, with_variants) = structural_edits(&generation, &s);
            // Two clients' commands exchanged (canonical order: the client that acts first
            // is client 1), with the execution decisions as they are and all at default.
            let swaps = branch_swaps(&generation, &s);
            let zeroed: Vec<Decision> = (execution.iter())
                .map(|d| Decision::new(d.kind, d.bound, 0))
                .collect();
            let start = at.min(candidates.len().saturating_sub(1));
            match self.attempt_each_then_variants(&candidates, &with_variants, &execution, start) {
                Some(i) => at = i,
                None if (swaps.iter())
                    .any(|g| self.attempt(g, &execution) || self.attempt(g, &zeroed)) => {}
                None => break,
            }
            progress = true;
        }
        progress
    }

    /// Execution decisions: zero a whole suffix; then zero runs of non-default decisions,
    /// halving the run's length down to one (delta debugging: a run with hundreds of
    /// irrelevant decisions, background traffic's latencies, loses most of them in a few
    /// candidates); then delete each one; then lower each one.
    fn execution_pass(&mut self) -> bool {
        let mut progress = self.zero_suffixes();
        let count = self.nondefault_count();
        let mut run = count.div_ceil(2);
        while run > 1 {
            progress |= self.sweep(run, &|e, chunk| chunk.iter().for_each(|&i| e[i].value = 0));
            run = run.div_ceil(2).min(run - 1);
        }
        progress |= self.sweep(1, &|e, chunk| e[chunk[0]].value = 0);
        progress |= self.sweep(1, &|e, chunk| {
            e.remove(chunk[0]);
        });
        progress | self.lower_each()
    }

    fn nondefault_count(&self) -> usize {
        let (_, execution) = split(&self.current.report.log);
        execution.iter().filter(|d| d.value != 0).count()
    }

    /// Zeroes everything from a point on, the point moving halfway to the end each time,
    /// until no suffix can be zeroed.
    fn zero_suffixes(&mut self) -> bool {
        let mut progress = false;
        loop {
            let (generation, execution) = split(&self.current.report.log);
            let Some(first) = execution.iter().position(|d| d.value != 0) else {
                return progress;
            };
            let mut points = vec![first];
            while let Some(&p) = points.last() {
                let next = p + (execution.len() - p).div_ceil(2);
                if next >= execution.len() {
                    break;
                }
                points.push(next);
            }
            let suffixes = points.iter().map(|&p| {
                let mut e = execution.clone();
                e[p..].iter_mut().for_each(|d| d.value = 0);
                e
            });
            if !self.try_each(&generation, suffixes) {
                return progress;
            }
            progress = true;
        }
    }

    /// Applies `edit` to each run of `run` consecutive non-default execution decisions
    /// (their indices), in order, keeping every edit that keeps the failure. After a kept
    /// edit the sweep goes on from the same place in the new run, so one sweep costs about
    /// one candidate per run of decisions, not one per decision per kept edit.
    fn sweep(&mut self, run: usize, edit: &dyn Fn(&mut Vec<Decision>, &[usize])) -> bool {
        let (mut at, mut progress) = (0, false);
        loop {
            let (generation, execution) = split(&self.current.report.log);
            let nondefault: Vec<usize> = (0..execution.len())
                .filter(|&i| execution[i].value != 0)
                .collect();
            if at >= nondefault.len() || self.out_of_budget() {
                return progress;
            }
            let chunk = &nondefault[at..(at + run).min(nondefault.len())];
            let mut candidate = execution.clone();
            edit(&mut candidate, chunk);
            if self.attempt(&generation, &candidate) {
                progress = true;
            } else {
                at += run;
            }
        }
    }

    /// Lowers each non-default execution decision (to values other than 0, which the sweeps
    /// tried), keeping the first lowering that keeps the failure.
    fn lower_each(&mut self) -> bool {
        let (mut at, mut progress) = (0, false);
        loop {
            let (generation, execution) = split(&self.current.report.log);
            let Some(i) = (0..execution.len())
                .filter(|&i| execution[i].value != 0)
                .nth(at)
            else {
                return progress;
            };
            let lowered = lowerings(execution[i].value).filter(|&l| l != 0).map(|l| {
                let mut e = execution.clone();
                e[i].set_value(l);
                e
            });
            if self.try_each(&generation, lowered) {
                progress = true;
            } else {
                at += 1;
            }
            if self.out_of_budget() {
                return progress;
            }
        }
    }

    /// Generation choices inside commands (arguments, which command): toward 0, first every
    /// copy of a repeated value together (the same key in several commands), then one by one.
    /// After a kept lowering the next round starts at the same place in the new list (and goes
    /// round), as the commands pass does.
    fn generation_pass(&mut self) -> bool {
        let (mut progress, mut at) = (false, 0);
        while let Some(i) = self.lower_generation_once(at) {
            (progress, at) = (true, i);
        }
        progress
    }

    /// Tries the generation lowerings of the current run in order, starting at `start` and
    /// going round; the index of the one kept.
    fn lower_generation_once(&mut self, start: usize) -> Option<usize> {
        let (generation, execution) = split(&self.current.report.log);
        let flags = self.flag_positions();
        // A field: the same argument in several commands, with the same value.
        let choice = |j: usize| !flags.contains(&j) && generation[j].value != 0;
        let mut candidates: Vec<(Vec<usize>, u64)> = Vec::new();
        for members in self.copies(&generation, &choice) {
            let first = generation[members[0]];
            candidates.extend(
                lowerings(first.value)
                    .filter(|&lower| first.is_option_start(lower))
                    .map(|lower| (members.clone(), lower)),
            );
        }
        for (i, d) in generation.iter().enumerate() {
            if d.value != 0 && !flags.contains(&i) {
                candidates.extend(
                    lowerings(d.value)
                        .filter(|&lower| d.is_option_start(lower))
                        .map(|lower| (vec![i], lower)),
                );
            }
        }
        let n = candidates.len();
        (0..n).map(|k| (start + k) % n).find(|&i| {
            let (members, lower) = &candidates[i];
            let mut g = generation.clone();
            for &j in members {
                g[j].value = *lower;
            }
            self.attempt(&g, &execution)
        })
    }

    /// For each generation decision, its offset within its command's span (`usize::MAX`
    /// outside any command): the same field of several commands has the same offset.
    fn field_offsets(&self, len: usize) -> Vec<usize> {
        let mut offset = vec![usize::MAX; len];
        if let Some(s) = self.structure() {
            let spans = s
                .prefix
                .iter()
                .chain(s.branches.iter().flat_map(|(_, c)| c.iter()));
            for &(start, end) in spans {
                for (j, o) in offset.iter_mut().enumerate().take(end.min(len)).skip(start) {
                    *o = j - start;
                }
            }
        }
        offset
    }

    /// Pairs of edits that single edits cannot reach, for small cases, cheapest family first:
    /// two commands deleted at once (a checkout and the checkin that undoes it) or two
    /// arguments exchanged, two adjacent execution decisions swapped, the decisions placed
    /// canonically, a command traded for a fault, a choice changed while a decision goes
    /// back to default or moves with it, two choices changed together, a command deleted
    /// while another command's choice takes another option (a smaller pool that fails with
    /// one command fewer), and the injected faults, then the schedule, searched afresh. True
    /// once one is kept.
    fn deep_pass(&mut self) -> bool {
        if self.keep_pass() {
            return true;
        }
        let Some(s) = self.structure() else {
            return self.swap_pass();
        };
        let sections = command_sections(&s);
        if sections.len() > DEEP_COMMANDS_MAX {
            return self.swap_pass();
        }
        let (generation, execution) = split(&self.current.report.log);
        let flags = self.flag_positions();
        // Cheapest first: each kept edit starts the single passes again and then this pass
        // from the top, so the large families run in full only once the small ones are done.
        let mut paired: Vec<Vec<Decision>> = Vec::new();
        for (i, &a) in sections.iter().enumerate() {
            for &b in &sections[i + 1..] {
                paired.push(delete_sections(&generation, &[a, b]));
            }
        }
        paired.extend(exchanges(&generation, &flags));
        if paired.iter().any(|g| self.attempt(g, &execution))
            || self.swap_pass()
            || self.slide_pass()
            || self.trade_pass(&sections)
            || self.rechoose_pass()
            || self.lower_with_moves_pass()
            || self.replace_pass(&sections)
            || self.pair_pass()
            || self.linked_pass(&sections)
        {
            return true;
        }
        for &section in &sections {
            let ((start, end), _) = section;
            for (j, d) in generation.iter().enumerate() {
                if flags.contains(&j) || (start..end).contains(&j) || d.bound > LOWER_ALL_BELOW {
                    continue;
                }
                // Any other option: with a command fewer the case is smaller even if this
                // choice goes up (a larger pool that fails without a checkout).
                for value in (0..d.bound).filter(|&v| v != d.value && d.is_option_start(v)) {
                    let mut g = generation.clone();
                    g[j].value = value;
                    if self.attempt(&delete_sections(&g, &[section]), &execution) {
                        return true;
                    }
                    if self.out_of_budget() {
                        return false;
                    }
                }
            }
        }
        self.fault_pass(&sections) || self.schedule_pass(&sections)
    }

    /// The injected faults searched afresh, bounded and exhaustive (as the schedule pass
    /// searches races): for the case and the cases one edit away (a command deleted, one
    /// choice at any other option), every run whose only non-default decisions are faults
    /// at the first fault ticks (their targets, and which of a crashed node's unsynced
    /// writes are lost or torn): the first tick's window first, then the first two, up to
    /// the failure's last fault tick, each with the fewest faults first (at most
    /// [`FAULT_SEARCH_DEVIATIONS_MAX`]). The run found keeps none of
    /// the failure's other decisions: a crash found behind message delays and random draws
    /// that made another node the leader, on another target, fails the same way on the
    /// default leader with the delays gone, and every seed that found the crash at some
    /// tick meets the same small runs. True once a smaller run is kept.
    fn fault_pass(&mut self, sections: &[(Span, usize)]) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        let nondefault = execution.iter().filter(|d| d.value != 0).count();
        let Some(last) = execution
            .iter()
            .rposition(|d| d.kind == DecisionKind::Fault && d.value != 0)
        else {
            return false;
        };
        if nondefault > SCHEDULE_SEARCH_DECISIONS_MAX {
            return false;
        }
        let ticks = execution[..=last]
            .iter()
            .filter(|d| d.kind == DecisionKind::Fault)
            .count() as u32;
        let most = (nondefault as u32).min(FAULT_SEARCH_DEVIATIONS_MAX);
        let flags = self.flag_positions();
        // The case, with a command fewer, and with any other option of one choice: fewer
        // faults make a smaller run even when a command's argument goes up (the node
        // isolated while the default leader crashes, not the leader itself).
        let mut cases: Vec<Vec<Decision>> = vec![generation.clone()];
        for &section in sections.iter().rev() {
            cases.push(delete_sections(&generation, &[section]));
        }
        let mut changed: Vec<Vec<Decision>> = Vec::new();
        for (j, d) in generation.iter().enumerate() {
            if flags.contains(&j) || d.bound > LOWER_ALL_BELOW {
                continue;
            }
            for value in (0..d.bound).filter(|&v| v != d.value && d.is_option_start(v)) {
                let mut g = generation.clone();
                g[j].value = value;
                changed.push(g);
            }
        }
        changed.sort_by_cached_key(|g| generation_key(g.iter()));
        cases.extend(changed);
        // Bounded by simulated steps (of runs as long as the failure's).
        let steps = self.current.report.steps.max(1);
        let mut runs_left = (FAULT_SEARCH_STEPS / steps).max(FAULT_SEARCH_RUNS);
        // The earliest ticks first, in every case (depth-first order reaches them last).
        for window in 1..=ticks {
            for g in &cases {
                let mut memo = super::explore::Memo::default();
                for deviations in 1..=most {
                    if self.out_of_budget() || runs_left == 0 {
                        return false;
                    }
                    let cfg = super::explore::ExploreConfig {
                        preemptions: deviations,
                        latency_options: 0,
                        event_order: false,
                        schedule: false,
                        fault_ticks: window,
                        runs_max: FAULT_SEARCH_RUNS.min(runs_left),
                        stop_at_failure: true,
                    };
                    let (runs, found) = self.explore_and_keep(g, &cfg, &mut memo);
                    runs_left = runs_left.saturating_sub(runs);
                    match found {
                        None => continue,
                        Some(true) => return true,
                        // The fewest faults this window needs: more are not smaller.
                        Some(false) => break,
                    }
                }
            }
        }
        false
    }

    /// Explores the case `generation` with `cfg`, its runs counted as candidates, and keeps
    /// the first run that fails the same way if it is smaller. Returns the runs made and what
    /// was found: `None` no failure, `Some(true)` a smaller one (kept), `Some(false)` one not
    /// smaller.
    fn explore_and_keep(
        &mut self,
        generation: &[Decision],
        cfg: &super::explore::ExploreConfig,
        memo: &mut super::explore::Memo,
    ) -> (u64, Option<bool>) {
        let kind = self.kind;
        let same =
            |r: &Run| (r.report.outcome.failure()).is_some_and(|f| kind.shrinks_with(f.kind));
        let explored = super::explore::explore_remembering(self.run, generation, cfg, &same, memo);
        self.candidates += explored.runs as usize;
        let Some(found) = explored.first_failure else {
            return (explored.runs, None);
        };
        let key = size_key(&found);
        if key >= self.key {
            return (explored.runs, Some(false));
        }
        self.key = key;
        self.current = found;
        self.accepted += 1;
        (explored.runs, Some(true))
    }

    /// The non-default execution decisions of a small failure that is not a race alone (the
    /// schedule pass re-searches races): at most [`RECHOOSE_DECISIONS_MAX`] of them, else
    /// none.
    fn movable_decisions(&self) -> Vec<usize> {
        let (_, execution) = split(&self.current.report.log);
        let nondefault: Vec<usize> = (0..execution.len())
            .filter(|&i| execution[i].value != 0)
            .collect();
        let race = nondefault.iter().all(|&i| is_race_kind(execution[i].kind));
        if race || nondefault.len() > RECHOOSE_DECISIONS_MAX {
            return Vec::new();
        }
        nondefault
    }

    /// One generation choice lowered while the non-default execution decisions move with it:
    /// the lowered case is run once to see its decisions, then tried with each decision
    /// carried to a nearby decision of the same kind ([`moved`]). A case through another
    /// coordinator, or on another key, sends its messages from other tasks, so the delay
    /// that made it fail sits at another address; lowering alone loses it, and seeds then
    /// stop at whichever node or key their search happened on. Choices whose lowered case
    /// runs exactly as an earlier one (two values of one weighted choice) are tried once.
    /// True once one is kept.
    fn lower_with_moves_pass(&mut self) -> bool {
        if self.movable_decisions().is_empty() {
            return false;
        }
        let (generation, execution) = split(&self.current.report.log);
        let flags = self.flag_positions();
        let choice = |j: usize| !flags.contains(&j) && generation[j].bound <= LOWER_ALL_BELOW;
        // The copies of a repeated value first (the key of both adds), then each choice.
        let mut fields = self.copies(&generation, &choice);
        fields.extend(
            (0..generation.len())
                .filter(|&j| choice(j))
                .map(|j| vec![j]),
        );
        let mut runs_seen = std::collections::BTreeSet::new();
        for members in fields {
            let d = generation[members[0]];
            // Copies go to the simplest value only: the costly moves are paid once per group.
            let most = if members.len() > 1 {
                d.value.min(1)
            } else {
                d.value
            };
            for value in (0..most).filter(|&v| d.is_option_start(v)) {
                let mut g = generation.clone();
                for &j in &members {
                    g[j].value = value;
                }
                let probe = match self.attempt_or_probe(&g, &execution) {
                    Ok(()) => return true,
                    Err(None) => return false,
                    Err(Some(probe)) => probe,
                };
                if !runs_seen.insert(probe.report.trace_hash) {
                    continue;
                }
                let seen = split(&probe.report.log).1;
                if self.try_each(&g, moved(&execution, &seen)) {
                    return true;
                }
            }
        }
        false
    }

    /// The fields repeated in several commands among the generation choices `choice` accepts:
    /// for each value at one offset in its command (the same argument) that two or more
    /// commands share, with the same bound and options, their positions.
    fn copies(&self, generation: &[Decision], choice: &dyn Fn(usize) -> bool) -> Vec<Vec<usize>> {
        let offset = self.field_offsets(generation.len());
        let same = |j: usize, k: usize| {
            offset[k] == offset[j]
                && generation[k] == generation[j]
                && generation[k].address.target == generation[j].address.target
        };
        let mut groups = Vec::new();
        for j in (0..generation.len()).filter(|&j| choice(j) && offset[j] != usize::MAX) {
            if (0..j).any(|k| choice(k) && same(j, k)) {
                continue; // counted with the first copy
            }
            let members: Vec<usize> = (j..generation.len())
                .filter(|&k| choice(k) && same(j, k))
                .collect();
            if members.len() > 1 {
                groups.push(members);
            }
        }
        groups
    }

    /// Two generation choices changed together, each to another of its options (a field
    /// repeated in several commands, the same key, counting as one choice): the smallest
    /// candidates first, by the size their values give, at most [`PAIRS_MAX`] of them.
    /// Two small counterexamples of one bug can differ in two choices at once, neither of
    /// which fails alone (a pool of two whose idle worker is killed, a pool of one whose
    /// linked task dies): single lowerings cannot cross from the larger to the smaller, so
    /// seeds stopped at whichever their search reached. True once one is kept.
    fn pair_pass(&mut self) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        let flags = self.flag_positions();
        let choice = |j: usize| {
            let d = &generation[j];
            !flags.contains(&j) && d.bound >= 2 && d.bound <= LOWER_ALL_BELOW
        };
        // Fields: each choice alone, and the copies of a repeated value together.
        let mut fields: Vec<Vec<usize>> = (0..generation.len())
            .filter(|&j| choice(j))
            .map(|j| vec![j])
            .collect();
        fields.extend(self.copies(&generation, &choice));
        // The smallest PAIRS_MAX kept as they come (a model with many wide choices has
        // millions of pairs).
        let mut candidates = BinaryHeap::new();
        for (x, a) in fields.iter().enumerate() {
            for (y, b) in fields.iter().enumerate().skip(x + 1) {
                if a.iter().any(|j| b.contains(j)) {
                    continue;
                }
                push_smaller_pairs(&generation, &fields, (x, y), &mut candidates);
            }
        }
        self.try_pairs(&generation, &execution, &fields, candidates)
    }

    /// Tries the candidates of [`push_smaller_pairs`] smallest first, each two fields' members
    /// set to their values. True once one is kept.
    fn try_pairs(
        &mut self,
        generation: &[Decision],
        execution: &[Decision],
        fields: &[Vec<usize>],
        candidates: BinaryHeap<Pair>,
    ) -> bool {
        for (_, x, va, y, vb) in candidates.into_sorted_vec() {
            let mut g = generation.to_vec();
            for (members, value) in [(&fields[x], va), (&fields[y], vb)] {
                for &j in members {
                    g[j].value = value;
                }
            }
            if self.attempt(&g, execution) {
                return true;
            }
            if self.out_of_budget() {
                return false;
            }
        }
        false
    }

    /// A command replaced by a simpler one: each choice inside a command (which command,
    /// which node) lowered to each smaller option, with the command's later values drawn
    /// afresh at their defaults. Another kind of command draws another number of values (a
    /// wait its duration, a crash none), so the plain lowering of the generation pass hands
    /// the next command's values to this one, and its flag, read as a duration, ends the
    /// case: a wait that only lets time pass is never replaced by the crash that would do as
    /// well. The lowered case is run once to see where the new command ends (its span in the
    /// probe's structure), then tried with the values it drew set to 0 and every later
    /// command as it was. True once one is kept.
    fn replace_pass(&mut self, sections: &[(Span, usize)]) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        for &((start, end), _) in sections {
            // The span begins with the command's flag.
            for j in start + 1..end {
                let d = generation[j];
                if d.bound > LOWER_ALL_BELOW {
                    continue;
                }
                for value in (0..d.value).filter(|&v| d.is_option_start(v)) {
                    let mut g = generation[..=j].to_vec();
                    g[j].value = value;
                    let head = g.len();
                    g.extend_from_slice(&generation[end..]);
                    let probe = match self.attempt_or_probe(&g, &execution) {
                        Ok(()) => return true,
                        Err(None) => return false,
                        Err(Some(probe)) => probe,
                    };
                    let Some(new_end) = (probe.case.as_ref())
                        .and_then(|c| span_starting_at(&c.structure, start))
                        .filter(|&e| e >= head)
                    else {
                        continue; // the new command was refused, or the case ended
                    };
                    let (drawn, _) = split(&probe.report.log);
                    g.truncate(head);
                    let fresh = drawn.get(head..new_end).unwrap_or_default();
                    g.extend(fresh.iter().map(|d| {
                        let mut d = *d;
                        d.value = 0;
                        d
                    }));
                    g.extend_from_slice(&generation[end..]);
                    if self.attempt(&g, &execution) {
                        return true;
                    }
                    if self.out_of_budget() {
                        return false;
                    }
                }
            }
        }
        false
    }

    /// The same argument of two commands changed together (plain choices only); then a
    /// repeated value changed in every copy while the same argument of two of the commands
    /// that hold it changes too: three choices at once, which the pair pass cannot reach. A
    /// store's key decides which nodes hold it, so one story told on another key needs other
    /// coordinators for two of its commands; seeds that found it on different keys stopped
    /// on one form per key. Each family the smallest candidates first, at most
    /// [`PAIRS_MAX`]. True once one is kept.
    fn linked_pass(&mut self, sections: &[(Span, usize)]) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        let flags = self.flag_positions();
        let choice = |j: usize| {
            let d = &generation[j];
            !flags.contains(&j) && d.bound >= 2 && d.bound <= LOWER_ALL_BELOW
        };
        let offset = self.field_offsets(generation.len());
        let command_of = |j: usize| sections.iter().position(|&((s, e), _)| (s..e).contains(&j));
        let options =
            |d: Decision| (0..d.bound).filter(move |&v| v != d.value && d.is_option_start(v));
        let delta = |members: &[usize], value: u64| size_delta(&generation, members, value);
        // First the same argument of two commands changed together (the node a crash hits
        // and the node a delete goes through), plain choices only (a weighted choice of which
        // command would hand its values to the next command): the pair pass's smallest
        // candidates, over every two choices, leave these out when many others are smaller.
        let plain: Vec<Vec<usize>> = (0..generation.len())
            .filter(|&j| choice(j) && generation[j].address.target == 0)
            .filter(|&j| command_of(j).is_some())
            .map(|j| vec![j])
            .collect();
        let mut pairs = BinaryHeap::new();
        for (x, a) in plain.iter().enumerate() {
            for (y, b) in plain.iter().enumerate().skip(x + 1) {
                if offset[b[0]] == offset[a[0]] {
                    push_smaller_pairs(&generation, &plain, (x, y), &mut pairs);
                }
            }
        }
        if self.try_pairs(&generation, &execution, &plain, pairs) {
            return true;
        }
        if self.out_of_budget() {
            return false;
        }
        let groups = self.copies(&generation, &choice);
        // (size change, group, its value, first field, its value, second field, its value)
        type Triple = ((i64, i64, i64), usize, u64, usize, u64, usize, u64);
        let mut candidates: std::collections::BinaryHeap<Triple> = Default::default();
        for (x, group) in groups.iter().enumerate() {
            let commands: Vec<usize> = group.iter().filter_map(|&j| command_of(j)).collect();
            let fields: Vec<usize> = (0..generation.len())
                .filter(|&j| choice(j) && !group.contains(&j))
                .filter(|&j| command_of(j).is_some_and(|c| commands.contains(&c)))
                .collect();
            for (y, &a) in fields.iter().enumerate() {
                for &b in fields[y + 1..].iter().filter(|&&b| offset[b] == offset[a]) {
                    for vg in options(generation[group[0]]) {
                        let dg = delta(group, vg);
                        for va in options(generation[a]) {
                            let da = delta(&[a], va);
                            for vb in options(generation[b]) {
                                let db = delta(&[b], vb);
                                let d =
                                    (dg.0 + da.0 + db.0, dg.1 + da.1 + db.1, dg.2 + da.2 + db.2);
                                if d < (0, 0, 0) {
                                    candidates.push((d, x, vg, a, va, b, vb));
                                    if candidates.len() > PAIRS_MAX {
                                        candidates.pop();
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for (_, x, vg, a, va, b, vb) in candidates.into_sorted_vec() {
            let mut g = generation.clone();
            for &j in &groups[x] {
                g[j].value = vg;
            }
            g[a].value = va;
            g[b].value = vb;
            if self.attempt(&g, &execution) {
                return true;
            }
            if self.out_of_budget() {
                return false;
            }
        }
        false
    }

    /// Canonical placement of the decisions that matter: each non-default execution
    /// decision (not a race's) is tried at every other decision of its kind that took its
    /// default, with a smaller value anywhere, then with its value at an earlier decision,
    /// earliest first (at most [`SLIDE_SPOTS_MAX`] spots). Two seeds that delay different
    /// replies of one exchange end at the earliest delay that fails, whichever they started
    /// from. True once one is kept.
    fn slide_pass(&mut self) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        for i in self.movable_decisions() {
            let d = execution[i];
            if is_race_kind(d.kind) {
                continue;
            }
            let spots: Vec<usize> = (0..execution.len())
                .filter(|&p| execution[p].kind == d.kind && execution[p].value == 0)
                .take(SLIDE_SPOTS_MAX)
                .collect();
            for value in 1..=d.value {
                for &p in spots.iter().take_while(|&&p| value < d.value || p < i) {
                    let mut e = execution.clone();
                    e[i].set_value(0);
                    e[p].value = value.min(e[p].bound - 1);
                    e[p].address.target = d.address.target;
                    if self.attempt(&generation, &e) {
                        return true;
                    }
                    if self.out_of_budget() {
                        return false;
                    }
                }
            }
        }
        false
    }

    /// Searches the interleaving afresh, PULSE-style, for failures that are races and timing
    /// alone (every non-default decision a scheduling choice, the order of simultaneous events
    /// or a message's latency, at most [`SCHEDULE_SEARCH_DECISIONS_MAX`] of them): the case as
    /// it is with fewer deviations, and each case one edit away (one or two commands deleted,
    /// a client removed, a command moved to another client, two clients exchanged, one
    /// argument lowered, two exchanged) with at most as many, by bounded depth-first search
    /// (`explore`), fewest deviations first. A deviation is a preemption, or a message slower
    /// than the minimum (latencies are searched only when the failure has a slow message, and
    /// only up to its slowest bucket). A structural edit moves the point where a preemption or
    /// a delay must fall, and no mapping of the old decisions finds the new point; the search
    /// does, and since it visits interleavings in a fixed order, seeds that found the same
    /// race end at the same interleaving. True once a smaller failing run is kept.
    fn schedule_pass(&mut self, sections: &[(Span, usize)]) -> bool {
        let Some(s) = self.structure() else {
            return false;
        };
        let (generation, execution) = split(&self.current.report.log);
        let nondefault: Vec<&Decision> = execution.iter().filter(|d| d.value != 0).collect();
        // Latencies, and one deviation more for fewer commands, only in small runs: every
        // message's latency is a branch, and a store's run has hundreds. A failure with a slow
        // message in a larger run is not searched (the search would hold it at the minimum).
        let small = execution.len() <= SCHEDULE_SEARCH_TIMING_DECISIONS_MAX;
        let timing =
            |d: &&Decision| is_race_kind(d.kind) || (small && d.kind == DecisionKind::Latency);
        if nondefault.is_empty()
            || nondefault.len() > SCHEDULE_SEARCH_DECISIONS_MAX
            || !nondefault.iter().all(timing)
        {
            return false;
        }
        let latency_options = (nondefault.iter())
            .filter(|d| d.kind == DecisionKind::Latency)
            .map(|d| d.value)
            .max()
            .unwrap_or(0)
            .min(SCHEDULE_SEARCH_LATENCY_MAX);
        // The search takes only scheduling choices and latencies (every other decision at its
        // default), so a found run has as many non-default decisions as deviations.
        let n = (nondefault.len() as u32).min(SCHEDULE_SEARCH_PREEMPTIONS_MAX);
        let flags = self.flag_positions();
        // (generation, most deviations worth trying): the case itself only with fewer; a case
        // with fewer commands is smaller even with one deviation more (a command that only
        // made time pass, traded for a delayed message).
        let cases = edited_cases(&generation, &s, sections, &flags)
            .into_iter()
            .map(|(g, edit)| {
                let most = match edit {
                    Edit::Itself => n - 1,
                    Edit::Fewer if small => (n + 1).min(SCHEDULE_SEARCH_TRADED_MAX).max(n),
                    Edit::Fewer | Edit::Same | Edit::Sooner => n,
                };
                (g, most, edit)
            });
        // Searching latencies (or one deviation more) multiplies the runs: bounded by simulated
        // steps, so long runs (a store's) get few.
        let steps = self.current.report.steps.max(1);
        let timing_runs = (SCHEDULE_SEARCH_TIMING_STEPS / steps).max(1);
        // Latencies are searched at the first bucket first: a form with faster messages is
        // the smaller, and its search the cheaper.
        let mut latency_levels = vec![latency_options.min(1)];
        if latency_options > 1 {
            latency_levels.push(latency_options);
        }
        // A case with as many commands, searched with as many deviations as the failure has,
        // is smaller only through its commands' values, or through faster messages.
        let fastest = self.key.exec_sum == u64::from(n) && nondefault.len() as u32 == n;
        let current_generation = generation_key(generation.iter());
        for (g, most, edit) in cases {
            let smaller_commands = generation_key(g.iter()) < current_generation;
            // Each bound walks the tree of the bound before further: one memo per tree.
            let mut memos: Vec<super::explore::Memo> =
                latency_levels.iter().map(|_| Default::default()).collect();
            'preemptions: for preemptions in 0..=most {
                if edit == Edit::Same && preemptions == n && fastest && !smaller_commands {
                    break;
                }
                for (&latency_options, memo) in latency_levels.iter().zip(&mut memos) {
                    if self.out_of_budget() {
                        return false;
                    }
                    let cfg = super::explore::ExploreConfig {
                        preemptions,
                        latency_options,
                        event_order: latency_options > 0,
                        schedule: true,
                        fault_ticks: 0,
                        runs_max: if preemptions > n || (small && latency_options > 0) {
                            SCHEDULE_SEARCH_RUNS_TRADED.min(timing_runs)
                        } else if latency_options > 0 {
                            SCHEDULE_SEARCH_RUNS.min(timing_runs)
                        } else {
                            SCHEDULE_SEARCH_RUNS
                        },
                        stop_at_failure: true,
                    };
                    match self.explore_and_keep(&g, &cfg, memo).1 {
                        None => continue,
                        Some(true) => return true,
                        // The fewest preemptions this case needs: more are not smaller.
                        Some(false) => break 'preemptions,
                    }
                }
            }
        }
        false
    }

    /// Keeps one non-default execution decision alone, every other back at its default; then
    /// two (delta debugging's subsets, which the sweeps' complements, runs of neighbours
    /// zeroed, do not reach when the decisions to keep are apart). A fault that fails on its
    /// own, found behind message delays that made another node the leader, keeps only the
    /// fault, its target back at the default too. True once one is kept.
    fn keep_pass(&mut self) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        let nondefault: Vec<usize> = (0..execution.len())
            .filter(|&i| execution[i].value != 0)
            .collect();
        if nondefault.len() < 3 || nondefault.len() > KEEP_ONE_MAX {
            return false;
        }
        let keep = |kept: &[usize]| {
            let mut e = execution.clone();
            for &i in nondefault.iter().filter(|i| !kept.contains(i)) {
                e[i].value = 0;
            }
            e
        };
        if self.try_each(&generation, nondefault.iter().map(|&i| keep(&[i]))) {
            return true;
        }
        if nondefault.len() < 4 || nondefault.len() > KEEP_TWO_MAX {
            return false;
        }
        let mut pairs: Vec<Vec<Decision>> = Vec::new();
        for (x, &a) in nondefault.iter().enumerate() {
            pairs.extend(nondefault[x + 1..].iter().map(|&b| keep(&[a, b])));
        }
        self.try_each(&generation, pairs)
    }

    /// One generation choice changed to any other value while one non-default execution
    /// decision goes back to its default: a case that needs a delayed message with one
    /// argument may need none with another (work that ends at once instead of work that
    /// waits), and the one without the decision is the smaller. Only for cases with at most
    /// [`RECHOOSE_DECISIONS_MAX`] non-default decisions. True once one is kept.
    fn rechoose_pass(&mut self) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        let nondefault: Vec<usize> = (0..execution.len())
            .filter(|&i| execution[i].value != 0)
            .collect();
        if nondefault.is_empty() || nondefault.len() > RECHOOSE_DECISIONS_MAX {
            return false;
        }
        let flags = self.flag_positions();
        for (j, d) in generation.iter().enumerate() {
            if flags.contains(&j) || d.bound > LOWER_ALL_BELOW {
                continue;
            }
            for value in (0..d.bound).filter(|&v| v != d.value && d.is_option_start(v)) {
                let mut g = generation.clone();
                g[j].value = value;
                for &i in &nondefault {
                    let mut e = execution.clone();
                    e[i].value = 0;
                    if self.attempt(&g, &e) {
                        return true;
                    }
                    if self.out_of_budget() {
                        return false;
                    }
                }
            }
        }
        false
    }

    /// Trades a command for a fault: deletes one command, runs the shorter case once to see
    /// the decisions it draws, then tries it with one fault-like decision that took its
    /// default (a message delivered, a disk operation that succeeded) at its first other
    /// option. A case that cuts a link by a command and one that loses the message by a drop
    /// tell the same story, and the one with fewer commands is the smaller; single edits
    /// cannot cross from one to the other (without the command, the message that would be
    /// dropped was never drawn for). Bounded: the first [`TRADES_MAX`] such decisions per
    /// command. True once one is kept.
    fn trade_pass(&mut self, sections: &[(Span, usize)]) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        for &((start, end), flag) in sections.iter().rev() {
            if self.out_of_budget() {
                return false;
            }
            let mut g = generation.clone();
            g[flag].value = 0;
            g.drain(start..end);
            self.candidates += 1;
            let probe = (self.run)(Source::replay_with_fallback(&join(&g, &execution)));
            let (_, seen) = split(&probe.report.log);
            let trades: Vec<Vec<Decision>> = (0..seen.len())
                .filter(|&i| seen[i].value == 0 && is_fault_like(seen[i].kind))
                .take(TRADES_MAX)
                .map(|i| {
                    let mut e = seen.clone();
                    e[i].set_value(1);
                    e
                })
                .collect();
            if self.try_each(&g, trades) {
                return true;
            }
        }
        false
    }

    /// Swaps the values of two adjacent execution decisions when one of them is non-default
    /// (a preemption one step earlier or later). True once one is kept.
    fn swap_pass(&mut self) -> bool {
        let (generation, execution) = split(&self.current.report.log);
        let swaps = (1..execution.len())
            .filter(|&i| execution[i].value != execution[i - 1].value)
            .map(|i| {
                // The choices move, with the options they named; each stays at its address.
                let mut e = execution.clone();
                let (a, b) = (e[i - 1], e[i]);
                e[i - 1].value = b.value.min(a.bound - 1);
                e[i - 1].address.target = b.address.target;
                e[i].value = a.value.min(b.bound - 1);
                e[i].address.target = a.address.target;
                e
            });
        self.try_each(&generation, swaps.collect::<Vec<_>>())
    }

    /// Sets every "one more command" flag that goes on to 1: any value but 0 goes on, so the
    /// case is the same, and two seeds that found one case with other flag values end on one
    /// log. True if that was kept.
    fn flags_pass(&mut self) -> bool {
        let (mut generation, execution) = split(&self.current.report.log);
        let mut changed = false;
        for j in self.flag_positions() {
            if generation[j].value > 1 {
                generation[j].value = 1;
                changed = true;
            }
        }
        changed && self.attempt(&generation, &execution)
    }

    /// Positions of the "one more command" flags (lowering them would delete commands, which
    /// the commands pass does with structure).
    fn flag_positions(&self) -> Vec<usize> {
        let Some(s) = self.structure() else {
            return Vec::new();
        };
        let mut flags: Vec<usize> = s.prefix.iter().map(|p| p.0).collect();
        flags.push(s.prefix_end);
        for ((_, end), commands) in &s.branches {
            flags.extend(commands.iter().map(|c| c.0));
            flags.push(end.saturating_sub(1));
        }
        flags
    }
}

/// Values up to which every smaller value is tried: generation choices (which command, by
/// weight; which shape) and scheduling choices have small bounds, and trying each one,
/// smallest first, reaches the same simplest value from any starting point.
const LOWER_ALL_BELOW: u64 = 64;

/// The values to try in place of `value`, simplest first: every smaller value when `value` is
/// small, else 0, half, one less.
fn lowerings(value: u64) -> impl Iterator<Item = u64> {
    let lowers: Vec<u64> = if value <= LOWER_ALL_BELOW {
        (0..value).collect()
    } else {
        let mut lowers = vec![0, value / 2, value - 1];
        lowers.dedup();
        lowers
    };
    lowers.into_iter()
}

/// Most candidates of the pair pass, smallest first.
const PAIRS_MAX: usize = 256;

/// Non-default decisions up to which the rechoose pass runs.
const RECHOOSE_DECISIONS_MAX: usize = 4;

/// Decisions of its kind the slide pass tries a decision at (the earliest ones).
const SLIDE_SPOTS_MAX: usize = 128;

/// Scheduling choices and the order of simultaneous events: what a race is made of (the
/// schedule pass re-searches them).
fn is_race_kind(kind: DecisionKind) -> bool {
    matches!(kind, DecisionKind::Schedule | DecisionKind::EventOrder)
}

/// Fault-like decisions tried per command by the trade pass.
const TRADES_MAX: usize = 32;

/// Decisions whose first non-default option is a fault: a message lost or duplicated, a
/// disk operation failing, a fault point firing.
fn is_fault_like(kind: DecisionKind) -> bool {
    matches!(
        kind,
        DecisionKind::Drop
            | DecisionKind::Duplicate
            | DecisionKind::DiskError
            | DecisionKind::Buggify
            | DecisionKind::Fault
    )
}

/// Most non-default execution decisions of which the keep pass tries each one alone.
const KEEP_ONE_MAX: usize = 16;

/// Most non-default execution decisions of which the keep pass tries each pair alone.
const KEEP_TWO_MAX: usize = 8;

/// Commands up to which the shrinker's deep pass (pairs of edits) runs.
const DEEP_COMMANDS_MAX: usize = 8;

/// The schedule search is for races alone with at most this many non-default decisions.
const SCHEDULE_SEARCH_DECISIONS_MAX: usize = 16;

/// Most preemptions the schedule search tries.
const SCHEDULE_SEARCH_PREEMPTIONS_MAX: u32 = 3;

/// The schedule search tries latencies, and one deviation more for fewer commands, only in
/// runs with at most this many execution decisions.
const SCHEDULE_SEARCH_TIMING_DECISIONS_MAX: usize = 128;

/// The slowest latency bucket the schedule search tries.
const SCHEDULE_SEARCH_LATENCY_MAX: u64 = 3;

/// Most faults (with their targets and lost writes) the fault search puts in one run.
const FAULT_SEARCH_DEVIATIONS_MAX: u32 = 4;

/// Most runs of the fault search per case, window of ticks and bound on faults, and the
/// fewest it may run in all.
const FAULT_SEARCH_RUNS: u64 = 256;

/// Simulated steps (of runs as long as the failure's) that bound the fault search's runs in
/// all, in one pass.
const FAULT_SEARCH_STEPS: u64 = 1 << 20;

/// Most runs of the schedule search per case and preemption bound.
const SCHEDULE_SEARCH_RUNS: u64 = 256;

/// Most runs of the schedule search for a case with fewer commands at one deviation more than
/// the failure has (and, in small runs with latencies, for every case): the deviation that
/// replaces a command can fall anywhere in the run, and depth-first order reaches the early
/// ones last.
const SCHEDULE_SEARCH_RUNS_TRADED: u64 = 512;

/// Most deviations with which a case with fewer commands is searched for one deviation more
/// than the failure has: a command traded for a delay is tried for failures of one
/// deviation. At two, the search of every case with fewer commands at three deviations cost
/// a third of a pool shrink and found nothing in the pool's tables.
const SCHEDULE_SEARCH_TRADED_MAX: u32 = 2;

/// Simulated steps (of runs as long as the failure's) that bound each search of latencies or
/// of one deviation more, per case and bound: a pool's run of 30 steps gets the full
/// [`SCHEDULE_SEARCH_RUNS_TRADED`], a run of 1,000 steps 32.
const SCHEDULE_SEARCH_TIMING_STEPS: u64 = 32_768;

/// Variants of an execution sequence whose non-default decisions come 1 to 8 positions
/// earlier (zero-valued decisions in front of the first non-default one are removed).
fn shifted(execution: &[Decision]) -> Vec<Vec<Decision>> {
    let Some(first) = execution.iter().position(|d| d.value != 0) else {
        return Vec::new();
    };
    (1..=first.min(8))
        .map(|d| {
            let mut e = execution.to_vec();
            e.drain(first - d..first);
            e
        })
        .collect()
}

/// Execution sequences to pair with a structural edit that failed on its own: shifted
/// earlier, with one non-default decision set to 0, and both (at most 48 variants).
fn variants(execution: &[Decision]) -> Vec<Vec<Decision>> {
    let mut out = shifted(execution);
    let nondefault: Vec<usize> = (0..execution.len())
        .filter(|&i| execution[i].value != 0)
        .collect();
    if nondefault.len() > 1 {
        for &i in &nondefault {
            let mut e = execution.to_vec();
            e[i].value = 0;
            out.extend(shifted(&e));
            out.push(e);
        }
    }
    out.truncate(48);
    out
}

/// Decisions a moved one may land on: within this many positions of where it was.
const MOVE_WINDOW: usize = 24;

/// Variants of `seen` (the execution decisions of an edited run) that carry the non-default
/// decisions of `execution` (the run before the edit) onto default
/// decisions of the same kind near their old positions. First all of them at once (each to
/// the nearest free spot at or before its old position, then to the nearest either way: a
/// deleted command shifts everything after it earlier), then each one alone to each spot in
/// its window, nearest first; the others stay where the edited run left them. At most 48.
fn moved(execution: &[Decision], seen: &[Decision]) -> Vec<Vec<Decision>> {
    // Every non-default decision may have been displaced: one found at its old address may
    // now be about another message (a server's k-th reply is another request's).
    let displaced: Vec<(usize, Decision)> = (execution.iter().copied().enumerate())
        .filter(|(_, d)| d.value != 0)
        .collect();
    let spots = |p: usize, d: &Decision| {
        let (from, to) = (
            p.saturating_sub(MOVE_WINDOW),
            (p + MOVE_WINDOW).min(seen.len()),
        );
        let mut spots: Vec<usize> = (from..to)
            .filter(|&i| seen[i].kind == d.kind && seen[i].value == 0)
            .collect();
        spots.sort_by_key(|&i| (i.abs_diff(p), i > p));
        spots
    };
    let place = |e: &mut [Decision], i: usize, d: &Decision| {
        e[i].value = d.value.min(e[i].bound - 1);
        e[i].address.target = d.address.target;
    };
    let mut out = Vec::new();
    if displaced.len() > 1 {
        for earlier_only in [true, false] {
            let mut e = seen.to_vec();
            for (p, d) in &displaced {
                let free = spots(*p, d)
                    .into_iter()
                    .filter(|&i| e[i].value == 0 && (!earlier_only || i <= *p))
                    .min_by_key(|&i| i.abs_diff(*p));
                if let Some(i) = free {
                    place(&mut e, i, d);
                }
            }
            out.push(e);
        }
    }
    for (p, d) in &displaced {
        for i in spots(*p, d) {
            let mut e = seen.to_vec();
            place(&mut e, i, d);
            out.push(e);
        }
    }
    out.truncate(48);
    out
}

/// The structural edits of the commands pass, in order, each marked with whether it is a
/// single edit (worth pairing with moved decisions): command groups deleted, halves first
/// (down to pairs); each branch command, then each prefix command, deleted, last first;
/// whole branches removed or emptied; each branch's first command moved to the end of the
/// prefix.
fn structural_edits(generation: &[Decision], s: &Structure) -> (Vec<Vec<Decision>>, Vec<bool>) {
    let mut candidates: Vec<Vec<Decision>> = Vec::new();
    // Each deletion: the spans to delete, and their section's end flag, set to 0 (a section
    // that was full drew its end flag without reading it; once shorter it would read it).
    let mut groups: Vec<(Span, usize)> = Vec::new();
    let n = s.prefix.len();
    let mut size = n / 2;
    while size > 1 {
        for start in (0..=n - size).rev().step_by(size) {
            groups.push((
                (s.prefix[start].0, s.prefix[start + size - 1].1),
                s.prefix_end,
            ));
        }
        size /= 2;
    }
    let group_count = groups.len();
    for &((_, branch_end), ref branch) in s.branches.iter().rev() {
        groups.extend(branch.iter().rev().map(|&span| (span, branch_end - 1)));
    }
    groups.extend(s.prefix.iter().rev().map(|&span| (span, s.prefix_end)));
    for deletion in groups {
        candidates.push(delete_sections(generation, &[deletion]));
    }
    // Whole branches: removed (with the branch count lowered) when there are more than two,
    // else emptied.
    candidates.extend(branch_removals(generation, s));
    candidates.extend(prefix_moves(generation, s));
    let with_variants = (0..candidates.len()).map(|i| i >= group_count).collect();
    (candidates, with_variants)
}

/// The first command of each branch moved to the end of the prefix: the same commands, fewer
/// of them in parallel.
fn prefix_moves(generation: &[Decision], s: &Structure) -> Vec<Vec<Decision>> {
    let mut out = Vec::new();
    for &((_, branch_end), ref commands) in &s.branches {
        let Some(&(start, end)) = commands.first() else {
            continue;
        };
        let mut g = generation.to_vec();
        g[branch_end - 1].value = 0;
        let moved: Vec<Decision> = g.drain(start..end).collect();
        let at = s.prefix_end.min(g.len());
        g.splice(at..at, moved);
        out.push(g);
    }
    out
}

/// Every command's span with the end flag of its section (to be set to 0 when it is deleted).
/// `generation` with the command sections deleted: every end flag set to 0 first (a section
/// that was full drew its end flag without reading it; once shorter it would read it; flags
/// lie outside spans), then the spans drained, later ones first, so that no index moves
/// before it is used.
fn delete_sections(generation: &[Decision], sections: &[(Span, usize)]) -> Vec<Decision> {
    let mut g = generation.to_vec();
    let mut sections = sections.to_vec();
    for &(_, flag) in &sections {
        g[flag].value = 0;
    }
    sections.sort_by_key(|&((start, _), _)| std::cmp::Reverse(start));
    for &((start, end), _) in &sections {
        g.drain(start..end);
    }
    g
}

/// Each two neighbouring clients' commands exchanged (canonical order: the client that acts
/// first is client 1).
fn branch_swaps(generation: &[Decision], s: &Structure) -> Vec<Vec<Decision>> {
    (s.branches.windows(2))
        .map(|pair| {
            let (((a0, a1), _), ((b0, b1), _)) = (&pair[0], &pair[1]);
            let g = generation;
            (g[..*a0].iter())
                .chain(&g[*b0..*b1])
                .chain(&g[*a1..*b0])
                .chain(&g[*a0..*a1])
                .chain(&g[*b1..])
                .copied()
                .collect()
        })
        .collect()
}

/// Each branch removed (the branch count lowered), when there are more than two; else each
/// non-empty branch emptied.
fn branch_removals(generation: &[Decision], s: &Structure) -> Vec<Vec<Decision>> {
    let mut out = Vec::new();
    for &((start, end), ref commands) in s.branches.iter().rev() {
        let mut g = generation.to_vec();
        match s.branch_count_at {
            Some(at) if g[at].value > 0 && s.branches.len() > 2 => {
                g.drain(start..end);
                g[at].value -= 1;
            }
            _ if commands.is_empty() => continue,
            _ => {
                g[end - 1].value = 0;
                g.drain(commands[0].0..commands[commands.len() - 1].1);
            }
        }
        out.push(g);
    }
    out
}

/// Each branch command moved to the end of another branch: one client's commands gathered
/// into another's, so that a client can go.
fn moves(generation: &[Decision], s: &Structure) -> Vec<Vec<Decision>> {
    let mut out = Vec::new();
    for (a, &((_, a_end), ref commands)) in s.branches.iter().enumerate() {
        for &(start, end) in commands {
            for (b, &((_, b_end), _)) in s.branches.iter().enumerate() {
                if a == b {
                    continue;
                }
                let mut g = generation.to_vec();
                g[a_end - 1].value = 0;
                let moved: Vec<Decision> = g[start..end].to_vec();
                // Before the other branch's end flag; the later edit first, so that the
                // earlier one's indices still hold.
                let at = b_end - 1;
                if at >= end {
                    g.splice(at..at, moved);
                    g.drain(start..end);
                } else {
                    g.drain(start..end);
                    g.splice(at..at, moved);
                }
                out.push(g);
            }
        }
    }
    out
}

/// Two argument choices with the same bound and different values exchanged, the smaller
/// moving first: the canonical order of equal cases (`push(0)` before `push(1)`).
fn exchanges(generation: &[Decision], flags: &[usize]) -> Vec<Vec<Decision>> {
    let args: Vec<usize> = (0..generation.len())
        .filter(|&j| !flags.contains(&j) && generation[j].bound <= LOWER_ALL_BELOW)
        .collect();
    let mut out = Vec::new();
    for (x, &i) in args.iter().enumerate() {
        for &j in &args[x + 1..] {
            let (a, b) = (generation[i], generation[j]);
            if a.bound == b.bound && a.value > b.value {
                let mut g = generation.to_vec();
                g[i].value = b.value;
                g[j].value = a.value;
                out.push(g);
            }
        }
    }
    out
}

/// How a case of [`edited_cases`] relates to the one being shrunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// The case itself.
    Itself,
    /// Commands deleted: smaller whatever its interleaving.
    Fewer,
    /// As many commands, rearranged or with a lower argument.
    Same,
    /// As many commands, one of them moved into the sequential prefix: fewer in parallel.
    Sooner,
}

/// The case itself and every case one edit away, each marked with its [`Edit`], in the order
/// the schedule search tries them: one command deleted (last first), two deleted, two clients
/// exchanged, a client's first command moved into the prefix, a client removed, a command
/// moved to another client, one argument lowered, two arguments exchanged.
fn edited_cases(
    generation: &[Decision],
    s: &Structure,
    sections: &[(Span, usize)],
    flags: &[usize],
) -> Vec<(Vec<Decision>, Edit)> {
    let mut cases: Vec<(Vec<Decision>, Edit)> = vec![(generation.to_vec(), Edit::Itself)];
    for &section in sections.iter().rev() {
        cases.push((delete_sections(generation, &[section]), Edit::Fewer));
    }
    for (i, &a) in sections.iter().enumerate() {
        for &b in &sections[i + 1..] {
            cases.push((delete_sections(generation, &[a, b]), Edit::Fewer));
        }
    }
    let same = |g| (g, Edit::Same);
    cases.extend(branch_swaps(generation, s).into_iter().map(same));
    cases.extend(
        prefix_moves(generation, s)
            .into_iter()
            .map(|g| (g, Edit::Sooner)),
    );
    cases.extend(
        branch_removals(generation, s)
            .into_iter()
            .map(|g| (g, Edit::Fewer)),
    );
    cases.extend(moves(generation, s).into_iter().map(same));
    for (j, d) in generation.iter().enumerate() {
        if flags.contains(&j) || d.bound > LOWER_ALL_BELOW || d.value == 0 {
            continue;
        }
        for value in (0..d.value).filter(|&v| d.is_option_start(v)) {
            let mut g = generation.to_vec();
            g[j].value = value;
            cases.push((g, Edit::Same));
        }
    }
    cases.extend(
        exchanges(generation, flags)
            .into_iter()
            .map(|g| (g, Edit::Same)),
    );
    cases
}

/// A candidate of the pair edits: (size change, first field, its value, second field, its
/// value), fields by their index in the pass's list of fields.
type Pair = ((i64, i64, i64), usize, u64, usize, u64);

/// Pushes onto `heap` every change of the two fields `(x, y)` of `fields` (each field's
/// members set to one of its other options) that makes the case smaller, keeping the
/// [`PAIRS_MAX`] smallest.
fn push_smaller_pairs(
    generation: &[Decision],
    fields: &[Vec<usize>],
    (x, y): (usize, usize),
    heap: &mut BinaryHeap<Pair>,
) {
    let (a, b) = (&fields[x], &fields[y]);
    let (da, db) = (generation[a[0]], generation[b[0]]);
    for va in (0..da.bound).filter(|&v| v != da.value && da.is_option_start(v)) {
        for vb in (0..db.bound).filter(|&v| v != db.value && db.is_option_start(v)) {
            let (pa, pb) = (size_delta(generation, a, va), size_delta(generation, b, vb));
            let d = (pa.0 + pb.0, pa.1 + pb.1, pa.2 + pb.2);
            if d < (0, 0, 0) {
                heap.push((d, x, va, y, vb));
                if heap.len() > PAIRS_MAX {
                    heap.pop();
                }
            }
        }
    }
}

/// The end of the command span that begins at `start`, if one does.
fn span_starting_at(s: &Structure, start: usize) -> Option<usize> {
    (s.prefix.iter())
        .chain(s.branches.iter().flat_map(|(_, commands)| commands.iter()))
        .find(|&&(s, _)| s == start)
        .map(|&(_, end)| end)
}

/// How the generation decisions at `members` set to `value` change the size (non-default
/// choices, their sum, their sum weighted by how early they come), as [`generation_key`]
/// weighs them.
fn size_delta(generation: &[Decision], members: &[usize], value: u64) -> (i64, i64, i64) {
    let len = generation.len() as i64;
    let mut d = (0i64, 0i64, 0i64);
    for &j in members {
        let (old, new) = (generation[j].value as i64, value as i64);
        d.0 += i64::from(new != 0) - i64::from(old != 0);
        d.1 += new - old;
        d.2 += (new - old) * (len - j as i64);
    }
    d
}

fn command_sections(s: &Structure) -> Vec<(Span, usize)> {
    let mut sections: Vec<(Span, usize)> =
        s.prefix.iter().map(|&span| (span, s.prefix_end)).collect();
    for &((_, branch_end), ref commands) in &s.branches {
        sections.extend(commands.iter().map(|&span| (span, branch_end - 1)));
    }
    sections
}

/// Shrinks `failing`, a failing run of `run`, to a local minimum (or until a bound).
pub fn shrink(run: &dyn Fn(Source) -> Run, failing: Run, config: &ShrinkConfig) -> Shrunk {
    let kind = failing
        .report
        .outcome
        .failure()
        .expect("shrink needs a failing run")
        .kind;
    let failing = addressed(run, failing, kind);
    let key = size_key(&failing);
    let mut s = Shrinker {
        run,
        kind,
        current: failing,
        key,
        config: config.clone(),
        started: Instant::now(),
        candidates: 0,
        accepted: 0,
        cut_short: None,
        tried: BTreeSet::new(),
    };
    loop {
        let mut progress = s.commands_pass();
        progress |= s.execution_pass();
        progress |= s.generation_pass();
        if !progress && s.cut_short.is_none() {
            // At a local minimum of single edits: try pairs of edits.
            progress = s.deep_pass();
        }
        if !progress || s.cut_short.is_some() {
            break;
        }
    }
    // Once, at the end: the same case, so no other edit becomes possible (a round of every
    // pass again would cost a store's shrink a second or more).
    s.flags_pass();
    Shrunk {
        stats: ShrinkStats {
            elapsed: s.started.elapsed(),
            candidates: s.candidates,
            accepted: s.accepted,
            cut_short: s.cut_short,
            small_cases: 0,
            from_small_case: false,
            small_cut_short: None,
        },
        run: s.current,
        local: None,
        fresh_seed: None,
    }
}

/// Seed of the search for a smaller case: the fresh cases depend on it, on the bound on
/// commands and on their index only, never on the search that found the failure.
pub const SMALL_CASES_SEED: u64 = 0x0053_4d41_4c4c_4552; // "SMALLER"

/// The least a fresh case counts against the search's step budget: a run's set-up and
/// tear-down cost something even when it takes few steps.
pub const SMALL_CASE_STEPS_MIN: u64 = 50;

/// Shrinks `failing` to a local minimum ([`shrink`]), then searches for a smaller failure the
/// local edits cannot reach: fresh cases from `fresh(seed, max, false)` (a source generating cases of
/// at most `max` commands), with `max` 0, then 1, and so on up to the local minimum's number
/// of commands, `config.small_steps` simulated steps of cases at each bound (a case counts at
/// least [`SMALL_CASE_STEPS_MIN`]): free, then (with one command or more, half as many steps)
/// held to the options the local minimum's weighted choices took (its kinds of command,
/// [`Source::with_options_only`]; seeded by those options). A search whose strategy is not
/// uniform random (PCT, PCTCP, swarm, a user's) also runs, after its free cases at each bound,
/// uniform random ones (`fresh(seed, max, true)`, `None` when the strategy is uniform random
/// already), with half the steps and the seeds of a random search's free cases: a
/// priority-based strategy rarely delays the one message a small form needs, and every
/// search of a bug, whatever its strategy, then meets the same small cases. The first that fails the same way
/// ([`FailureKind::shrinks_with`]) is shrunk in turn and replaces the local minimum unless
/// that is smaller. The fresh cases' seeds do not depend on the failure or its search, so two
/// searches that find the same bug by different routes end on the same counterexample
/// whenever the search for a smaller case succeeds: which local minimum a seed reached no
/// longer decides what a person reads. Runs without a test case (no commands to bound) are
/// only shrunk.
pub fn shrink_and_search(
    run: &dyn Fn(Source) -> Run,
    failing: Run,
    config: &ShrinkConfig,
    fresh: &dyn Fn(u64, usize, bool) -> Option<Source>,
) -> Shrunk {
    let started = Instant::now();
    let mut shrunk = shrink(run, failing, config);
    let (commands, _) = shrunk.run.size();
    if shrunk.run.case.is_none() || config.small_steps == 0 || shrunk.stats.cut_short.is_some() {
        return shrunk;
    }
    let kind = (shrunk.run.report.outcome.failure())
        .expect("a shrunk run fails")
        .kind;
    let stopped = || {
        started.elapsed() >= config.time_max
            || (config.stop.as_ref()).is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    };
    // The options the local minimum's weighted choices took (its kinds of command), when
    // they are not all of them: at each bound with commands, free fresh cases come first
    // (the same for every search of the bug), then cases held to those options (the same
    // for every search whose local minimum took them).
    let options = std::rc::Rc::new(options_taken(&shrunk.run.report.log));
    // (bound, seed salt, options held to, uniform random)
    type Phase = (usize, u64, Option<std::rc::Rc<BTreeMap<u64, u64>>>, bool);
    let uniform = fresh(0, 0, true).is_some();
    let mut phases: Vec<Phase> = Vec::new();
    for max in 0..=commands {
        phases.push((max, 0, None, false));
        if uniform {
            phases.push((max, 0, None, true));
        }
        if max > 0 && !options.is_empty() {
            phases.push((max, options_hash(&options), Some(options.clone()), false));
        }
    }
    let mut tried = 0;
    'bounds: for (max, salt, only, plain) in phases {
        let mut steps = 0;
        for k in 0.. {
            if stopped() {
                shrunk.stats.small_cut_short = Some(if started.elapsed() >= config.time_max {
                    format!(
                        "out of time ({} s) at {max} commands of {commands}",
                        config.time_max.as_secs()
                    )
                } else {
                    format!("the search was stopped at {max} commands of {commands}")
                });
                break 'bounds;
            }
            // Held cases are closer to the failure, and uniform ones follow the strategy's
            // own: half the budget.
            let budget = if only.is_some() || plain {
                config.small_steps / 2
            } else {
                config.small_steps
            };
            if steps >= budget {
                break;
            }
            let seed = crate::strategy::case_seed(SMALL_CASES_SEED ^ salt ^ max as u64, k);
            let Some(source) = fresh(seed, max, plain) else {
                break;
            };
            let mut source = source.with_commands_max(max);
            if let Some(only) = &only {
                source = source.with_options_only(only.clone());
            }
            let case = run(source);
            tried += 1;
            steps += case.report.steps.max(SMALL_CASE_STEPS_MIN);
            let same = (case.report.outcome.failure()).is_some_and(|f| kind.shrinks_with(f.kind));
            if !same {
                continue;
            }
            let left = ShrinkConfig {
                time_max: config.time_max.saturating_sub(started.elapsed()),
                ..config.clone()
            };
            let other = shrink(run, case, &left);
            let stats = &mut shrunk.stats;
            stats.candidates += other.stats.candidates;
            // Not larger: at equal size the fresh case's form is kept, as every search of the
            // same bug reaches it.
            let same = other.run.report.log == shrunk.run.report.log;
            let kept = other.stats.cut_short.is_none()
                && !same
                && size_key(&other.run) <= size_key(&shrunk.run);
            if kept {
                stats.accepted += other.stats.accepted;
                stats.from_small_case = true;
                shrunk.local = Some(std::mem::replace(&mut shrunk.run, other.run));
                shrunk.fresh_seed = Some(seed);
            }
            break 'bounds;
        }
    }
    shrunk.stats.small_cases = tried;
    shrunk.stats.elapsed = started.elapsed();
    shrunk
}

/// The options a log's weighted choices took, by the choice's total weight (a bit set of
/// their first values), for the choices where some option was not taken: a case's kinds of
/// command, for the search of small cases held to them.
fn options_taken(log: &DecisionLog) -> BTreeMap<u64, u64> {
    let mut taken: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for d in &log.decisions {
        // A weighted choice records where its options start in its address.
        if d.kind.is_generation() && d.address.target != 0 && d.bound <= 64 && d.value < 64 {
            let entry = taken.entry(d.bound).or_insert((0, d.address.target));
            entry.0 |= 1 << d.value;
        }
    }
    taken
        .into_iter()
        .filter(|(_, (took, all))| took != all)
        .map(|(total, (took, _))| (total, took))
        .collect()
}

/// A hash of `options_taken`'s result: the seed of the fresh cases held to those options,
/// so that two searches whose local minima took the same options run the same cases.
fn options_hash(options: &BTreeMap<u64, u64>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (&total, &mask) in options {
        for word in [total, mask] {
            h = (h ^ word).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The failing run with its decisions' addresses: a generated run does not compute them, so
/// it is replayed once (replay with fallback of a whole log is the same run) to record them.
/// If the replay does not fail the same way, the run is nondeterministic and the positional
/// log is kept.
fn addressed(run: &dyn Fn(Source) -> Run, failing: Run, kind: FailureKind) -> Run {
    let log = &failing.report.log;
    let execution = log.decisions.iter().filter(|d| !d.kind.is_generation());
    if execution.clone().next().is_none() || execution.clone().any(|d| d.address.key != 0) {
        return failing;
    }
    let again = run(Source::replay_with_fallback(log));
    let same = again
        .report
        .outcome
        .failure()
        .is_some_and(|f| kind.shrinks_with(f.kind));
    if same && again.report.log == *log {
        again
    } else {
        failing
    }
}

/// The decisions that matter: the non-default execution decisions of a log.
pub fn nondefault_execution(log: &DecisionLog) -> Vec<(usize, Decision)> {
    log.decisions
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, d)| d.value != 0 && d.kind != DecisionKind::Generate)
        .collect()
}

/// Checks the local-minimum property of a shrunk failing run, independently of the shrinker:
/// no single command can be deleted, and no single non-default execution decision set to 0,
/// without losing the failure (of the same kind). Returns the first counter-proof.
pub fn check_local_minimum(run: &dyn Fn(Source) -> Run, shrunk: &Run) -> Result<(), String> {
    let kind = shrunk
        .report
        .outcome
        .failure()
        .ok_or("the run does not fail")?
        .kind;
    let fails = |g: &[Decision], e: &[Decision]| {
        run(Source::replay_with_fallback(&join(g, e)))
            .report
            .outcome
            .failure()
            .is_some_and(|f| kind.shrinks_with(f.kind))
    };
    let (generation, execution) = split(&shrunk.report.log);
    if let Some(case) = &shrunk.case {
        let s = &case.structure;
        let sections = s.prefix.iter().map(|&span| (span, s.prefix_end)).chain(
            s.branches
                .iter()
                .flat_map(|&((_, end), ref c)| c.iter().map(move |&span| (span, end - 1))),
        );
        for ((start, end), end_flag) in sections {
            let mut g = generation.clone();
            g[end_flag].value = 0;
            g.drain(start..end);
            if fails(&g, &execution) {
                return Err(format!(
                    "deleting the command at generation decisions {start}..{end} keeps the failure"
                ));
            }
        }
    }
    for (i, d) in execution.iter().enumerate() {
        if d.value != 0 {
            let mut e = execution.clone();
            e[i].value = 0;
            if fails(&generation, &e) {
                return Err(format!(
                    "setting execution decision {i} ({} = {}) to 0 keeps the failure",
                    d.kind.name(),
                    d.value
                ));
            }
        }
    }
    Ok(())
}
