//! The poolboy model (after poolboy's `poolboy_eqc.erl` and its 2017 rewrite) for weft's
//! model-based testing of [`weft_pool`].
//!
//! State: the pool's size and overflow limit (the first command starts the pool, so both are
//! generated and shrink), and the checked-out workers as the vars of the checkouts that
//! returned them, with their owner (the model's client, or one of a few holder clients that
//! may die). Commands: start, stop, checkout non-blocking, checkout blocking (100 ms), checkin
//! (of a checked-out worker; sometimes of a stale one or of a task that is no worker), kill a
//! checked-out worker, kill an idle worker, an unrelated linked task dying, a holder client
//! checking out, and a holder dying while holding workers.
//!
//! Postconditions: a checkout returns a worker (one not already out) iff fewer than
//! `size + max_overflow` are out, else `Full` (non-blocking) or `Timeout` (blocking); checkins
//! of checked-out workers succeed, others are refused. Invariant: the status is
//! `{full | overflow | ready, idle = max(0, size - out), overflow = max(0, out - size)}`, its
//! checked-out workers are exactly the model's, and the pool holds one monitor per
//! checked-out worker and per waiter.
//!
//! In parallel cases a blocking checkout that timed out is of unknown outcome (the pool may
//! have handed it a worker just as it gave up, and its cancel gives the worker back), and the
//! invariant after the branches is checked once the pool has settled (1 ms later).

mod run;

use std::fmt;
use std::time::Duration;
use weft::model::{Gen, StateMachine, Var, Vars};
use weft::{Config, Liveness, NetConfig, Sim};
use weft_pool::{Bugs, PoolState, Status, Worker};

pub use run::PoolSystem;

/// Pool shapes `(size, max_overflow)`, simplest first: shrinking moves toward the front.
pub const SHAPES: [(u8, u8); 12] = [
    (1, 0),
    (1, 1),
    (2, 0),
    (0, 1),
    (2, 1),
    (1, 2),
    (0, 2),
    (3, 0),
    (2, 2),
    (3, 1),
    (0, 0),
    (3, 2),
];

/// How long a blocking checkout waits.
pub const BLOCK_TIMEOUT: Duration = Duration::from_millis(100);

/// How long the model waits for the pool to process notices that race with its requests
/// (a killed worker's exit, in-flight cancels).
pub const SETTLE: Duration = Duration::from_millis(1);

/// Number of holder clients.
pub const HOLDERS: u8 = 3;

/// Who a checked-out worker belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// The model's client running the command (its checkouts belong to a task that lives
    /// as long as the test).
    Client,
    /// Holder client `n` (a task that the test may kill).
    Holder(u8),
}

/// The model state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ModelState {
    /// `(size, max_overflow)` of the running pool, if one runs.
    pub pool: Option<(u8, u8)>,
    /// Checked-out workers: the checkout's var and the owner, in checkout order.
    pub out: Vec<(Var, Owner)>,
    /// Vars whose workers are certainly no longer the pool's (killed, dismissed, stopped).
    pub gone: Vec<Var>,
    /// Holders that died (bit per holder); they are not used again.
    pub dead_holders: u8,
    /// Holders that checked out at least once (bit per holder): a checkout by a holder not
    /// used before takes the lowest-numbered one, so equal cases number holders alike.
    pub used_holders: u8,
}

impl ModelState {
    fn capacity(&self) -> usize {
        self.pool.map_or(0, |(size, overflow)| {
            usize::from(size) + usize::from(overflow)
        })
    }

    fn size(&self) -> usize {
        self.pool.map_or(0, |(size, _)| usize::from(size))
    }

    fn has_room(&self) -> bool {
        self.out.len() < self.capacity()
    }

    fn holds(&self, holder: u8) -> usize {
        self.out
            .iter()
            .filter(|(_, o)| *o == Owner::Holder(holder))
            .count()
    }
}

