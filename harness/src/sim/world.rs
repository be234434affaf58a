//! The state of a running simulation and the thread-local context through which code under
//! test reaches it.
//!
//! Architecture invariant: the world is only borrowed for short, non-reentrant sections; no
//! future is polled and no user value is dropped while it is borrowed. Wakers never touch the
//! world: they push the task index onto a separate thread-local list that the executor drains.

use super::config::Config;
use super::failure::{CheckFailed, Failure, FailureKind};
use super::queue::{EventQueue, Queued};
use super::trace::{EventKind, Trace, TraceEvent};
use crate::decision::{mix, mix_str, DecisionKind};
use crate::ids::{NodeId, TaskId};
use crate::source::{Site, Source};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{RawWaker, RawWakerVTable, Waker};

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;
pub(crate) type NodeInit = Rc<dyn Fn() -> BoxFuture>;

thread_local! {
    // Both without drop glue (`ManuallyDrop`), so that reaching them is a plain thread-local
    // access, with no destructor to register first: they are reached at every step and every
    // weft call. A world is taken out by `uninstall` at the end of its run; one left installed
    // by a thread that panicked out of `Sim::run` is leaked when the thread exits, as is the
    // woken list's buffer.
    static WORLD: ManuallyDrop<RefCell<Option<World>>> =
        const { ManuallyDrop::new(RefCell::new(None)) };
    static WOKEN: ManuallyDrop<RefCell<Vec<TaskId>>> =
        const { ManuallyDrop::new(RefCell::new(Vec::new())) };
    pub(crate) static IN_POLL: Cell<bool> = const { Cell::new(false) };
    /// Simulated time of the running simulation (u64::MAX: none), for log timestamps.
    pub(crate) static SIM_NOW: Cell<u64> = const { Cell::new(u64::MAX) };
    pub(crate) static LAST_PANIC: RefCell<Option<(String, bool)>> = const { RefCell::new(None) };
    /// Room for the tasks of the next run on this thread, from the last runs' (capacity only,
    /// as the decision log's hint).
    pub(crate) static TASKS_HINT: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with the current world. Panics outside a simulation: the APIs of `weft::time`,
/// `weft::net` and friends only make sense inside `Sim::run`.
#[track_caller]
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&mut World) -> R) -> R {
    let mut guard = world_cell()
        .try_borrow_mut()
        .expect("weft: the simulation is already borrowed (a weft call from a Drop inside weft?)");
    let world = guard
        .as_mut()
        .expect("weft: this call must run inside a simulation (Sim::run)");
    f(world)
}

/// A thread-local without a destructor, by reference. `LocalKey::with` is given only the
/// closure that takes the value's address, so that it is inlined (with a closure doing the
/// caller's work it is often not, and every weft call then paid a call through the key's
/// accessor).
#[inline(always)]
fn local<T>(key: &'static std::thread::LocalKey<ManuallyDrop<T>>) -> &'static T {
    let value: *const T = key.with(|value| &**value as *const T);
    // SAFETY: the value has no destructor (`ManuallyDrop`), so its storage is this thread's
    // for as long as the thread runs. The reference is `'static` to this thread only: the
    // values reached this way are `RefCell`s, which are not `Sync`, so a reference to one
    // cannot be sent to another thread.
    unsafe { &*value }
}

#[inline(always)]
fn world_cell() -> &'static RefCell<Option<World>> {
    local(&WORLD)
}

/// Like [`with`], but returns `None` outside a simulation or while the world is borrowed.
pub(crate) fn try_with<R>(f: impl FnOnce(&mut World) -> R) -> Option<R> {
    WORLD.with(|cell| {
        let mut guard = cell.try_borrow_mut().ok()?;
        guard.as_mut().map(f)
    })
}

pub(crate) fn install(world: World) {
    WORLD.with(|cell| {
        let mut slot = cell.borrow_mut();
        assert!(
            slot.is_none(),
            "weft: a simulation is already running on this thread"
        );
        *slot = Some(world);
    });
    WOKEN.with(|w| w.borrow_mut().clear());
    SIM_NOW.with(|n| n.set(0));
}

pub(crate) fn uninstall() -> World {
    SIM_NOW.with(|n| n.set(u64::MAX));
    WORLD.with(|cell| {
        cell.borrow_mut()
            .take()
            .expect("weft: no simulation installed")
    })
}

