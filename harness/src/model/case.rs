//! Generating a test case from the decision stream.
//!
//! The protocol, which the shrinker relies on: before each prefix command a flag is drawn
//! (0 ends the prefix), then the command; for a parallel test, the number of branches beyond
//! two, then for each branch a flag before each command (0 ends the branch). Every section
//! ends with a flag, drawn even when the section is full. Var numbers
//! follow generation order: the prefix, then branch 1, branch 2...

use super::{Gen, Span, StateMachine, Structure, Var};
use crate::source::Source;
use serde::{Deserialize, Serialize};

/// The size and shape of generated test cases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shape {
    /// Sequential, or a prefix then concurrent branches.
    pub mode: Mode,
    /// Most commands in the (sequential) prefix.
    pub prefix_max: usize,
    /// Most parallel branches, that is clients (2 to 8).
    #[serde(alias = "branches_max")]
    pub branch_count_max: usize,
    /// Most commands per branch (at most 255).
    #[serde(alias = "branch_max")]
    pub branch_length_max: usize,
    /// Most interleavings visited when checking that preconditions hold in every
    /// interleaving; a command whose check would visit more is not generated.
    pub interleavings_max: usize,
    /// The expected number of commands per section (the prefix, each branch) before the
    /// section's maximum cuts it: each "one more command?" flag goes on with probability
    /// `mean / (mean + 1)`. Unset (the default, and what existing replay files and
    /// scenarios mean), the flag stops with probability `1 / max` for a section of at most
    /// `max` commands, and at least `1 / 10`: sections of about `max - 1` commands, at most 9.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_mean: Option<usize>,
}

/// Sequential or parallel test cases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// One client runs every command in turn.
    #[default]
    Sequential,
    /// A sequential prefix, then concurrent branches checked for linearizability.
    Parallel,
}

impl Default for Shape {
    fn default() -> Self {
        Shape::sequential()
    }
}

impl Shape {
    /// Sequential tests of up to 20 commands.
    pub fn sequential() -> Shape {
        Shape {
            mode: Mode::Sequential,
            prefix_max: 20,
            branch_count_max: 2,
            branch_length_max: 0,
            interleavings_max: 10_000,
            length_mean: None,
        }
    }

    /// Parallel tests: up to 5 prefix commands, then 2 branches of up to 4 commands.
    pub fn parallel() -> Shape {
        Shape {
            mode: Mode::Parallel,
            prefix_max: 5,
            branch_count_max: 2,
            branch_length_max: 4,
            interleavings_max: 10_000,
            length_mean: None,
        }
    }

    /// The default shape of `mode`'s cases.
    pub fn of(mode: Mode) -> Shape {
        match mode {
            Mode::Sequential => Shape::sequential(),
            Mode::Parallel => Shape::parallel(),
        }
    }
}

/// A generated test case.
pub(crate) struct TestCase<C> {
    pub prefix: Vec<C>,
    pub branches: Vec<Vec<C>>,
    pub structure: Structure,
}

impl<C> TestCase<C> {
    pub fn commands(&self) -> usize {
        self.prefix.len() + self.branches.iter().map(Vec::len).sum::<usize>()
    }
}

/// The "one more command?" flag: 0 stops (the default, so shrinking toward 0 shortens), any
/// other value goes on. By default it has `max` options (at most 10), so the expected length
/// is about `max - 1` and random cases are long enough to find bugs that need several
/// commands; with [`Shape::length_mean`] set to `mean`, it has `mean + 1` options.
fn flag(gen: &mut Gen, max: usize, shape: &Shape) -> bool {
    let options = match shape.length_mean {
        Some(mean) => mean.saturating_add(1).max(2),
        None => max.clamp(2, 10),
    };
    gen.more(options as u64)
}

/// Generates a test case, drawing from `source`.
pub(crate) fn generate<M: StateMachine>(
    model: &M,
    source: &mut Source,
    shape: &Shape,
) -> TestCase<M::Command> {
    let mut gen = Gen::new(source);
    let mut structure = Structure::default();
    let (prefix, state) = generate_prefix(model, &mut gen, shape, &mut structure);
    let mut branches: Vec<Vec<(Var, M::Command)>> = Vec::new();
    if shape.mode == Mode::Parallel {
        let count = if shape.branch_count_max > 2 {
            structure.branch_count_at = Some(gen.position());
            2 + gen.below(shape.branch_count_max as u64 - 1) as usize
        } else {
            2
        };
        let mut next_var = prefix.len();
        for _ in 0..count {
            let branch_start = gen.position();
            let (branch, spans) =
                generate_branch(model, &mut gen, shape, &state, &branches, next_var);
            next_var += branch.len();
            structure
                .branches
                .push(((branch_start, gen.position()), spans));
            branches.push(branch);
        }
    }
    TestCase {
        prefix,
        branches: branches
            .into_iter()
            .map(|b| b.into_iter().map(|(_, c)| c).collect())
            .collect(),
        structure,
    }
}