/// A command of the pool model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolCmd {
    /// Start a pool.
    Start {
        /// Workers kept.
        size: u8,
        /// Overflow workers allowed.
        max_overflow: u8,
    },
    /// Stop the pool.
    Stop,
    /// Non-blocking checkout by the model's client.
    CheckoutNonblock,
    /// Blocking checkout by the model's client, waiting up to [`BLOCK_TIMEOUT`].
    CheckoutBlock,
    /// Check in the worker a checkout returned.
    Checkin(Var),
    /// Check in a worker that is no longer the pool's (dismissed, killed, or from a stopped
    /// pool).
    CheckinStale(Var),
    /// Check in a task that is no worker at all.
    CheckinForeign,
    /// Kill a checked-out worker.
    KillWorker(Var),
    /// Kill an idle worker (check one out, check it in, kill it).
    KillIdleWorker,
    /// A task linked to the pool dies.
    SpuriousExit,
    /// Holder client `n` checks a worker out (non-blocking).
    HolderCheckout(u8),
    /// Holder client `n` dies, holding workers.
    KillHolder(u8),
}

/// When and by which client a checkout failed: a failure near another client's blocking
/// checkout timing out may be that hand-over race (see [`PoolModel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The task that ran the command (a client of the test).
    pub client: usize,
    /// Simulated time of the call.
    pub called_ns: u64,
    /// Simulated time of its return.
    pub returned_ns: u64,
}

/// What a command returned.
#[derive(Clone, PartialEq, Eq)]
pub enum PoolResult {
    /// Done (start, stop, kills).
    Ok,
    /// A checkout's worker.
    Worker(Worker),
    /// A non-blocking checkout found no worker.
    Full(Stamp),
    /// A blocking checkout timed out.
    Timeout(Stamp),
    /// A checkin was accepted.
    CheckedIn,
    /// A checkin was refused.
    NotCheckedOut,
    /// The idle worker killed.
    Killed(Worker),
    /// The var named holds no worker (its checkout failed in this interleaving).
    NoWorker,
    /// The pool did not answer.
    Unavailable,
}

impl fmt::Debug for PoolResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolResult::Ok => write!(f, "Ok"),
            PoolResult::Worker(w) => write!(f, "Worker({w:?})"),
            PoolResult::Full(_) => write!(f, "Full"),
            PoolResult::Timeout(_) => write!(f, "Timeout"),
            PoolResult::CheckedIn => write!(f, "CheckedIn"),
            PoolResult::NotCheckedOut => write!(f, "NotCheckedOut"),
            PoolResult::Killed(w) => write!(f, "Killed({w:?})"),
            PoolResult::NoWorker => write!(f, "NoWorker"),
            PoolResult::Unavailable => write!(f, "Unavailable"),
        }
    }
}

/// Whether a checkout that failed (`stamp`) ran within [`SETTLE`] of the deadline of another
/// client's blocking checkout: then the pool may have just handed that request a worker as its
/// caller gave up (poolboy PR #70's race), a worker the caller's cancel gives back.
fn near_another_deadline(stamp: &Stamp, deadlines: &[(usize, u64)]) -> bool {
    let window = SETTLE.as_nanos() as u64;
    deadlines.iter().any(|&(client, deadline)| {
        client != stamp.client
            && deadline + window >= stamp.called_ns
            && stamp.returned_ns + window >= deadline
    })
}

/// The poolboy model.
pub struct PoolModel {
    bugs: Bugs,
    parallel: bool,
    /// Whether the status invariant is checked (it is, unless switched off).
    invariant: bool,
    liveness: bool,
}

impl PoolModel {
    /// The model for sequential cases, with `bugs` planted in the pool.
    pub fn sequential(bugs: Bugs) -> PoolModel {
        PoolModel {
            bugs,
            parallel: false,
            invariant: true,
            liveness: true,
        }
    }

    /// This model without the status invariant: only the commands' postconditions are checked,
    /// as in poolboy's model before it had one. A bug then shows only when a later result is
    /// wrong (the next checkout finds the pool full), as the reference reports it.
    pub fn without_invariant(mut self) -> PoolModel {
        self.invariant = false;
        self
    }