/// Whether no task was woken since the last [`drain_woken`].
#[inline(always)]
pub(crate) fn none_woken() -> bool {
    local(&WOKEN).borrow().is_empty()
}

/// Moves the tasks woken since the last call into `into`; false (and nothing done) when none
/// was.
#[inline]
pub(crate) fn drain_woken(into: &mut Vec<TaskId>) -> bool {
    let mut woken = local(&WOKEN).borrow_mut();
    if woken.is_empty() {
        return false;
    }
    if into.is_empty() {
        // The usual case: trade buffers instead of copying.
        std::mem::swap(into, &mut *woken);
    } else {
        into.append(&mut woken);
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Wakers: the data pointer is the task index.

fn waker_clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}
fn waker_wake(data: *const ()) {
    let task = TaskId::from_index(data as usize);
    local(&WOKEN).borrow_mut().push(task);
}
fn waker_drop(_: *const ()) {}

static VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake, waker_drop);

/// The task whose waker `waker` is (`None`: another waker, one a future made).
#[inline(always)]
pub(crate) fn task_of(waker: &Waker) -> Option<TaskId> {
    std::ptr::eq(waker.vtable(), &VTABLE).then(|| TaskId::from_index(waker.data() as usize))
}

pub(crate) fn task_waker(task: TaskId) -> Waker {
    // SAFETY: the vtable functions never dereference the data pointer; it is an integer.
    unsafe { Waker::from_raw(RawWaker::new(task.index() as *const (), &VTABLE)) }
}

// ---------------------------------------------------------------------------------------------
// Tasks

/// Why a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// It returned.
    Normal,
    /// It panicked (the message).
    Panicked(String),
    /// It was killed or aborted.
    Killed,
    /// Its node crashed.
    NodeCrashed,
    /// The monitored task did not exist or had already been collected.
    NoSuchTask,
}

/// Shared between a task and its join handles and monitors.
#[derive(Default)]
pub(crate) struct ExitCell {
    pub reason: RefCell<Option<ExitReason>>,
    pub waiters: RefCell<Vec<Waker>>,
}

/// What a blocked task waits on (for deadlock reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    Unknown,
    Sleep(u64),
    Recv(NodeId, u32),
    Join(TaskId),
}

pub(crate) type ExitHook = Box<dyn FnOnce(&mut World, &ExitReason)>;

pub(crate) struct Task {
    pub node: NodeId,
    pub name: Option<Box<str>>,
    /// In addressed runs: a stable identity (its parent's, its name, and how many tasks of
    /// that name the parent had spawned before), the number of times it was polled, and of
    /// decisions drawn while it ran; and per name, how many children it spawned.
    pub ident: u64,
    pub polls: u32,
    pub draws: u32,
    pub children: Vec<(u64, u32)>,
    pub future: Option<BoxFuture>,
    pub alive: bool,
    pub queued: bool,
    pub wait: Wait,
    pub exit: Rc<ExitCell>,
    pub on_exit: Vec<ExitHook>,
}

// ---------------------------------------------------------------------------------------------
// Nodes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeState {
    Up,
    Crashed,
    Paused,
}

pub(crate) struct Node {
    pub name: Box<str>,
    pub state: NodeState,
    pub incarnation: u32,
    pub init: Option<NodeInit>,
    /// Tasks woken while the node was paused.
    pub parked: Vec<TaskId>,
    /// Its monotonic and wall clocks, and the timers that follow them.
    pub clock: super::clocks::NodeClock,
    pub timers: super::clocks::Timers,
    /// Named by `Sim::node_id` and not yet added.
    pub named_only: bool,
    pub disk: super::storage::DiskState,
    pub next_port: u32,
}

// ---------------------------------------------------------------------------------------------
// Events

pub(crate) struct Envelope {
    pub id: u64,
    pub from: crate::ids::Addr,
    pub to: crate::ids::Addr,
    pub payload: super::network::Payload,
    /// In addressed runs, the message's stable identity (its sender and how many things the
    /// sender had done before); a duplicate shares it.
    pub ident: u64,
    /// A reply to a request (for its description).
    pub reply: bool,
    /// The task that sent it (`None` from outside a task), for its description.
    pub sender: Option<TaskId>,
}

pub(crate) enum Event {
    Wake(Waker),
    Deliver(Envelope),
    FaultTick,
    Heal,
}

pub(crate) struct EventSlot {
    pub generation: u32,
    pub event: Option<Event>,
}

