//! The one source of every nondeterministic decision in a run.
//!
//! Three modes: generate from a [`Strategy`], replay a recorded [`DecisionLog`] strictly
//! (a recorded decision that does not fit the live one is a [`Divergence`]), and replay with
//! fallback, which is what shrinking uses: recorded values are reused where they fit (clamped
//! to the live bound), and once a class of decisions runs out every further choice is 0.
//! Whatever the mode, the decisions actually taken are recorded, so any run can be replayed.
//!
//! Replay with fallback matches execution decisions by [`Address`] when the recording has
//! addresses (every run replayed from a log records them): the n-th live draw at an address
//! takes the n-th recorded value there, and an address the recording never reached answers 0.
//! Positions shift when a command is deleted or a decision zeroed; addresses do not.

use crate::decision::{Address, Decision, DecisionKind, DecisionLog};
use crate::ids::TaskId;
use crate::strategy::Strategy;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// A recorded decision that does not fit the live run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// Position in the recorded sequence.
    pub position: usize,
    /// What the recording holds at that position (`None`: it had ended).
    pub recorded: Option<(DecisionKind, u64)>,
    /// What the live run asked for (`None`: the run ended before using the whole recording).
    pub live: Option<(DecisionKind, u64)>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |x: &Option<(DecisionKind, u64)>| match x {
            Some((k, b)) => format!("a {} decision with {} options", k.name(), b),
            None => "nothing".to_string(),
        };
        write!(
            f,
            "replay diverged at decision {}: the recording has {}, the run asked for {}",
            self.position,
            show(&self.recorded),
            show(&self.live)
        )
    }
}

thread_local! {
    /// Room for the decisions of the next run on this thread, from the last runs' (see
    /// [`grown_hint`]): its log starts with it, instead of growing by doubling and copying (a
    /// search runs many cases of about the same length). Capacity only: no effect on what is
    /// recorded.
    static LOG_CAPACITY_HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The most decisions a log is given room for in advance.
const LOG_CAPACITY_MAX: usize = 1 << 16;

/// The room to give the next run's table, after one that needed `len` when `hint` was given:
/// half as much again as `len`, but no less than `hint` minus an eighth (runs vary in length,
/// and a table that outgrows its room is copied whole), at most `max`.
pub(crate) fn grown_hint(hint: usize, len: usize, max: usize) -> usize {
    (len + len / 2).max(hint - hint / 8).min(max)
}

enum Mode {
    Generate(Box<dyn Strategy>),
    Replay {
        recorded: Vec<Decision>,
        position: usize,
    },
    Fallback {
        generation: Vec<Decision>,
        execution: Vec<Decision>,
        generation_pos: usize,
        execution_pos: usize,
        /// The recorded execution decisions by address, in order (`None`: the recording has
        /// no addresses, and execution decisions replay by position).
        by_address: Option<BTreeMap<u64, VecDeque<(u64, u64)>>>,
    },
}

/// Where a live decision is drawn: its address key, and for a choice among tasks or messages
/// the identity of each option (empty otherwise).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site<'a> {
    pub key: u64,
    pub options: &'a [u64],
}

/// The decision source of one run.
pub struct Source {
    mode: Mode,
    /// Whether the run computes decisions' addresses: replays do (the shrinker edits their
    /// logs); generated runs do not, to keep the search loop fast.
    addressed: bool,
    log: Vec<Decision>,
    generated: usize,
    divergence: Option<Divergence>,
    /// How many more "one more command?" flags may say yes (`None`: no bound). Set by
    /// [`Source::with_commands_max`] for the shrinker's search of small cases.
    commands_left: Option<usize>,
    /// The options a generating source's weighted choices are held to, by the choice's total
    /// weight: a bit set of the values that start an allowed option. Set by
    /// [`Source::with_options_only`] for the shrinker's search of small cases.
    options_only: Option<std::rc::Rc<BTreeMap<u64, u64>>>,
}

impl Source {
    /// Generates decisions with `strategy`.
    pub fn generate(strategy: Box<dyn Strategy>) -> Source {
        Source::with_mode(Mode::Generate(strategy))
    }

    /// Replays `log` exactly; any mismatch is a divergence.
    pub fn replay(log: DecisionLog) -> Source {
        Source::with_mode(Mode::Replay {
            recorded: log.decisions,
            position: 0,
        })
    }