    /// This model without the liveness phase: the pool is not required to come to rest after
    /// the case (poolboy's model had no such phase either).
    pub fn without_liveness(mut self) -> PoolModel {
        self.liveness = false;
        self
    }

    /// The model for parallel cases. Killing an idle worker is left out (it checks a worker
    /// out and in, which a concurrent client may see as a full pool), and a worker dismissed
    /// on checkin is not taken as gone (a concurrent waiter may receive it instead).
    pub fn parallel(bugs: Bugs) -> PoolModel {
        PoolModel {
            bugs,
            parallel: true,
            invariant: true,
            liveness: true,
        }
    }
}

/// The status the model expects with `out` workers checked out.
fn expected(size: usize, max_overflow: usize, out: usize) -> (PoolState, usize, usize) {
    let state = if out >= size + max_overflow {
        PoolState::Full
    } else if out >= size {
        PoolState::Overflow
    } else {
        PoolState::Ready
    };
    (state, size.saturating_sub(out), out.saturating_sub(size))
}

fn show_status(s: &Status) -> String {
    let out: Vec<String> = s
        .checked_out
        .iter()
        .map(|t| format!("worker@{}", t.index()))
        .collect();
    format!(
        "{:?}, idle {}, overflow {}, checked out [{}], {} waiting, {} monitors",
        s.state,
        s.idle,
        s.overflow,
        out.join(", "),
        s.waiting,
        s.monitors
    )
}

impl StateMachine for PoolModel {
    type State = ModelState;
    type Command = PoolCmd;
    type Result = PoolResult;
    type System = PoolSystem;

    fn config(&self) -> Config {
        network()
    }

    fn setup(&self, sim: &mut Sim) -> PoolSystem {
        PoolSystem::new(sim, self.bugs)
    }

    fn init(&self) -> ModelState {
        ModelState::default()
    }

    fn command(&self, state: &ModelState, gen: &mut Gen) -> PoolCmd {
        if state.pool.is_none() {
            let (size, max_overflow) = *gen.choose(&SHAPES);
            return PoolCmd::Start { size, max_overflow };
        }
        // Two decisions per command, from one fixed list: which command, and an argument
        // (which checked-out worker, say) that commands without one ignore. So a decision
        // means the same command whatever the state, and turning a command into a simpler one
        // leaves the commands after it alone: shrinking the pool's size, or a holder's
        // checkout into the client's, keeps the rest of the case. An option that does not
        // apply gives a command whose precondition fails, which generation skips.
        #[derive(Clone, Copy)]
        enum K {
            Nonblock,
            Checkin,
            Block,
            KillWorker,
            KillIdle,
            Spurious,
            Holder,
            KillHolder,
            Stale,
            Foreign,
            Stop,
        }
        let options = [
            (10, K::Nonblock),
            (12, K::Checkin),
            (10, K::Block),
            (7, K::KillWorker),
            (if self.parallel { 0 } else { 5 }, K::KillIdle),
            (4, K::Spurious),
            (3, K::Holder),
            (3, K::KillHolder),
            (1, K::Stale),
            (1, K::Foreign),
            (1, K::Stop),
        ];
        let kind = gen.weighted(&options);
        let arg = gen.below(16) as usize;
        let pick = |vars: &[Var]| {
            if vars.is_empty() {
                Var(usize::MAX) // fails the precondition
            } else {
                vars[arg % vars.len()]
            }
        };
        let out: Vec<Var> = state.out.iter().map(|(v, _)| *v).collect();
        match kind {
            K::Nonblock => PoolCmd::CheckoutNonblock,
            K::Checkin => PoolCmd::Checkin(pick(&out)),
            K::Block => PoolCmd::CheckoutBlock,
            K::KillWorker => PoolCmd::KillWorker(pick(&out)),
            K::KillIdle => PoolCmd::KillIdleWorker,
            K::Spurious => PoolCmd::SpuriousExit,
            K::Holder => PoolCmd::HolderCheckout(holder_to_use(state, arg)),
            K::KillHolder => PoolCmd::KillHolder(holder_to_kill(state, arg)),
            K::Stale => PoolCmd::CheckinStale(pick(&state.gone)),
            K::Foreign => PoolCmd::CheckinForeign,
            K::Stop => PoolCmd::Stop,
        }
    }