/// The sequential prefix, and the model state after it.
fn generate_prefix<M: StateMachine>(
    model: &M,
    gen: &mut Gen,
    shape: &Shape,
    structure: &mut Structure,
) -> (Vec<M::Command>, M::State) {
    let mut state = model.init();
    let mut prefix = Vec::new();
    loop {
        // Every section ends with a flag draw, even when full (then the flag is ignored), so
        // that deleting a command's decisions never shifts the decisions after the section.
        let start = gen.position();
        let more = flag(gen, shape.prefix_max, shape);
        if !more || prefix.len() >= shape.prefix_max {
            structure.prefix_end = start;
            return (prefix, state);
        }
        let command = model.command(&state, gen);
        if !model.precondition(&state, &command) {
            continue;
        }
        state = model.next_state(&state, &command, Var(prefix.len()));
        prefix.push(command);
        structure.prefix.push((start, gen.position()));
    }
}

/// One parallel branch after the prefix (whose final state is `state`), given the branches
/// generated before it; its vars start at `first_var`. Returns its commands and their spans.
fn generate_branch<M: StateMachine>(
    model: &M,
    gen: &mut Gen,
    shape: &Shape,
    state: &M::State,
    before: &[Vec<(Var, M::Command)>],
    first_var: usize,
) -> (Vec<(Var, M::Command)>, Vec<Span>) {
    let mut spans = Vec::new();
    let mut branch: Vec<(Var, M::Command)> = Vec::new();
    let mut branch_state = state.clone();
    loop {
        let start = gen.position();
        let more = flag(gen, shape.branch_length_max, shape);
        if !more || branch.len() >= shape.branch_length_max {
            return (branch, spans);
        }
        let command = model.command(&branch_state, gen);
        if !model.precondition(&branch_state, &command) {
            continue;
        }
        let var = Var(first_var + branch.len());
        branch.push((var, command));
        if !every_interleaving_allowed(model, state, before, &branch, shape.interleavings_max) {
            branch.pop();
            continue;
        }
        let (_, command) = branch.last().expect("just pushed");
        branch_state = model.next_state(&branch_state, command, var);
        spans.push((start, gen.position()));
    }
}

/// Whether every precondition holds in every interleaving of `done` branches and `current`.
fn every_interleaving_allowed<M: StateMachine>(
    model: &M,
    state: &M::State,
    done: &[Vec<(Var, M::Command)>],
    current: &[(Var, M::Command)],
    budget: usize,
) -> bool {
    let mut all: Vec<&[(Var, M::Command)]> = done.iter().map(Vec::as_slice).collect();
    all.push(current);
    let mut search = Interleavings {
        model,
        branches: &all,
        positions: 0,
        seen: Seen::default(),
        budget,
    };
    search.explore(state)
}

/// Configurations already explored: (position in each branch, packed a byte per branch, and
/// model state). Only queried, never iterated, and with a fixed hasher: deterministic.
type Seen<S> = std::collections::HashSet<(u64, S), std::hash::BuildHasherDefault<FxHasher>>; // hygiene: allowed (lookups only, fixed hasher)

/// A small fast hasher (rustc's Fx): fixed, so the same on every run and platform.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

struct Interleavings<'a, M: StateMachine> {
    model: &'a M,
    branches: &'a [&'a [(Var, M::Command)]],
    /// Position in each branch, a byte per branch (at most 8 branches of 255 commands).
    positions: u64,
    seen: Seen<M::State>,
    budget: usize,
}

impl<M: StateMachine> Interleavings<'_, M> {
    /// Whether every interleaving from here keeps every precondition. A configuration
    /// reached again by another path has the same future, so it is explored once.
    fn explore(&mut self, state: &M::State) -> bool {
        if !self.seen.insert((self.positions, state.clone())) {
            return true;
        }
        if self.seen.len() > self.budget {
            return false;
        }
        for b in 0..self.branches.len() {
            let position = (self.positions >> (8 * b)) & 0xff;
            let Some((var, command)) = self.branches[b].get(position as usize) else {
                continue;
            };
            if !self.model.precondition(state, command) {
                return false;
            }
            let next = self.model.next_state(state, command, *var);
            self.positions += 1 << (8 * b);
            let ok = self.explore(&next);
            self.positions -= 1 << (8 * b);
            if !ok {
                return false;
            }
        }
        true
    }
}