    /// Replays `log` where it fits, then answers 0 to everything.
    pub fn replay_with_fallback(log: &DecisionLog) -> Source {
        let (generation, execution): (Vec<Decision>, Vec<Decision>) =
            log.decisions.iter().partition(|d| d.kind.is_generation());
        let by_address = execution.iter().any(|d| d.address.key != 0).then(|| {
            // Only the subjects with a non-default value recorded, each up to its last one: a
            // live draw whose subject has nothing (left) recorded takes the default, as a
            // recorded 0 would. A shrink's candidate has a handful of non-default decisions
            // among hundreds, and is built once per run.
            let mut map: BTreeMap<u64, VecDeque<(u64, u64)>> = BTreeMap::new();
            for d in execution.iter().filter(|d| d.value != 0) {
                map.entry(d.address.key).or_default();
            }
            for d in &execution {
                if let Some(recorded) = map.get_mut(&d.address.key) {
                    recorded.push_back((d.value, d.address.target));
                }
            }
            for recorded in map.values_mut() {
                while recorded.back().is_some_and(|&(value, _)| value == 0) {
                    recorded.pop_back();
                }
            }
            map
        });
        Source::with_mode(Mode::Fallback {
            generation,
            execution,
            generation_pos: 0,
            execution_pos: 0,
            by_address,
        })
    }

    /// All zeros: the sequential, fault-free run.
    pub fn zeros() -> Source {
        Source::replay_with_fallback(&DecisionLog::default())
    }

    fn with_mode(mode: Mode) -> Source {
        Source {
            addressed: !matches!(mode, Mode::Generate(_)),
            mode,
            log: Vec::with_capacity(LOG_CAPACITY_HINT.with(std::cell::Cell::get)),
            generated: 0,
            divergence: None,
            commands_left: None,
            options_only: None,
        }
    }

    /// The same source, whose generated test cases have at most `max` commands: once `max`
    /// "one more command?" flags have said yes, the next ones are recorded as 0 (stop), so the
    /// log replays the same case without the bound. Only a generating source draws flags
    /// freely; a replay's flags are the recorded ones.
    pub fn with_commands_max(mut self, max: usize) -> Source {
        self.commands_left = Some(max);
        self
    }

    /// The same source, whose weighted choices ([`crate::model::Gen::weighted`]) of a total
    /// weight found in `options` take only the options whose first values are in its bit set
    /// (in proportion to their weights); other choices are free. The log records each
    /// option drawn by its first value, as always, so it replays the same case without the
    /// restriction. Only a generating source is restricted.
    pub fn with_options_only(mut self, options: std::rc::Rc<BTreeMap<u64, u64>>) -> Source {
        self.options_only = Some(options);
        self
    }

    /// The bit set of allowed first values for a weighted choice of total weight `total`
    /// (`None`: every option), as [`Source::with_options_only`] set it.
    pub(crate) fn options_allowed(&self, total: u64) -> Option<u64> {
        if !matches!(self.mode, Mode::Generate(_)) {
            return None;
        }
        self.options_only.as_ref()?.get(&total).copied()
    }

    /// Draws the "one more command?" flag of a test case (a generation decision below
    /// `bound`, 0 meaning stop), held to the bound of [`Source::with_commands_max`].
    pub(crate) fn more(&mut self, bound: u64) -> bool {
        let mut value = self.value(DecisionKind::Generate, bound);
        if value != 0 {
            match &mut self.commands_left {
                Some(0) => {
                    value = 0;
                    if let Some(d) = self.log.last_mut() {
                        d.value = 0;
                    }
                }
                Some(left) => *left -= 1,
                None => {}
            }
        }
        value != 0
    }