    fn precondition(&self, state: &ModelState, command: &PoolCmd) -> bool {
        let started = state.pool.is_some();
        let is_out = |v: &Var| state.out.iter().any(|(o, _)| o == v);
        let live = |h: u8| h < HOLDERS && state.dead_holders & (1 << h) == 0;
        match command {
            PoolCmd::Start { .. } => !started,
            _ if !started => false,
            PoolCmd::Checkin(v) | PoolCmd::KillWorker(v) => is_out(v),
            PoolCmd::CheckinStale(v) => state.gone.contains(v) && !is_out(v),
            PoolCmd::KillIdleWorker => state.out.len() < state.size() && !self.parallel,
            PoolCmd::HolderCheckout(h) => live(*h),
            PoolCmd::KillHolder(h) => live(*h) && state.holds(*h) > 0,
            _ => true,
        }
    }

    fn next_state(&self, state: &ModelState, command: &PoolCmd, var: Var) -> ModelState {
        let mut s = state.clone();
        match command {
            PoolCmd::Start { size, max_overflow } => {
                s.pool = Some((*size, *max_overflow));
                s.out.clear();
            }
            PoolCmd::Stop => {
                s.pool = None;
                s.gone.extend(s.out.iter().map(|(v, _)| *v));
                s.out.clear();
            }
            PoolCmd::CheckoutNonblock | PoolCmd::CheckoutBlock => {
                if s.has_room() {
                    s.out.push((var, Owner::Client));
                }
            }
            PoolCmd::HolderCheckout(h) => {
                s.used_holders |= 1 << h;
                if s.has_room() {
                    s.out.push((var, Owner::Holder(*h)));
                }
            }
            PoolCmd::Checkin(v) => {
                let dismissed = s.out.len() > s.size();
                s.out.retain(|(o, _)| o != v);
                if dismissed && !self.parallel {
                    s.gone.push(*v);
                }
            }
            PoolCmd::KillWorker(v) => {
                s.out.retain(|(o, _)| o != v);
                s.gone.push(*v);
            }
            PoolCmd::KillIdleWorker => s.gone.push(var),
            PoolCmd::KillHolder(h) => {
                s.out.retain(|(_, o)| *o != Owner::Holder(*h));
                s.dead_holders |= 1 << h;
            }
            PoolCmd::CheckinStale(_) | PoolCmd::CheckinForeign | PoolCmd::SpuriousExit => {}
        }
        s
    }

    fn postcondition(
        &self,
        state: &ModelState,
        command: &PoolCmd,
        result: &PoolResult,
        vars: &Vars<PoolResult>,
    ) -> Result<(), String> {
        let out = state.out.len();
        let room = state.has_room();
        let failure = match (command, result) {
            (PoolCmd::CheckoutNonblock | PoolCmd::HolderCheckout(_), PoolResult::Full(s)) => {
                Some(s)
            }
            (PoolCmd::CheckoutBlock, PoolResult::Timeout(s)) => Some(s),
            _ => None,
        };
        let checkout = || -> Result<(), String> {
            match (result, failure) {
                (PoolResult::Worker(w), _) if room => {
                    let again = state
                        .out
                        .iter()
                        .find(|(v, _)| vars.get(*v) == Some(&PoolResult::Worker(*w)));
                    match again {
                        Some((v, _)) => Err(format!("{w:?} is already checked out (#{})", v.0)),
                        None => Ok(()),
                    }
                }
                (_, Some(_)) if !room => Ok(()),
                _ if room => Err(format!(
                    "expected a worker ({out} of {} checked out), got {result:?}",
                    state.capacity()
                )),
                _ => Err(format!(
                    "expected no worker (all {out} checked out), got {result:?}"
                )),
            }
        };
        let expect = |wanted: PoolResult| {
            if *result == wanted {
                Ok(())
            } else {
                Err(format!("expected {wanted:?}, got {result:?}"))
            }
        };
        match command {
            PoolCmd::CheckoutNonblock | PoolCmd::HolderCheckout(_) | PoolCmd::CheckoutBlock => {
                checkout()
            }
            PoolCmd::Checkin(_) => expect(PoolResult::CheckedIn),
            PoolCmd::CheckinStale(_) | PoolCmd::CheckinForeign => expect(PoolResult::NotCheckedOut),
            PoolCmd::KillIdleWorker => match result {
                PoolResult::Killed(_) => Ok(()),
                other => Err(format!("expected an idle worker to kill, got {other:?}")),
            },
            PoolCmd::Start { .. }
            | PoolCmd::Stop
            | PoolCmd::KillWorker(_)
            | PoolCmd::SpuriousExit
            | PoolCmd::KillHolder(_) => expect(PoolResult::Ok),
        }
    }

