//! The simulator: a deterministic single-threaded executor for many simulated nodes.
//!
//! A [`Sim`] is built from a [`Config`] and a [`Source`], nodes are added with their start-up
//! code, and [`Sim::run`] drives a main future (the test driver, on the `driver` node) until it
//! finishes or the run fails. The result is a pure function of the configuration and the
//! decision sequence.

pub(crate) mod clocks;
pub(crate) mod config;
pub(crate) mod failure;
mod faults;
mod links;
pub(crate) mod network;
mod nodes;
mod payload;
mod queue;
pub(crate) mod storage;
pub(crate) mod trace;
pub(crate) mod world;

pub use config::{ClockConfig, Config, Detail, DiskConfig, FaultConfig, NetConfig};
pub use failure::{BlockedTask, Failure, FailureKind};
pub(crate) use trace::describe;
#[cfg(feature = "tracing-subscriber")]
pub use trace::{init_subscriber, SimTimer};
pub use trace::{with_trace_hash_version, EventKind, TraceEvent, TRACE_HASH_VERSION};
pub use world::{ExitReason, Note};

use crate::decision::{mix, DecisionKind, DecisionLog};
use crate::ids::NodeId;
pub use crate::ids::TaskId;
use crate::source::{Divergence, Site, Source};
use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll};
use world::{salt, with, BoxFuture, Drawn, DueEvent, Envelope, Event, Wait, World, IN_POLL};

/// Whether a run passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every property held.
    Pass,
    /// The run failed.
    Fail(Failure),
}

impl Outcome {
    /// The failure, if any.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(f) => Some(f),
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Pass or failure.
    pub outcome: Outcome,
    /// Scheduling steps taken.
    pub steps: u64,
    /// Simulated time at the end.
    pub sim_time_ns: u64,
    /// Stable hash of the event trace.
    pub trace_hash: u64,
    /// The decisions taken (replaying them reproduces the run).
    pub log: DecisionLog,
    /// In strict replay: where the recording stopped fitting the run.
    pub divergence: Option<Divergence>,
    /// The trace, when `Config::detail` was `Explain`.
    pub trace: Option<Vec<TraceEvent>>,
    /// Task names by index (for reports).
    pub task_names: Vec<String>,
    /// Node names by index.
    pub node_names: Vec<String>,
    /// The non-default decisions in the system's terms (when the trace was recorded).
    pub notes: Vec<Note>,
}

/// A simulation being set up.
pub struct Sim {
    world: World,
}

impl Sim {
    /// A simulation with one node, `driver`, where the main future runs. The driver node is
    /// never crashed or paused by background faults.
    pub fn new(cfg: Config, source: Source) -> Sim {
        let mut world = World::new(cfg, source);
        world.add_node("driver", None);
        Sim { world }
    }

    /// Adds a node whose start-up code `init` runs when the simulation starts and again after
    /// each restart. Its clock offset and drift are drawn now when clock skew is enabled. If
    /// a node of that name was named with [`Sim::node_id`] and not yet added, it is that node.
    pub fn add_node<F, Fut>(&mut self, name: &str, init: F) -> NodeId
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let init: world::NodeInit = Rc::new(move || Box::pin(init()) as BoxFuture);
        self.world.trace.check_plain(); // `tracing`'s level may have changed since `new`
        self.world.add_named_node(name, init)
    }

    /// Names a node before it is added, so that peers can be given its id (and addresses)
    /// first: `add_node` with the same name later gives it its start-up code. Naming twice
    /// returns the same id. Its clock is drawn now, in naming order. A node named but never
    /// added fails `run` with a message naming it.
    pub fn node_id(&mut self, name: &str) -> NodeId {
        self.world.trace.check_plain();
        self.world.name_node(name)
    }

    /// The driver node.
    pub fn driver(&self) -> NodeId {
        NodeId::DRIVER
    }

    /// Runs `main` on the driver node until it returns or the run fails.
    pub fn run<T: 'static>(
        self,
        main: impl Future<Output = T> + 'static,
    ) -> (RunReport, Option<T>) {
        world::install_panic_hook();
        self.world.check_named_nodes();
        let output: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
        let slot = output.clone();
        let mut world = self.world;
        world.trace.check_plain();
        let main: BoxFuture = Box::pin(async move {
            let value = main.await;
            *slot.borrow_mut() = Some(value);
        });
        world.spawn_task(NodeId::DRIVER, Some("main".into()), main);
        for node in 1..world.nodes.len() {
            let before = world.tasks.len();
            world.start_node(NodeId::from_index(node));
            world
                .startup
                .extend((before..world.tasks.len()).map(TaskId::from_index));
        }
        world.start_faults();
        world::install(world);
        drive();
        let report = teardown();
        let value = output.borrow_mut().take();
        (report, value)
    }
}