/// An event popped by [`World::pop_due`]: a delivery, left in its slot, or another event.
pub(crate) enum DueEvent {
    Delivery(u32),
    Other(Event),
}

/// What is due now (see [`World::due_now`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    LoneDelivery,
    Several,
}

/// A handle to a scheduled event, for cancellation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EventKey {
    pub slot: u32,
    pub generation: u32,
}

// ---------------------------------------------------------------------------------------------
// The world

/// A non-default decision, described in the system's terms (recorded when the trace is).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    /// Index of the decision in the run's decision log.
    pub decision: usize,
    /// Scheduling step.
    pub step: u64,
    /// Simulated time.
    pub time_ns: u64,
    /// What was decided.
    pub kind: DecisionKind,
    /// The value taken.
    pub value: u64,
    /// What it meant.
    pub text: String,
}

/// A value drawn from the source, with the position of its decision in the run's log (`None`:
/// there was no choice, and nothing was recorded). A note names the decision it explains
/// through it, so a text cannot land on another decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Drawn {
    pub value: u64,
    kind: DecisionKind,
    at: Option<usize>,
}

impl Drawn {
    /// A decision taken at position `at` of the log.
    pub fn at(kind: DecisionKind, value: u64, at: usize) -> Drawn {
        Drawn {
            value,
            kind,
            at: Some(at),
        }
    }
}

pub(crate) enum Deferred {
    Kill(TaskId, ExitReason),
    Crash(NodeId),
}

pub(crate) struct World {
    pub cfg: Config,
    pub source: Source,
    pub trace: Trace,
    pub now: u64,
    pub step: u64,
    pub tasks: Vec<Task>,
    /// Runnable tasks in wake order (oldest first). May hold dead tasks; they are skipped.
    pub runnable: Vec<TaskId>,
    /// Whether `runnable` may hold tasks no longer queued (ended or parked since they were
    /// woken): only then is it filtered.
    pub runnable_stale: bool,
    /// The task being polled, if any.
    pub current: Option<TaskId>,
    pub last_polled: Option<TaskId>,
    pub heap: EventQueue,
    pub events: Vec<EventSlot>,
    pub free_events: Vec<u32>,
    pub pending_events: usize,
    pub event_seq: u64,
    pub nodes: Vec<Node>,
    pub net: super::network::NetState,
    pub failure: Option<Failure>,
    pub deferred: VecDeque<Deferred>,
    pub main_done: bool,
    pub graveyard: Vec<BoxFuture>,
    /// Descriptions of non-default decisions, when the trace is recorded.
    pub notes: Option<Vec<Note>>,
    /// In explained runs: every message sent (step, sending task, description), from which
    /// the preemptions' notes are written at the end of the run.
    pub sends: Vec<(u64, TaskId, String)>,
    /// In explained runs: each preemption's note, with the task that ran and the one it
    /// displaced.
    pub preemptions: Vec<(usize, TaskId, TaskId)>,
    /// Start-up tasks polled once, in node order and without a decision, before anything else
    /// runs: servers bind their ports before clients start.
    pub startup: VecDeque<TaskId>,
    /// The executor's scratch buffers, kept to avoid allocating at each step: tasks woken
    /// since the last step, and the messages due at the same instant (their event slots).
    pub scratch_woken: Vec<TaskId>,
    pub scratch_deliveries: Vec<u32>,
    pub scratch_idents: Vec<u64>,
    /// Reused buffer: the senders of the messages due at one instant (for a strategy).
    pub scratch_senders: Vec<Option<TaskId>>,
    /// Whether decisions get addresses (the source replays a log): see
    /// [`crate::decision::Address`].
    pub addressed: bool,
    /// In addressed runs, the subject of draws made outside any task (a fault tick, a node's
    /// clock, a crash's torn writes) and how many it has drawn; and the identity the next
    /// spawned task takes instead of one derived from its parent (a node's start-up task).
    pub draw_ctx: Option<(u64, u32)>,
    pub spawn_ident: Option<u64>,
    /// Draws and spawns with no task and no context (counted, so they stay distinct).
    pub loose: u32,
    /// In addressed runs, how many messages each (sender, receiver) pair of identities has
    /// sent: a message is addressed by its link and its number on it, so deleting one
    /// client's command does not move the addresses of another client's messages.
    pub link_sends: BTreeMap<(u64, u64), u32>,
}