    async fn run(
        &self,
        system: &PoolSystem,
        command: &PoolCmd,
        vars: &Vars<PoolResult>,
    ) -> PoolResult {
        if *command == PoolCmd::CheckoutBlock {
            system.note_deadline(weft::time::now_ns() + BLOCK_TIMEOUT.as_nanos() as u64);
        }
        system.run(command, vars).await
    }

    async fn invariant(
        &self,
        system: &PoolSystem,
        state: &ModelState,
        vars: &Vars<PoolResult>,
    ) -> Result<(), String> {
        let Some((size, max_overflow)) = state.pool else {
            return Ok(());
        };
        if !self.invariant {
            return Ok(());
        }
        if system.concurrent() {
            weft::time::sleep(SETTLE).await;
        }
        let Some(status) = system.status().await else {
            return Err("the pool did not answer status".to_string());
        };
        // Timed-out checkouts that a parallel linearization took as effective hold no worker:
        // their cancel gave it back.
        let mut workers: Vec<weft::TaskId> = state
            .out
            .iter()
            .filter_map(|(v, _)| match vars.get(*v) {
                Some(PoolResult::Worker(w)) => Some(w.task()),
                _ => None,
            })
            .collect();
        workers.sort();
        let (name, idle, overflow) =
            expected(usize::from(size), usize::from(max_overflow), workers.len());
        let consistent = status.monitors == status.checked_out.len() + status.waiting;
        if status.state == name
            && status.idle == idle
            && status.overflow == overflow
            && status.checked_out == workers
            && consistent
        {
            return Ok(());
        }
        let want: Vec<String> = workers
            .iter()
            .map(|t| format!("worker@{}", t.index()))
            .collect();
        Err(format!(
            "status is {}; the model expects {name:?}, idle {idle}, overflow {overflow}, checked out [{}], and one monitor per checked-out worker and waiter",
            show_status(&status),
            want.join(", ")
        ))
    }

    fn blocking(&self, state: &ModelState, command: &PoolCmd) -> bool {
        *command == PoolCmd::CheckoutBlock && !state.has_room()
    }

    /// At the end of every case: the test checks in every worker it still holds, and within
    /// a second the pool must be at rest: every worker idle, no overflow worker left, and no
    /// monitor but those of waiters still in line (every checkout has returned by then, so
    /// those waiters timed out; the pool sheds them, with their monitors, lazily at its next
    /// blocking checkout, a bounded cost of its design).
    fn liveness(&self) -> Option<Liveness> {
        self.liveness.then_some(Liveness {
            within: Duration::from_secs(1),
            poll: Duration::from_millis(10),
        })
    }

    async fn wind_down(&self, system: &PoolSystem, state: &ModelState, vars: &Vars<PoolResult>) {
        let held = state.out.iter().filter(|(v, _)| !state.gone.contains(v));
        let held: Vec<Var> = held.map(|(v, _)| *v).collect();
        system.check_in_all(&held, vars).await;
    }