enum Next {
    Poll(TaskId, BoxFuture),
    Stop,
}

/// Futures to drop outside the world's borrow, in this order (fields drop in order): the
/// polled task's if it ended when the graveyard was empty, then the graveyard's.
struct Dead {
    _first: Option<BoxFuture>,
    _rest: Vec<BoxFuture>,
}

/// The run is over (finished or failed); the executor stops.
struct Stop;

fn drive() {
    let mut options: Vec<TaskId> = Vec::new();
    let mut next = with(|w| w.next_step(&mut options));
    loop {
        let (task, mut future) = match next {
            Next::Poll(task, future) => (task, future),
            Next::Stop => return,
        };
        let waker = world::task_waker(task);
        let mut cx = Context::from_waker(&waker);
        IN_POLL.with(|p| p.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        IN_POLL.with(|p| p.set(false));
        // The next step is taken in the same borrow of the world, unless futures died: they
        // are dropped first, outside the borrow (their destructors may call into weft).
        let step = with(|w| match w.after_poll(task, future, result) {
            None => Ok(w.next_step(&mut options)),
            Some(dead) => Err(dead),
        });
        next = match step {
            Ok(step) => step,
            Err(dead) => {
                drop(dead);
                with(|w| w.next_step(&mut options))
            }
        };
    }
}

fn teardown() -> RunReport {
    // Drop every remaining future while the world is still installed: their destructors may
    // call into weft (an endpoint unbinding itself).
    loop {
        let futures: Vec<BoxFuture> = with(|w| {
            let mut all = std::mem::take(&mut w.graveyard);
            for t in &mut w.tasks {
                if let Some(f) = t.future.take() {
                    all.push(f);
                }
            }
            all
        });
        if futures.is_empty() {
            break;
        }
        drop(futures);
    }
    let mut w = world::uninstall();
    world::TASKS_HINT.with(|h| h.set(crate::source::grown_hint(h.get(), w.tasks.len(), 1 << 12)));
    w.source.finish();
    let failure = w.failure.take();
    let task_names = w
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.name
                .as_deref()
                .map_or_else(|| format!("task {i}"), str::to_string)
        })
        .collect();
    let node_names = w.nodes.iter().map(|n| n.name.to_string()).collect();
    let source = std::mem::replace(&mut w.source, Source::zeros());
    let divergence = source.divergence().cloned();
    let trace = w.trace.events.take();
    w.explain_preemptions();
    let notes = w.notes.take().unwrap_or_default();
    RunReport {
        outcome: failure.map_or(Outcome::Pass, Outcome::Fail),
        steps: w.step,
        sim_time_ns: w.now,
        trace_hash: w.trace.hash,
        log: source.into_log(),
        divergence,
        trace,
        task_names,
        node_names,
        notes,
    }
}

impl World {
    /// One step of the executor: bring the world up to date (wakes, due events, deferred
    /// kills), advance time until a task is runnable, count the step against the budget, and
    /// pick the task to poll.
    fn next_step(&mut self, options: &mut Vec<TaskId>) -> Next {
        if self.advance_until_runnable().is_err() || !self.count_step() {
            return Next::Stop;
        }
        while let Some(task) = self.startup.pop_front() {
            if self.tasks[task.index()].queued {
                return self.poll_startup_task(task);
            }
        }
        let chosen = self.choose(options);
        self.poll_task(chosen)
    }

    /// Rewrites each preemption's note in the system's terms: what the task that ran sent
    /// next, ahead of what the displaced task sent next ("client 1's Get to server was sent
    /// before client 2's Put(1) to server"). Notes stay as they are when the sends do not
    /// show the preemption's effect.
    fn explain_preemptions(&mut self) {
        let Some(notes) = &mut self.notes else {
            return;
        };
        for &(note, chosen, default) in &self.preemptions {
            let step = notes[note].step;
            let next = |task: TaskId| {
                self.sends
                    .iter()
                    .find(|(at, t, _)| *at >= step && *t == task)
            };
            match (next(chosen), next(default)) {
                (Some((a, _, first)), Some((b, _, second))) if a < b => {
                    notes[note].text = format!("{first} was sent before {second}");
                }
                (Some((_, _, first)), None) => {
                    notes[note]
                        .text
                        .push_str(&format!(": {first} was sent first"));
                }
                _ => {}
            }
        }
    }