/// Salts of the address hashes, one per kind of subject.
pub(crate) mod salt {
    pub const TASK: u64 = 1;
    pub const ROOT: u64 = 2;
    pub const INIT: u64 = 3;
    pub const LOOSE: u64 = 4;
    pub const SCHEDULE: u64 = 5;
    pub const MESSAGE: u64 = 6;
    pub const DELIVERY: u64 = 7;
    pub const TICK: u64 = 8;
    pub const CLOCK: u64 = 9;
    pub const CRASH: u64 = 10;
    pub const ADDR: u64 = 11;
}

impl World {
    pub fn new(cfg: Config, source: Source) -> World {
        let explain = cfg.detail.explains();
        let trace = Trace::new(explain);
        World {
            cfg,
            source,
            trace,
            now: 0,
            step: 0,
            tasks: Vec::with_capacity(TASKS_HINT.with(Cell::get)),
            runnable: Vec::new(),
            runnable_stale: false,
            current: None,
            last_polled: None,
            heap: EventQueue::default(),
            events: Vec::new(),
            free_events: Vec::new(),
            pending_events: 0,
            event_seq: 0,
            nodes: Vec::new(),
            net: super::network::NetState::default(),
            failure: None,
            deferred: VecDeque::new(),
            main_done: false,
            graveyard: Vec::new(),
            notes: explain.then(Vec::new),
            sends: Vec::new(),
            preemptions: Vec::new(),
            startup: VecDeque::new(),
            scratch_woken: Vec::new(),
            scratch_deliveries: Vec::new(),
            scratch_idents: Vec::new(),
            scratch_senders: Vec::new(),
            addressed: false,
            draw_ctx: None,
            spawn_ident: None,
            loose: 0,
            link_sends: BTreeMap::new(),
        }
        .addressing()
    }

    fn addressing(mut self) -> World {
        self.addressed = self.source.addressed();
        self
    }

    /// Records a trace event at the current step and time. Inlined: at most call sites most
    /// of the details are constants, and usually the event is only folded into the hash (the
    /// trace is not kept, `tracing` is off and the hash function is the current one: one
    /// flag, [`Trace::plain`]), out of line otherwise.
    #[inline(always)]
    pub fn event(
        &mut self,
        node: Option<NodeId>,
        task: Option<TaskId>,
        kind: EventKind,
        a: u64,
        b: u64,
    ) {
        debug_assert_eq!(self.trace.clock(), (self.step, self.now));
        if self.trace.plain {
            self.trace.fold_plain(node, task, kind, a, b);
        } else {
            self.event_in_full(node, task, kind, a, b);
        }
    }

    /// [`World::event`] when the trace is not plain: folded with the run's hash function,
    /// kept if the trace is kept, and emitted through `tracing` if enabled. `enabled!` checks
    /// the global level filter first (`level_enabled!`): below TRACE it is false, and
    /// `keep_event` asks it in full. The event is made again there, from its details (the
    /// step and time have not moved): kept whole across the test, it was written out at
    /// every event.
    #[cold]
    #[inline(never)]
    fn event_in_full(
        &mut self,
        node: Option<NodeId>,
        task: Option<TaskId>,
        kind: EventKind,
        a: u64,
        b: u64,
    ) {
        self.trace.fold_now(node, task, kind, a, b);
        if self.trace.events.is_some()
            || tracing::Level::TRACE <= tracing::level_filters::LevelFilter::current()
        {
            self.keep_event(node, task, kind, a, b);
        }
    }

    /// Keeps a trace event already folded into the hash, if the trace is kept, and emits it
    /// through `tracing` if enabled.
    fn keep_event(
        &mut self,
        node: Option<NodeId>,
        task: Option<TaskId>,
        kind: EventKind,
        a: u64,
        b: u64,
    ) {
        let e = TraceEvent {
            step: self.step,
            time_ns: self.now,
            node,
            task,
            kind,
            a,
            b,
        };
        if let Some(events) = &mut self.trace.events {
            events.push(e);
        }
        if tracing::enabled!(target: "weft", tracing::Level::TRACE) {
            self.trace_line(&e);
        }
    }