    async fn quiescent(
        &self,
        system: &PoolSystem,
        state: &ModelState,
        _: &Vars<PoolResult>,
    ) -> Result<(), String> {
        let Some((size, _)) = state.pool else {
            return Ok(());
        };
        let Some(status) = system.status().await else {
            return Err("the pool did not answer status".to_string());
        };
        let rest = status.idle == usize::from(size)
            && status.overflow == 0
            && status.checked_out.is_empty()
            && status.monitors == status.waiting;
        if rest {
            Ok(())
        } else {
            Err(format!(
                "every worker was checked in, yet the status is {}; at rest it has idle {size}, overflow 0, nothing checked out, and a monitor only for each timed-out waiter not yet shed",
                show_status(&status)
            ))
        }
    }

    /// A timed-out checkout is cancelled (the cancel gives back a worker handed over just as
    /// it gave up), so in the sequential prefix its outcome is known: `next_state` says it.
    fn prefix_unknowns(&self) -> weft::PrefixUnknowns {
        weft::PrefixUnknowns::AsModelled
    }

    fn is_unknown(&self, system: &PoolSystem, result: &PoolResult) -> bool {
        match result {
            PoolResult::Timeout(_) => true,
            PoolResult::Full(stamp) => near_another_deadline(stamp, &system.deadlines()),
            _ => false,
        }
    }

    fn describe(&self, command: &PoolCmd) -> String {
        match command {
            PoolCmd::Start { size, max_overflow } => {
                format!("start(size {size}, max_overflow {max_overflow})")
            }
            PoolCmd::Stop => "stop".to_string(),
            PoolCmd::CheckoutNonblock => "checkout".to_string(),
            PoolCmd::CheckoutBlock => "checkout(block 100ms)".to_string(),
            PoolCmd::Checkin(v) => format!("checkin(#{})", v.0),
            PoolCmd::CheckinStale(v) => format!("checkin(#{}, no longer the pool's)", v.0),
            PoolCmd::CheckinForeign => "checkin(a task that is no worker)".to_string(),
            PoolCmd::KillWorker(v) => format!("kill worker #{}", v.0),
            PoolCmd::KillIdleWorker => "kill an idle worker".to_string(),
            PoolCmd::SpuriousExit => "a linked task dies".to_string(),
            PoolCmd::HolderCheckout(h) => format!("holder {h}: checkout"),
            PoolCmd::KillHolder(h) => format!("holder {h} dies"),
        }
    }
}

/// The network of the pool's tests: every message's latency is one of 0, 2, 4, 6 or 8 µs, so
/// messages from different nodes (a client's checkin and a worker's exit notice) race; value
/// 0 of every decision is the sequential, in-order run.
pub fn network() -> Config {
    Config {
        net: NetConfig {
            latency_min_ns: 0,
            latency_max_ns: 8_000,
            latency_buckets: 5,
            ..NetConfig::default()
        },
        ..Config::default()
    }
}

/// The holder a holder checkout with argument `arg` uses: one of the holders used before, or
/// the first one never used (so holders are numbered in order of first use); `u8::MAX`
/// (failing the precondition) when every holder is dead.
fn holder_to_use(state: &ModelState, arg: usize) -> u8 {
    let live = |h: &u8| state.dead_holders & (1 << h) == 0;
    let used = |h: &u8| state.used_holders & (1 << h) != 0;
    let mut holders: Vec<u8> = (0..HOLDERS).filter(|h| live(h) && used(h)).collect();
    holders.extend((0..HOLDERS).find(|h| live(h) && !used(h)));
    holders.sort_unstable();
    holders
        .get(arg % holders.len().max(1))
        .copied()
        .unwrap_or(u8::MAX)
}

/// The live holder holding workers that a kill with argument `arg` picks; `u8::MAX` (failing
/// the precondition) when none holds any.
fn holder_to_kill(state: &ModelState, arg: usize) -> u8 {
    let holding: Vec<u8> = (0..HOLDERS)
        .filter(|&h| state.dead_holders & (1 << h) == 0 && state.holds(h) > 0)
        .collect();
    holding
        .get(arg % holding.len().max(1))
        .copied()
        .unwrap_or(u8::MAX)
}