    /// Whether the run is over: it failed, or the main task returned.
    fn finished(&self) -> bool {
        self.failure.is_some() || self.main_done
    }

    /// Fires what is due and moves time forward to the next event until some task is
    /// runnable. `Err` when the run is over: finished, out of simulated time, or deadlocked.
    fn advance_until_runnable(&mut self) -> Result<(), Stop> {
        if self.finished() {
            return Err(Stop);
        }
        self.collect_woken();
        loop {
            // Only firing an event or applying a deferred kill or crash can wake a task here
            // (moving time on cannot): when neither happened, nothing was woken since the
            // last collection.
            let fired = self.fire_due_events();
            if fired || !self.deferred.is_empty() {
                self.settle();
                self.collect_woken();
            }
            if self.finished() {
                return Err(Stop);
            }
            if self.runnable_stale {
                self.runnable.retain(|&t| self.tasks[t.index()].queued);
                self.runnable_stale = false;
            }
            if !self.runnable.is_empty() {
                return Ok(());
            }
            match self.next_event_time() {
                Some(at) if at > self.cfg.sim_time_max_ns => {
                    let budget = format_ns(self.cfg.sim_time_max_ns);
                    self.fail(
                        FailureKind::TimeExceeded,
                        format!("simulated time budget of {budget} exceeded (sim_time_max_ns)"),
                    );
                    return Err(Stop);
                }
                Some(at) => {
                    self.now = at;
                    self.trace.set_clock(self.step, at);
                    world::SIM_NOW.with(|n| n.set(at));
                    self.event(None, None, EventKind::Time, at, 0);
                }
                None => {
                    self.deadlock();
                    return Err(Stop);
                }
            }
        }
    }

    /// Counts a step; false (and a failure) when the step budget is spent.
    fn count_step(&mut self) -> bool {
        self.step += 1;
        self.trace.set_clock(self.step, self.now);
        if self.step <= self.cfg.steps_max {
            return true;
        }
        let budget = self.cfg.steps_max;
        self.fail(
            FailureKind::StepsExceeded,
            format!("step budget of {budget} exceeded (steps_max): a livelock?"),
        );
        false
    }

    /// Picks the task to poll among the runnable ones: a decision, whose options are the
    /// default first (the task that ran last if it is runnable again, else the most recently
    /// woken), then the others, most recently woken first.
    fn choose(&mut self, options: &mut Vec<TaskId>) -> TaskId {
        if let [only] = self.runnable[..] {
            return only; // no choice: nothing drawn, nothing recorded
        }
        options.clear();
        let last = self.last_polled.filter(|t| self.tasks[t.index()].queued);
        if let Some(last) = last {
            options.push(last);
        }
        options.reserve(self.runnable.len());
        for &t in self.runnable.iter().rev() {
            if Some(t) != last {
                options.push(t);
            }
        }
        let index = if self.addressed {
            let default = &self.tasks[options[0].index()];
            let key = mix(mix(salt::SCHEDULE, default.ident), u64::from(default.polls));
            let mut idents = std::mem::take(&mut self.scratch_idents);
            idents.clear();
            idents.extend(options.iter().map(|t| self.tasks[t.index()].ident));
            let index = self.source.task(
                options,
                Some(Site {
                    key,
                    options: &idents,
                }),
            );
            self.scratch_idents = idents;
            index
        } else {
            self.source.task(options, None)
        };
        let chosen = options[index];
        if options.len() > 1 {
            let kind = DecisionKind::Schedule;
            let value = index as u64;
            self.event(None, Some(chosen), EventKind::Decision, kind as u64, value);
            let default = options[0];
            let drawn = Drawn::at(kind, index as u64, self.source.taken() - 1);
            self.note(drawn, |w| {
                format!(
                    "{} ran before {}",
                    w.task_name(chosen),
                    w.task_name(default)
                )
            });
            if let Some(notes) = &self.notes {
                if notes
                    .last()
                    .is_some_and(|n| n.decision == self.source.taken() - 1)
                {
                    self.preemptions.push((notes.len() - 1, chosen, default));
                }
            }
        }
        chosen
    }

    /// [`World::poll_task`] out of line, for the start-up tasks (the usual path has it inline).
    #[inline(never)]
    fn poll_startup_task(&mut self, task: TaskId) -> Next {
        self.poll_task(task)
    }