    /// Emits a trace event as a readable line through `tracing`. Out of line: the executor
    /// records an event at every step and rarely prints one.
    #[cold]
    #[inline(never)]
    fn trace_line(&self, e: &TraceEvent) {
        let node = e.node.and_then(|n| self.nodes.get(n.index()));
        let node = node.map_or("", |n| &n.name);
        let task = e
            .task
            .map_or_else(String::new, |task| self.task_label(task));
        tracing::trace!(target: "weft", "{}", super::trace::describe(e, node, &task));
    }

    /// Draws a value and traces it.
    pub fn decide(&mut self, kind: DecisionKind, bound: u64) -> Drawn {
        self.decide_by(kind, bound, |strategy| strategy.next_value(kind, bound))
    }

    /// [`World::decide`], inline: for the per-message path.
    #[inline(always)]
    pub fn decide_inline(&mut self, kind: DecisionKind, bound: u64) -> Drawn {
        self.decide_by(kind, bound, |strategy| strategy.next_value(kind, bound))
    }

    /// As [`World::decide`], asking a generating strategy through one of its hooks (`ask`).
    #[inline(always)]
    pub(crate) fn decide_by(
        &mut self,
        kind: DecisionKind,
        bound: u64,
        ask: impl FnOnce(&mut dyn crate::strategy::Strategy) -> u64,
    ) -> Drawn {
        if bound < 2 {
            return Drawn {
                value: 0,
                kind,
                at: None,
            };
        }
        let key = self.addressed.then(|| self.address_key(kind));
        let site = key.map(|key| Site { key, options: &[] });
        let value = self.source.value_by(kind, bound, site, ask);
        let (node, task) = self.here();
        self.event(node, task, EventKind::Decision, kind as u64, value);
        Drawn::at(kind, value, self.source.taken() - 1)
    }

    /// The address of a draw of `kind` here: the draw context's subject if one is set (a
    /// fault tick, a crash), else the running task's, with the ordinal of the draw.
    fn address_key(&mut self, kind: DecisionKind) -> u64 {
        self.next_subject(kind as u64)
    }

    /// A stable key for the next thing the current subject does (draws a decision, sends a
    /// message): the subject, how many it has done before, and `salt`.
    pub fn next_subject(&mut self, salt: u64) -> u64 {
        let (subject, ordinal) = if let Some((subject, n)) = &mut self.draw_ctx {
            *n += 1;
            (*subject, *n)
        } else if let Some(current) = self.current {
            let t = &mut self.tasks[current.index()];
            t.draws += 1;
            (t.ident, t.draws)
        } else {
            self.loose += 1;
            (salt::LOOSE, self.loose)
        };
        mix(mix(salt, subject), u64::from(ordinal))
    }

    /// Draws a choice among options with identities `options` (tasks, messages; default
    /// first) at the address `key`, and traces it.
    pub fn decide_among(&mut self, kind: DecisionKind, key: u64, options: &[u64]) -> Drawn {
        let bound = options.len() as u64;
        if bound < 2 {
            return Drawn {
                value: 0,
                kind,
                at: None,
            };
        }
        let site = Site { key, options };
        let value = self.source.value_at(kind, bound, Some(site));
        let (node, task) = self.here();
        self.event(node, task, EventKind::Decision, kind as u64, value);
        Drawn::at(kind, value, self.source.taken() - 1)
    }

    /// Runs `f` with draws addressed by `subject` (in addressed runs).
    pub fn with_draw_ctx<R>(&mut self, subject: u64, f: impl FnOnce(&mut World) -> R) -> R {
        if !self.addressed {
            return f(self);
        }
        let saved = self.draw_ctx.replace((subject, 0));
        let r = f(self);
        self.draw_ctx = saved;
        r
    }

    /// Describes the decision `drawn` in the system's terms, if it was a choice, took a
    /// non-default value, and notes are kept. Inline: the usual answer, no note, is three
    /// tests at the call site (the note is written out of line).
    #[inline(always)]
    pub fn note(&mut self, drawn: Drawn, text: impl FnOnce(&World) -> String) {
        let Some(decision) = drawn.at else {
            return;
        };
        if drawn.value == 0 || self.notes.is_none() {
            return;
        }
        self.push_note(drawn, decision, text(self));
    }

    #[cold]
    #[inline(never)]
    fn push_note(&mut self, drawn: Drawn, decision: usize, text: String) {
        let note = Note {
            decision,
            step: self.step,
            time_ns: self.now,
            kind: drawn.kind,
            value: drawn.value,
            text,
        };
        if let Some(notes) = &mut self.notes {
            notes.push(note);
        }
    }