    /// Name of the mode or strategy, for reports.
    pub fn name(&self) -> &'static str {
        match &self.mode {
            Mode::Generate(s) => s.name(),
            Mode::Replay { .. } => "replay",
            Mode::Fallback { .. } => "replay-with-fallback",
        }
    }

    /// Whether the simulator should compute addresses for its draws.
    pub(crate) fn addressed(&self) -> bool {
        self.addressed
    }

    /// Picks among `options` (runnable tasks, default first). Draws only if there is a choice.
    /// `site` is where the choice is made, when the run is addressed.
    pub(crate) fn task(&mut self, options: &[TaskId], site: Option<Site>) -> usize {
        let bound = options.len() as u64;
        if bound < 2 {
            return 0;
        }
        let value = match &mut self.mode {
            Mode::Generate(strategy) => strategy.next_task(options) as u64,
            _ => self.replayed(DecisionKind::Schedule, bound, site),
        };
        self.push(DecisionKind::Schedule, bound, value, site);
        value as usize
    }

    /// Draws a value below `bound` for a decision of `kind`. A bound below 2 is no choice:
    /// 0 is returned and nothing is recorded.
    pub(crate) fn value(&mut self, kind: DecisionKind, bound: u64) -> u64 {
        self.value_at(kind, bound, None)
    }

    /// As [`Source::value`], drawn at `site` (when the run is addressed).
    pub(crate) fn value_at(&mut self, kind: DecisionKind, bound: u64, site: Option<Site>) -> u64 {
        self.value_by(kind, bound, site, |strategy| {
            strategy.next_value(kind, bound)
        })
    }

    /// As [`Source::value_at`], asking a generating strategy through `ask`: one of its hooks
    /// that is told more about the decision than its kind (a message's sender). Replays ignore
    /// `ask`: the value is the recorded one, whatever strategy produced it.
    #[inline]
    pub(crate) fn value_by(
        &mut self,
        kind: DecisionKind,
        bound: u64,
        site: Option<Site>,
        ask: impl FnOnce(&mut dyn Strategy) -> u64,
    ) -> u64 {
        if bound < 2 {
            return 0;
        }
        let value = match &mut self.mode {
            Mode::Generate(strategy) => ask(strategy.as_mut()),
            _ => self.replayed(kind, bound, site),
        };
        self.push(kind, bound, value, site);
        value
    }

    /// Marks the generation decision just drawn as a weighted choice: the recorded value
    /// becomes `start`, the first value of the option drawn (the same option on any replay,
    /// and one value for it in every log), and `starts` (the values that start an option, as
    /// a bit set; 0 if unknown) goes in its address for the shrinker
    /// ([`Decision::is_option_start`]).
    pub(crate) fn weighted_drawn(&mut self, start: u64, starts: u64) {
        if let Some(d) = self.log.last_mut().filter(|d| d.kind.is_generation()) {
            debug_assert!(start <= d.value);
            d.value = start;
            d.address.target = starts;
        }
    }

    fn push(&mut self, kind: DecisionKind, bound: u64, value: u64, site: Option<Site>) {
        debug_assert!(value < bound);
        if kind.is_generation() {
            self.generated += 1;
        }
        let mut decision = Decision::new(kind, bound, value);
        if let Some(site) = site {
            decision.address = Address {
                key: site.key,
                target: site.options.get(value as usize).copied().unwrap_or(0),
            };
        }
        self.log.push(decision);
    }

    fn replayed(&mut self, kind: DecisionKind, bound: u64, site: Option<Site>) -> u64 {
        match &mut self.mode {
            Mode::Generate(_) => unreachable!("replayed() in generate mode"),
            Mode::Replay { recorded, position } => {
                let at = *position;
                *position += 1;
                match recorded.get(at) {
                    Some(d) if d.kind == kind && d.bound == bound => d.value,
                    other => {
                        if self.divergence.is_none() {
                            self.divergence = Some(Divergence {
                                position: at,
                                recorded: other.map(|d| (d.kind, d.bound)),
                                live: Some((kind, bound)),
                            });
                        }
                        0
                    }
                }
            }
            Mode::Fallback {
                by_address: Some(by_address),
                ..
            } if !kind.is_generation() && site.is_some() => {
                let site = site.expect("checked");
                let Some((value, target)) = by_address
                    .get_mut(&site.key)
                    .and_then(|recorded| recorded.pop_front())
                else {
                    return 0; // the recording never reached this subject
                };
                // The option taken, by identity; when it is not among the live options (the
                // task already ran), the same position: still not the default, as recorded.
                let by_identity = (target != 0)
                    .then(|| site.options.iter().position(|&o| o == target))
                    .flatten();
                match by_identity {
                    _ if value == 0 => 0,
                    Some(i) => i as u64,
                    None => value.min(bound - 1),
                }
            }
            Mode::Fallback {
                generation,
                execution,
                generation_pos,
                execution_pos,
                ..
            } => {
                let (seq, pos) = if kind.is_generation() {
                    (generation, generation_pos)
                } else {
                    (execution, execution_pos)
                };
                let value = seq.get(*pos).map_or(0, |d| d.value.min(bound - 1));
                *pos += 1;
                value
            }
        }
    }

    /// Called when the run ends: in strict replay, an unused tail of the recording is a
    /// divergence too.
    pub(crate) fn finish(&mut self) {
        if let Mode::Replay { recorded, position } = &self.mode {
            if self.divergence.is_none() && *position < recorded.len() {
                let d = recorded[*position];
                self.divergence = Some(Divergence {
                    position: *position,
                    recorded: Some((d.kind, d.bound)),
                    live: None,
                });
            }
        }
    }

    /// The first divergence, in strict replay.
    pub fn divergence(&self) -> Option<&Divergence> {
        self.divergence.as_ref()
    }

    /// Number of `Generate` decisions taken so far.
    pub(crate) fn generated(&self) -> usize {
        self.generated
    }

    /// Number of decisions taken so far.
    pub fn taken(&self) -> usize {
        self.log.len()
    }

    /// The decisions taken.
    pub fn into_log(self) -> DecisionLog {
        // Half as much again, and no less than the last hint but an eighth: cases vary in
        // length, and a log that outgrows its room is copied whole.
        LOG_CAPACITY_HINT.with(|h| h.set(grown_hint(h.get(), self.log.len(), LOG_CAPACITY_MAX)));
        DecisionLog {
            decisions: self.log,
        }
    }

    /// The decisions taken so far.
    pub fn log(&self) -> &[Decision] {
        &self.log
    }
}