    #[inline(always)]
    fn poll_task(&mut self, chosen: TaskId) -> Next {
        let position = self
            .runnable
            .iter()
            .position(|&t| t == chosen)
            .expect("chosen task is runnable");
        // The usual case, the last: no move. Else a loop over the few runnable tasks after it
        // (`Vec::remove` calls `memmove`).
        let runnable = &mut self.runnable;
        for i in position..runnable.len() - 1 {
            runnable[i] = runnable[i + 1];
        }
        runnable.pop();
        let task = &mut self.tasks[chosen.index()];
        task.queued = false;
        task.polls += 1;
        task.wait = Wait::Unknown;
        let future = task.future.take().expect("runnable task has its future");
        let node = task.node;
        self.current = Some(chosen);
        self.last_polled = Some(chosen);
        self.event(Some(node), Some(chosen), EventKind::Poll, 0, 0);
        Next::Poll(chosen, future)
    }

    #[inline]
    fn after_poll(
        &mut self,
        task: TaskId,
        future: BoxFuture,
        result: std::thread::Result<Poll<()>>,
    ) -> Option<Dead> {
        let mut first = None;
        match result {
            Ok(Poll::Pending) => {
                if self.tasks[task.index()].alive {
                    self.tasks[task.index()].future = Some(future);
                } else {
                    self.graveyard.push(future);
                }
            }
            Ok(Poll::Ready(())) => {
                self.bury(&mut first, future);
                self.end_task(task, ExitReason::Normal);
            }
            Err(payload) => {
                self.bury(&mut first, future);
                self.task_panicked(task, payload);
            }
        }
        self.current = None;
        self.settle();
        if first.is_none() && self.graveyard.is_empty() {
            return None;
        }
        Some(Dead {
            _first: first,
            _rest: std::mem::take(&mut self.graveyard),
        })
    }

    /// Buries the future of a task that ended: in `first` when the graveyard is empty (the
    /// usual case: no allocation), else at the end of the graveyard. The drop order is the
    /// same either way (see [`Dead`]).
    fn bury(&mut self, first: &mut Option<BoxFuture>, future: BoxFuture) {
        if self.graveyard.is_empty() {
            *first = Some(future);
        } else {
            self.graveyard.push(future);
        }
    }

    /// Makes the tasks woken since the last call runnable, in the order they were woken.
    /// Inline: at about every other call none was, and the call is then one test.
    #[inline(always)]
    fn collect_woken(&mut self) {
        if world::none_woken() {
            return;
        }
        self.collect_some_woken();
    }

    #[inline(never)]
    fn collect_some_woken(&mut self) {
        if !world::drain_woken(&mut self.scratch_woken) {
            return;
        }
        let mut i = 0;
        while let Some(&t) = self.scratch_woken.get(i) {
            self.make_runnable(t);
            i += 1;
        }
        self.scratch_woken.clear();
    }

    /// Fires every event due now. When several messages are due at the same instant, the
    /// order in which they are delivered is a decision (0: FIFO). Whether any was due.
    fn fire_due_events(&mut self) -> bool {
        // One message due: no order to decide (a draw with one option records nothing).
        let due = self.due_now();
        if due == world::Due::Nothing {
            self.net.set_drained(self.event_seq);
            return false;
        }
        if due == world::Due::LoneDelivery {
            // The usual case, the only event due: no trip through the list of deliveries, and
            // the envelope taken apart as it leaves its slot (not moved whole from call to
            // call).
            let Event::Deliver(Envelope {
                id,
                from,
                to,
                payload,
                ..
            }) = self.pop_first_event()
            else {
                unreachable!("a lone delivery is due")
            };
            self.deliver_parts(id, from, to, payload);
            self.net.set_drained(self.event_seq);
            return true;
        }
        let mut deliveries = std::mem::take(&mut self.scratch_deliveries);
        let mut fired = false;
        while let Some(due) = self.pop_due(self.now) {
            fired = true;
            match due {
                DueEvent::Delivery(slot) => deliveries.push(slot),
                DueEvent::Other(Event::Wake(waker)) => waker.wake(),
                DueEvent::Other(Event::FaultTick) => self.fault_tick(),
                DueEvent::Other(Event::Heal) => self.heal_all(),
                DueEvent::Other(Event::Deliver(_)) => {
                    unreachable!("deliveries stay in their slots")
                }
            }
        }
        if let [slot] = deliveries[..] {
            deliveries.clear();
            let envelope = self.take_delivery(slot);
            self.deliver(envelope);
        } else if !deliveries.is_empty() {
            self.deliver_in_order(&mut deliveries);
        }
        self.scratch_deliveries = deliveries;
        self.net.set_drained(self.event_seq);
        fired
    }