    /// A task's name for people: its name, or "task N"; when tasks of that name run on
    /// several nodes (every store node's "background"), with its node's ("a's background").
    pub fn task_name(&self, task: TaskId) -> String {
        let Some(t) = self.tasks.get(task.index()) else {
            return task.to_string();
        };
        let Some(name) = t.name.as_deref() else {
            return task.to_string();
        };
        let elsewhere =
            (self.tasks.iter()).any(|o| o.node != t.node && o.name.as_deref() == Some(name));
        match self.nodes.get(t.node.index()) {
            Some(node) if elsewhere => format!("{}'s {name}", node.name),
            _ => name.to_string(),
        }
    }

    /// The current node and task (`None` outside a poll).
    #[inline]
    pub fn here(&self) -> (Option<NodeId>, Option<TaskId>) {
        match self.current {
            Some(task) => (Some(self.tasks[task.index()].node), Some(task)),
            None => (None, None),
        }
    }

    /// The task being polled.
    #[track_caller]
    pub fn current_task(&self) -> TaskId {
        self.current
            .expect("weft: this call must come from a simulated task")
    }

    /// The node of the task being polled.
    #[track_caller]
    pub fn current_node(&self) -> NodeId {
        self.tasks[self.current_task().index()].node
    }

    pub fn set_wait(&mut self, wait: Wait) {
        if let Some(task) = self.current {
            self.tasks[task.index()].wait = wait;
        }
    }

    /// Records the first failure of the run; later ones are ignored.
    pub fn fail(&mut self, kind: FailureKind, message: String) {
        if self.failure.is_some() {
            return;
        }
        let (node, task) = self.here();
        self.failure = Some(Failure {
            kind,
            message,
            node: node.map(|n| self.nodes[n.index()].name.to_string()),
            task: task.map(|t| self.task_label(t)),
            time_ns: self.now,
            step: self.step,
            blocked: Vec::new(),
        });
    }

    pub fn task_label(&self, task: TaskId) -> String {
        let index = task.index();
        match &self.tasks[index].name {
            Some(name) => format!("{index} ({name})"),
            None => index.to_string(),
        }
    }

    // -- events --------------------------------------------------------------------------------

    /// Schedules `event` at `at` (clamped to now). Fails the run if too many are pending.
    #[inline]
    pub fn schedule(&mut self, at: u64, event: Event) -> Option<EventKey> {
        self.schedule_inline(at, event)
    }

    /// [`World::schedule`], inline: for the per-message path.
    #[inline(always)]
    pub fn schedule_inline(&mut self, at: u64, event: Event) -> Option<EventKey> {
        if self.pending_events >= self.cfg.events_max {
            self.fail(
                FailureKind::LimitExceeded,
                format!(
                    "more than {} pending timers and messages (events_max)",
                    self.cfg.events_max
                ),
            );
            return None;
        }
        let at = at.max(self.now);
        let slot = match self.free_events.pop() {
            Some(slot) => slot,
            None => {
                self.events.push(EventSlot {
                    generation: 0,
                    event: None,
                });
                (self.events.len() - 1) as u32
            }
        };
        let s = &mut self.events[slot as usize];
        // A free slot holds no event, so there is nothing to drop: an assignment would test
        // for one first (through a copy of the event).
        debug_assert!(s.event.is_none(), "a free event slot is empty");
        std::mem::forget(s.event.replace(event));
        let key = EventKey {
            slot,
            generation: s.generation,
        };
        self.event_seq += 1;
        self.heap.push(Queued {
            at,
            seq: self.event_seq,
            slot,
            generation: s.generation,
        });
        self.pending_events += 1;
        Some(key)
    }

    /// Cancels a scheduled event if it has not fired.
    pub fn cancel(&mut self, key: EventKey) -> Option<Event> {
        let s = self.events.get_mut(key.slot as usize)?;
        if s.generation != key.generation || s.event.is_none() {
            return None;
        }
        let event = s.event.take();
        s.generation = s.generation.wrapping_add(1);
        self.free_events.push(key.slot);
        self.pending_events -= 1;
        event
    }