    /// Delivers the messages due at the same instant (two or more, by their event slots), in
    /// an order drawn one message at a time (0: FIFO).
    #[inline(never)]
    fn deliver_in_order(&mut self, deliveries: &mut Vec<u32>) {
        // The senders of the messages still to deliver, in the same order (for a strategy).
        let mut senders = std::mem::take(&mut self.scratch_senders);
        senders.clear();
        if !self.addressed {
            for &slot in deliveries.iter() {
                senders.push(self.delivery(slot).sender);
            }
        }
        while !deliveries.is_empty() {
            let drawn = if self.addressed {
                let mut idents = std::mem::take(&mut self.scratch_idents);
                idents.clear();
                idents.extend(deliveries.iter().map(|&slot| self.delivery(slot).ident));
                let key = mix(salt::DELIVERY, idents[0]);
                let drawn = self.decide_among(DecisionKind::EventOrder, key, &idents);
                self.scratch_idents = idents;
                drawn
            } else if deliveries.len() < 2 {
                self.decide(DecisionKind::EventOrder, 1)
            } else {
                let bound = deliveries.len() as u64;
                self.decide_by(DecisionKind::EventOrder, bound, |strategy| {
                    strategy.next_delivery(&senders) as u64
                })
            };
            let index = drawn.value as usize;
            if index != 0 {
                // Described only when notes are kept: formatting costs more than the delivery.
                let (first, overtaken) = (deliveries[index], deliveries[0]);
                self.note(drawn, |w| {
                    format!(
                        "{} was delivered before {}",
                        w.describe_message(w.delivery(first)),
                        w.describe_message(w.delivery(overtaken))
                    )
                });
            }
            let slot = deliveries[index];
            remove_both(deliveries, &mut senders, index);
            let envelope = self.take_delivery(slot);
            self.deliver(envelope);
        }
        self.scratch_senders = senders;
    }

    fn deadlock(&mut self) {
        let mut blocked = Vec::new();
        for (i, t) in self.tasks.iter().enumerate() {
            if !t.alive {
                continue;
            }
            let waiting_on = match &t.wait {
                Wait::Unknown => "an unknown event (a future outside weft)".to_string(),
                Wait::Sleep(until) => format!("a timer at {}", format_ns(*until)),
                Wait::Recv(node, port) => {
                    format!("a message on {}:{}", self.nodes[node.index()].name, port)
                }
                Wait::Join(task) => format!("{task} to end"),
            };
            let node = &self.nodes[t.node.index()];
            let waiting_on = if node.state == world::NodeState::Paused {
                format!("{waiting_on} (node paused)")
            } else {
                waiting_on
            };
            blocked.push(BlockedTask {
                task: TaskId::from_index(i),
                name: t.name.as_deref().unwrap_or("").to_string(),
                node: node.name.to_string(),
                waiting_on,
            });
        }
        self.fail(
            FailureKind::Deadlock,
            "nothing is runnable, no timer is pending, and the test has not finished".to_string(),
        );
        if let Some(f) = &mut self.failure {
            f.blocked = blocked;
        }
    }
}

/// Removes the entry at `index` from `slots` and, when it has as many entries, `senders`,
/// keeping the order of the rest: a loop over the few messages due at one instant, where
/// `Vec::remove` called `memmove` for each vector.
#[inline(always)]
fn remove_both(slots: &mut Vec<u32>, senders: &mut Vec<Option<TaskId>>, index: usize) {
    let end = slots.len() - 1;
    if senders.len() == slots.len() {
        for i in index..end {
            slots[i] = slots[i + 1];
            senders[i] = senders[i + 1];
        }
        senders.pop();
    } else {
        for i in index..end {
            slots[i] = slots[i + 1];
        }
    }
    slots.pop();
}

/// Formats nanoseconds as a short human duration ("1.5ms", "12s").
pub fn format_ns(ns: u64) -> String {
    if ns == 0 {
        "0s".to_string()
    } else if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{}µs", trim(ns as f64 / 1e3))
    } else if ns < 1_000_000_000 {
        format!("{}ms", trim(ns as f64 / 1e6))
    } else {
        format!("{}s", trim(ns as f64 / 1e9))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