    /// Replaces the waker of a pending wake event.
    pub fn rearm(&mut self, key: EventKey, waker: &Waker) -> bool {
        match self.events.get_mut(key.slot as usize) {
            Some(s) if s.generation == key.generation => match &mut s.event {
                Some(Event::Wake(w)) => {
                    if !w.will_wake(waker) {
                        *w = waker.clone();
                    }
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Pops the next live event due at or before `limit`. A message's delivery stays in its
    /// slot (taken out by [`World::take_delivery`] when it is delivered) and only the slot is
    /// returned, so that the messages due at one instant are ordered without moving their
    /// envelopes.
    #[inline(always)]
    pub fn pop_due(&mut self, limit: u64) -> Option<DueEvent> {
        while let Some(&Queued {
            at,
            slot,
            generation,
            ..
        }) = self.heap.first()
        {
            if at > limit {
                return None;
            }
            self.heap.pop();
            let s = &mut self.events[slot as usize];
            if s.generation != generation {
                continue; // cancelled
            }
            // The slot's key is stale from now on (no cancel or rearm reaches it), and it
            // counts as pending no more, as if the event had been taken out.
            s.generation = s.generation.wrapping_add(1);
            self.pending_events -= 1;
            if matches!(s.event, Some(Event::Deliver(_))) {
                return Some(DueEvent::Delivery(slot));
            }
            let event = s.event.take().expect("live event slot");
            self.free_events.push(slot);
            return Some(DueEvent::Other(event));
        }
        None
    }

    /// The envelope of a delivery that [`World::pop_due`] left in slot `slot`; frees the slot.
    #[inline(always)]
    pub fn take_delivery(&mut self, slot: u32) -> Envelope {
        let Some(Event::Deliver(envelope)) = self.events[slot as usize].event.take() else {
            unreachable!("a due delivery stays in its slot until delivered")
        };
        self.free_events.push(slot);
        envelope
    }

    /// The envelope of a delivery that [`World::pop_due`] left in slot `slot`.
    pub fn delivery(&self, slot: u32) -> &Envelope {
        let Some(Event::Deliver(envelope)) = &self.events[slot as usize].event else {
            unreachable!("a due delivery stays in its slot until delivered")
        };
        envelope
    }

    /// Pops the queue's first entry, known to be live (see [`World::due_now`]): its event.
    #[inline(always)]
    pub fn pop_first_event(&mut self) -> Event {
        let first = self.heap.pop().expect("an event is due");
        let s = &mut self.events[first.slot as usize];
        debug_assert_eq!(s.generation, first.generation);
        let event = s.event.take().expect("live event slot");
        s.generation = s.generation.wrapping_add(1);
        self.free_events.push(first.slot);
        self.pending_events -= 1;
        event
    }

    /// What is due now, from the queue's first entries: nothing, only a message's delivery
    /// (the first entry is due, live and a delivery, and no other is due), or anything else
    /// (which may turn out to be nothing: cancelled entries).
    #[inline(always)]
    pub fn due_now(&self) -> Due {
        let queue = self.heap.as_slice();
        let now = self.now;
        let due = |q: &Queued| q.at <= now;
        // The heap's first entry is its earliest; the next earliest is one of its children.
        let Some(first) = queue.first().filter(|q| due(q)) else {
            return Due::Nothing;
        };
        if queue.get(1).is_some_and(due) || queue.get(2).is_some_and(due) {
            return Due::Several;
        }
        let s = &self.events[first.slot as usize];
        if s.generation == first.generation && matches!(s.event, Some(Event::Deliver(_))) {
            Due::LoneDelivery
        } else {
            Due::Several
        }
    }

    /// Time of the next live event.
    pub fn next_event_time(&mut self) -> Option<u64> {
        while let Some(&Queued {
            at,
            slot,
            generation,
            ..
        }) = self.heap.first()
        {
            if self.events[slot as usize].generation == generation {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    // -- tasks ---------------------------------------------------------------------------------

    /// Creates a task on `node`; it is runnable at once.
    pub fn spawn_task(
        &mut self,
        node: NodeId,
        name: Option<Box<str>>,
        future: BoxFuture,
    ) -> Option<(TaskId, Rc<ExitCell>)> {
        if self.tasks.len() >= self.cfg.tasks_max {
            self.fail(
                FailureKind::LimitExceeded,
                format!("more than {} tasks spawned (tasks_max)", self.cfg.tasks_max),
            );
            self.graveyard.push(future);
            return None;
        }
        let id = TaskId::from_index(self.tasks.len());
        let ident = if self.addressed {
            self.task_ident(name.as_deref())
        } else {
            0
        };
        let exit = Rc::new(ExitCell::default());
        self.tasks.push(Task {
            node,
            ident,
            polls: 0,
            draws: 0,
            children: Vec::new(),
            name,
            future: Some(future),
            alive: true,
            queued: false,
            wait: Wait::Unknown,
            exit: exit.clone(),
            on_exit: Vec::new(),
        });
        let parent = TaskId::code(self.current);
        self.event(Some(node), Some(id), EventKind::Spawn, u64::from(parent), 0);
        self.make_runnable(id);
        Some((id, exit))
    }

    /// A new task's stable identity: from its parent's identity, its name and how many tasks
    /// of that name the parent spawned before it, so that it does not move when unrelated
    /// tasks come and go.
    fn task_ident(&mut self, name: Option<&str>) -> u64 {
        if let Some(ident) = self.spawn_ident.take() {
            return ident;
        }
        let name = mix_str(0, name.unwrap_or(""));
        let Some(current) = self.current else {
            self.loose += 1;
            return mix(mix(salt::ROOT, name), u64::from(self.loose));
        };
        let parent = &mut self.tasks[current.index()];
        let count = match parent.children.iter_mut().find(|c| c.0 == name) {
            Some(c) => {
                c.1 += 1;
                c.1
            }
            None => {
                parent.children.push((name, 1));
                1
            }
        };
        mix(mix(mix(salt::TASK, parent.ident), name), u64::from(count))
    }

    /// Marks a task runnable (once), unless its node is paused. Inline: a delivery makes its
    /// receiver runnable.
    #[inline(always)]
    pub fn make_runnable(&mut self, task: TaskId) {
        let Some(t) = self.tasks.get_mut(task.index()) else {
            return;
        };
        if !t.alive || t.queued {
            return;
        }
        let node = &mut self.nodes[t.node.index()];
        if node.state == NodeState::Paused {
            if !node.parked.contains(&task) {
                node.parked.push(task);
            }
            return;
        }
        t.queued = true;
        self.runnable.push(task);
    }

    /// Ends a task: wakes joiners, runs exit hooks (monitors), and fails the run for a panic.
    /// The future, if any, goes to the graveyard, to be dropped outside the world borrow.
    pub fn end_task(&mut self, task: TaskId, reason: ExitReason) {
        let t = &mut self.tasks[task.index()];
        if !t.alive {
            return;
        }
        t.alive = false;
        self.runnable_stale |= t.queued;
        t.queued = false;
        let node = t.node;
        if let Some(f) = t.future.take() {
            self.graveyard.push(f);
        }
        let hooks = std::mem::take(&mut t.on_exit);
        let exit = t.exit.clone();
        self.event(Some(node), Some(task), EventKind::Exit, reason.code(), 0);
        *exit.reason.borrow_mut() = Some(reason.clone());
        for w in exit.waiters.borrow_mut().drain(..) {
            w.wake();
        }
        for hook in hooks {
            hook(self, &reason);
        }
        if task == TaskId::MAIN {
            self.main_done = true;
        }
    }

    /// Turns a caught panic payload into a failure (or a check failure).
    pub fn task_panicked(&mut self, task: TaskId, payload: Box<dyn Any + Send>) {
        let (message, check) = if let Some(c) = payload.downcast_ref::<CheckFailed>() {
            (c.1.clone(), Some(c.0))
        } else {
            let location = LAST_PANIC.with(|p| p.borrow_mut().take());
            let text = if let Some(s) = payload.downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "panic with a non-string payload".to_string()
            };
            match location {
                Some((loc, _)) => (format!("{text} ({loc})"), None),
                None => (text, None),
            }
        };
        let kind = check.unwrap_or(FailureKind::Panic);
        let saved = self.current;
        self.current = Some(task);
        self.fail(kind, message.clone());
        self.current = saved;
        self.end_task(task, ExitReason::Panicked(message));
    }

    /// Applies deferred kills and crashes.
    pub fn settle(&mut self) {
        while let Some(d) = self.deferred.pop_front() {
            match d {
                Deferred::Kill(task, reason) => self.end_task(task, reason),
                Deferred::Crash(node) => self.crash_now(node),
            }
        }
    }
}

/// Installs (once per process) a panic hook that keeps panics inside simulated tasks quiet
/// and records their location; panics elsewhere go to the previous hook.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_POLL.with(|p| p.get()) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((location, true)));
            } else {
                previous(info);
            }
        }));
    });
}
